"""The `docker-debug` strategy: `docker debug TARGET`, Docker Desktop's CLI plugin, when
installed. It brings its own toolbox and cleans up after itself; dhitui only checks that the
plugin is there and runs it (a CLI plugin has no Engine API form)."""

from __future__ import annotations

from dhitui.engine.specs import PluginSpec
from dhitui.sessions.strategies.common import (
    Checks,
    Inputs,
    Strategy,
    StrategyInfo,
    finish,
    require_cli,
)
from dhitui.sessions.targets import ContainerTarget
from dhitui.strategy_registry import StrategyName

INFO = StrategyInfo(
    name=StrategyName.DOCKER_DEBUG,
    title="`docker debug`, Docker Desktop's debug shell",
    help="`docker debug`, when the Docker Desktop plugin is installed.",
    needs=("the docker CLI", "the `docker debug` CLI plugin"),
    sidecar=False,
    cli_only=True,
    opens_stopped=True,
)


def build(ins: Inputs) -> Strategy:
    t = ins.target
    checks = Checks()
    require_cli(ins, checks, by_nature=True)
    checks.need(
        "the `docker debug` CLI plugin", ins.caps.docker_debug_plugin is not None,
        "the `docker debug` CLI plugin is not installed (it comes with Docker Desktop 4.49+)",
    )
    if isinstance(t, ContainerTarget) and (t.crash_looping or t.state == "removing"):
        checks.block(f"container {t.label} is {t.state}")
    notes = ["Docker Desktop's `docker debug`: brings its own toolbox and removes its own "
             "helper containers; it opens a root shell unless told otherwise"]
    if isinstance(t, ContainerTarget) and not t.running:
        notes.append(f"{t.label} is {t.state}: docker debug opens its filesystem, and discards "
                     "changes when the session ends")
    ref = t.id if isinstance(t, ContainerTarget) else t.ref
    return finish(
        ins, INFO, INFO.title, checks, notes,
        lambda: PluginSpec(target=ref, command=ins.options.command,
                           privileged=ins.options.privileged),
        where="docker debug's shell: / is the container's filesystem, its tools on PATH",
    )
