"""The `exec` strategy: `docker exec -it TARGET SHELL` when the container has a shell (nothing
extra runs, nothing to clean up, the same view as the app); for an image, a throwaway
container of it running its own shell, with no network."""

from __future__ import annotations

from dhitui.engine.specs import PROMPT_IMAGE, ExecSpec, SidecarSpec, shell_args
from dhitui.sessions.strategies.common import (
    Checks,
    Inputs,
    Strategy,
    StrategyInfo,
    autoremove,
    finish,
    require_cli,
    require_running,
    sidecar_labels,
)
from dhitui.sessions.targets import ContainerTarget
from dhitui.strategy_registry import StrategyName

INFO = StrategyInfo(
    name=StrategyName.EXEC,
    title="the target's own shell",
    help="`docker exec` with the container's own shell.",
    needs=("a shell in the container", "a running container"),
    sidecar=False,
    own_shell=True,
)


def build(ins: Inputs) -> Strategy:
    t = ins.target
    checks = Checks()
    require_cli(ins, checks)
    what = "container" if isinstance(t, ContainerTarget) else "image"
    checks.need(f"a shell in the {what}", t.shell is not None,
                f"the {what} has no shell (that is what the other strategies are for)")
    require_running(ins, checks, allow_paused=False)
    shell = t.shell or "/bin/sh"
    if isinstance(t, ContainerTarget):
        who = "root, because --root was asked for" if ins.options.root else t.user.display
        notes = [f"runs the container's own shell {shell} as {who}; nothing else is started"]
        return finish(
            ins, INFO, f"`docker exec` of the container's own shell {shell}", checks, notes,
            lambda: ExecSpec(
                container=t.id,
                cmd=ins.options.command if ins.options.command is not None else (shell,),
                tty=ins.options.tty, user="0:0" if ins.options.root else None,
                privileged=ins.options.privileged,
            ),
            where=f"inside: the container's own shell {shell}, in its live root",
        )
    name = ins.sidecar_name
    labels = sidecar_labels(ins, INFO.name)
    notes = [f"a throwaway container of the image running its own shell {shell} "
             f"as {'root' if ins.options.root else t.user.display}; no network"]
    return finish(
        ins, INFO, f"the image's own shell {shell} in a throwaway container", checks, notes,
        lambda: SidecarSpec(
            image=t.ref, name=name, labels=labels, tty=ins.options.tty,
            entrypoint=shell, args=shell_args(ins.options.command, own_pid_namespace=True),
            user="0:0" if ins.options.root else None, network="none",
            env=(("PS1", PROMPT_IMAGE),), privileged=ins.options.privileged,
            auto_remove=autoremove(ins),
        ),
        sidecar=name, labels=labels, where="the image's files: /, its own shell",
    )
