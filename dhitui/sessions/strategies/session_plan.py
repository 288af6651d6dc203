"""The plan for one target: every strategy built from the same inputs, ranked, and the one
that runs (`plan`), with the reasons when it is not simply the best-ranked one (a command the
target lacks but the toolbox has; a running container nothing can join).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from dhitui.engine.capabilities import Capabilities
from dhitui.engine.endpoint import Endpoint
from dhitui.sessions import argv as A
from dhitui.sessions import labels as L
from dhitui.sessions.strategies import catalogue
from dhitui.sessions.strategies.common import (
    Inputs,
    Need,
    SessionOptions,
    Strategy,
    resolve_transport,
    target_state_problem,
)
from dhitui.sessions.targets import CommandCheck, ContainerTarget, Target, ToolboxInfo
from dhitui.strategy_registry import AUTO, NAMES, StrategyName, Transport, View


@dataclass(frozen=True)
class SessionPlan:
    """The strategies for one target, best first, and the one that will run."""

    target: Target
    strategies: tuple[Strategy, ...]
    chosen: Strategy | None  # the requested one (even if unavailable), or the best available
    requested: str
    options: SessionOptions
    session_id: str
    endpoint: Endpoint
    toolbox: ToolboxInfo | None
    command_check: CommandCheck | None = None  # where the command to run was found
    why: str | None = None  # why the automatic choice is not simply the best-ranked one
    prefix: tuple[str, ...] = ()  # the docker command (and options) every argv starts with

    @property
    def runnable(self) -> bool:
        return self.chosen is not None and self.chosen.available

    @property
    def argv(self) -> tuple[str, ...]:
        return self.chosen.argv if self.chosen else ()

    @property
    def transport(self) -> Transport | None:
        """How the chosen strategy runs (None when nothing can)."""
        return self.chosen.transport if self.runnable and self.chosen else None

    @property
    def command_line(self) -> str:
        return A.command_line(self.argv)

    @property
    def problem(self) -> str | None:
        """Why nothing can run, in one line (None when the plan is runnable); the reasons of
        each strategy are in `strategies`."""
        if self.runnable:
            return None
        if self.chosen is not None:
            return f"strategy {self.chosen.name} cannot be used: {'; '.join(self.chosen.reasons)}"
        t = self.target
        if isinstance(t, ContainerTarget):
            state = target_state_problem(t)
            snapshot = self.strategy(StrategyName.SNAPSHOT)
            if state and snapshot.reasons:
                # Not "use the snapshot strategy": it is the one that cannot; say why.
                how = "crash-loops" if t.crash_looping else f"does not run ({t.state})"
                return (f"cannot debug {t.label}: it {how}, and no snapshot of it can be "
                        f"made: {'; '.join(snapshot.reasons)}")
            if state:
                return f"cannot debug {t.label}: {state}"
            return f"no debug strategy can open the container {t.label} here"
        mount = self.strategy(StrategyName.IMAGE_MOUNT)
        why = next((r for r in mount.reasons if "cannot mount images" in r), None)
        if not t.shell and why is not None:
            return (f"cannot explore the image {t.label} here: it has no shell, and without "
                    f"`docker debug` that needs image mounts; {why}")
        return f"no debug strategy can open the image {t.label} here"

    def strategy(self, name: str) -> Strategy:
        return next(s for s in self.strategies if s.name == name)

    def child_env(self, env: Mapping[str, str]) -> dict[str, str]:
        return A.child_env(env)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target.to_json(),
            "requested": self.requested,
            "strategy": self.chosen.name if self.chosen else None,
            "view": self.chosen.view if self.runnable and self.chosen else None,
            "transport": self.transport,
            "runnable": self.runnable,
            "problem": self.problem,
            "argv": list(self.argv),
            "command_line": self.command_line if self.argv else None,
            "env_unset": list(A.ENV_UNSET),
            "session": self.session_id,
            "endpoint": {"url": self.endpoint.url, "source": self.endpoint.source,
                         "context": self.endpoint.context},
            "toolbox": self.toolbox.to_json() if self.toolbox else None,
            "command_check": self.command_check.to_json() if self.command_check else None,
            "why": self.why,
            "strategies": [s.to_json() for s in self.strategies],
        }


def plan(
    target: Target,
    *,
    caps: Capabilities,
    endpoint: Endpoint,
    toolbox: ToolboxInfo | None,
    options: SessionOptions,
    session: str,
    machine: L.Machine,
    command_check: CommandCheck | None = None,
    network_found: bool = True,
) -> SessionPlan:
    """Every strategy for `target`, best first, and the one to run. `command_check` says
    where the command to run was found; a target lacking it cannot `exec` it.
    `network_found`: the engine has the network asked for (`options.network`)."""
    ins = Inputs(target, caps, endpoint, toolbox, options, session, machine,
                 resolve_transport(options.transport, caps), network_found)
    built: dict[str, Strategy] = {name: catalogue.builder(name)(ins) for name in NAMES}
    order = target_ranking(target)
    why = None
    lacking = command_check is not None and command_check.in_target is None
    having: list[Strategy] = []
    if command_check is not None and lacking:
        having = [built[n] for n in order
                  if built[n].available and _has_command(built[n], command_check)]
        if not having and options.view == AUTO:
            # A toolbox whose copy of the command works only as the root (an absolute link):
            # beside the target, the toolbox strategy still has it.
            beside = replace(ins, options=replace(options, view=View.BESIDE))
            for name in order:
                if not catalogue.info(name).has_views:
                    continue
                alt = catalogue.builder(name)(beside)
                if alt.available and _has_command(alt, command_check):
                    built[name], having = alt, [alt]
                    break
        exec_ = built[StrategyName.EXEC]
        built[StrategyName.EXEC] = _lacks_command(exec_, target, command_check, toolbox, having)
    strategies = tuple(built[name] for name in order)
    if options.strategy == AUTO:
        chosen = next((s for s in strategies if s.available), None)
        if command_check is not None and lacking and target.shell:
            command = command_check.name
            where = "container" if isinstance(target, ContainerTarget) else "image"
            if having:
                chosen = having[0]
                why = (f"the {where} has a shell but no `{command}` on its PATH; the toolbox "
                       f"{toolbox.ref if toolbox else ''} has it ({command_check.in_toolbox})")
            elif toolbox is not None and toolbox.present:
                why = (f"the {where} has no `{command}` on its PATH, and the toolbox "
                       f"{toolbox.ref} does not have it either: it will likely not be found")
            else:
                why = (f"the {where} has no `{command}` on its PATH, and no toolbox is present "
                       "to bring it: it will likely not be found")
        if (chosen is not None and chosen.name == StrategyName.SNAPSHOT and why is None
                and isinstance(target, ContainerTarget) and target.running
                and not target.crash_looping):
            # The container runs, yet nothing can join it: say why a copy is what opens.
            joins = next((s for s in strategies if catalogue.info(s.name).has_views), None)
            if joins is not None and joins.reasons:
                why = joins.reasons[0]
    else:
        chosen = built[options.strategy]
    return SessionPlan(
        target=target, strategies=strategies, chosen=chosen, requested=options.strategy,
        options=options, session_id=session, endpoint=endpoint, toolbox=toolbox,
        command_check=command_check, why=why, prefix=tuple(ins.prefix),
    )


def _has_command(strategy: Strategy, check: CommandCheck) -> bool:
    """Does this strategy's session find the command (checked in the toolbox image)? From
    another root (mounted at /dbg, or inside the target) only if its links still work."""
    if strategy.name in (StrategyName.IMAGE_MOUNT, StrategyName.SNAPSHOT) or (
            strategy.name == StrategyName.TOOLBOX and strategy.view == View.INSIDE):
        return check.in_toolbox is not None and check.toolbox_mountable
    if strategy.name == StrategyName.TOOLBOX:
        return check.in_toolbox is not None
    return False


def _lacks_command(exec_: Strategy, target: Target, check: CommandCheck,
                   toolbox: ToolboxInfo | None, having: list[Strategy]) -> Strategy:
    """`exec` refused: the target does not have the command on its PATH."""
    where = "container" if isinstance(target, ContainerTarget) else "image"
    reason = (f"`{check.name}` is not on the {where}'s PATH ({':'.join(check.target_path)})")
    if having:
        ref = toolbox.ref if toolbox else ""
        reason += (f"; strategy {having[0].name} has it (the toolbox {ref}: "
                   f"{check.in_toolbox}): use -s {having[0].name}")
    elif toolbox is not None and toolbox.present and check.in_toolbox is None:
        reason += f", nor in the toolbox {toolbox.ref}"
    return replace(
        exec_, available=False, reasons=(*exec_.reasons, reason),
        needs=(*exec_.needs, Need(f"`{check.name}` on the {where}'s PATH", False)),
        notes=(), argv=(), sidecar=None, labels={}, spec=None,
    )


def target_ranking(target: Target) -> tuple[StrategyName, ...]:
    """Best first (`catalogue.ranking`): for a container that does not run, those
    that open one (docker debug, snapshot); else its own shell when it has one."""
    running = not isinstance(target, ContainerTarget) or (
        target.running and not target.crash_looping)
    return catalogue.ranking(bool(target.shell), running)
