"""The `toolbox` strategy: a sidecar whose root is the toolbox image, in the target's PID and
network namespaces, as the target's user; for engines without image mounts. Inside view (the
default): the session is a process in the target; beside view: `/` is the toolbox and the
target's files are at `/proc/1/root` (see `sidecars`)."""

from __future__ import annotations

from dhitui.engine.specs import PROMPT_BESIDE, SessionSpec, SidecarSpec, shell_args
from dhitui.sessions.inside import sidecar_userns
from dhitui.sessions.strategies.common import (
    Checks,
    Inputs,
    Strategy,
    StrategyInfo,
    autoremove,
    finish,
    require_cli,
    require_running,
    require_toolbox,
    sidecar_labels,
)
from dhitui.sessions.strategies.sidecars import (
    beside_note,
    network_note,
    sidecar_user,
    strategy_view,
    target_files_note,
    target_files_path,
    with_view,
)
from dhitui.sessions.targets import ImageTarget
from dhitui.strategy_registry import StrategyName

INFO = StrategyInfo(
    name=StrategyName.TOOLBOX,
    title="a sidecar whose root is the toolbox image, in the target's PID and network "
    "namespaces",
    help="a sidecar whose root is the toolbox image, in the target's PID namespace (any "
    "engine). Inside view (default): the session is a process in the target, `/` is its "
    "live root and the toolbox is on PATH; beside view: `/` is the toolbox, the "
    "target's files at `/proc/1/root`.",
    needs=("the toolbox image present locally", "a running container"),
    sidecar=True,
    has_views=True,
)


def build(ins: Inputs) -> Strategy:
    t = ins.target
    checks = Checks()
    summary = INFO.title
    if isinstance(t, ImageTarget):
        checks.block(
            "a sidecar rooted in the toolbox cannot see an image's files: exploring an image "
            f"needs image mounts ({ins.caps.identity.image_mounts_requirement}), docker debug, "
            "or a shell in the image"
        )
        return finish(ins, INFO, summary, checks, [], lambda: None)
    require_cli(ins, checks)
    tb = require_toolbox(ins, checks)
    require_running(ins, checks, allow_paused=True)
    view = strategy_view(ins, checks, tb)
    beside_checks = Checks() if view.inside else checks
    who = sidecar_user(ins, beside_checks, names_resolve=False)
    beside_notes = [beside_note(t, view, "the toolbox image"), who.note,
                    target_files_note(t), "tools: the toolbox's own PATH", network_note(t)]
    if t.state == "paused":
        beside_notes.append(f"{t.label} is paused: its processes stay frozen until unpaused")
    name = ins.sidecar_name
    labels = sidecar_labels(ins, INFO.name)

    def beside() -> SessionSpec:
        return SidecarSpec(
            image=tb.ref if tb else "", name=name, labels=labels,
            tty=ins.options.tty, entrypoint=(tb.shell if tb and tb.shell else "/bin/sh"),
            args=shell_args(ins.options.command), user=who.user, group_add=who.groups,
            pid_of=t.id, network=f"container:{t.id}", userns=sidecar_userns(t, ins.caps.identity),
            env=(("PS1", PROMPT_BESIDE),), cap_add=who.caps,
            privileged=ins.options.privileged, auto_remove=autoremove(ins),
        )

    beside_where = (f"beside: / is the toolbox; the target's live files: "
                    f"{target_files_path(t)}")
    return with_view(ins, INFO, summary, checks, view, tb, name, labels,
                     on_target_image=False, beside=beside, beside_notes=beside_notes,
                     beside_where=beside_where, beside_ok=beside_checks.ok)
