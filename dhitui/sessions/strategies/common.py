"""What every strategy module shares: the user's options, a strategy as data, the inputs a
builder reads, the checks it collects, and the requirements several strategies have (the
docker CLI, a running container, the toolbox image).

`finish` turns a builder's checks, notes and spec into a `Strategy`: the spec and its argv
are built only when every need is met, and an argv that fails `argv.check_argv` blocks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dhitui.engine.capabilities import Capabilities
from dhitui.engine.endpoint import Endpoint
from dhitui.engine.specs import InsideSpec, SessionSpec, SidecarSpec
from dhitui.sessions import argv as A
from dhitui.sessions import labels as L
from dhitui.sessions.inside import ViewChoice
from dhitui.sessions.snapshot import SnapshotSpec
from dhitui.sessions.targets import ContainerTarget, Target, ToolboxInfo
from dhitui.strategy_registry import AUTO, DEFAULT_TRANSPORT, StrategyName, Transport

MIN_CLI_FOR_IMAGE_MOUNTS = 28


@dataclass(frozen=True)
class SessionOptions:
    """What the user asked for."""

    strategy: str = AUTO
    command: tuple[str, ...] | None = None  # run this and exit (None: interactive shell)
    tty: bool = True  # allocate a TTY (interactive sessions on a terminal)
    root: bool = False  # sidecar/exec as root (sidecars: with CAP_SYS_PTRACE)
    privileged: bool = False  # only ever when the user asks
    transport: str = AUTO  # auto | api | cli (strategy_registry.TRANSPORTS)
    network: str | None = None  # snapshot sessions: a network to join (default: none)
    view: str = AUTO  # auto | inside | beside (strategy_registry.VIEWS), for sidecars


@dataclass(frozen=True)
class StrategyInfo:
    """One debug strategy, as the user sees it: its registry entry (each strategy module
    has one, `INFO`; `catalogue` keeps them in `StrategyName`'s order)."""

    name: StrategyName
    title: str  # one line: what it is
    help: str  # a sentence for the help screen (Markdown)
    needs: tuple[str, ...]  # what it needs, in general terms
    sidecar: bool  # starts a helper container (removed when the session ends)
    cli_only: bool = False  # a docker CLI plugin by nature: no Engine API form
    own_shell: bool = False  # runs the target's own shell: first choice when it has one
    # Opens a container that does not run (exited, created, dead, crash-looping): these come
    # first for such a container, in registry order.
    opens_stopped: bool = False
    # A sidecar into a running container that can stand inside it or beside it (VIEWS).
    has_views: bool = False


@dataclass(frozen=True)
class Need:
    """One requirement of a strategy and whether it is met here."""

    what: str
    met: bool


@dataclass(frozen=True)
class Strategy:
    """One way to open the session, as plain data."""

    name: StrategyName
    summary: str  # what it is, in one line
    available: bool
    reasons: tuple[str, ...]  # why it cannot be used (empty when available)
    needs: tuple[Need, ...]
    notes: tuple[str, ...]  # the choices made (user, capabilities, network) and where things are
    argv: tuple[str, ...] = ()  # only for an available strategy
    sidecar: str | None = None  # the container it starts, if any (removed when the session ends)
    labels: Mapping[str, str] = field(default_factory=dict)
    spec: SessionSpec | None = None  # what runs (only for an available strategy)
    transport: Transport = Transport.API  # how it runs: Engine API calls, or the docker CLI
    snapshot: SnapshotSpec | None = None  # the image to make before argv runs, and remove
    where: str = ""  # for the banner: where an interactive session stands, in one line
    view: str | None = None  # inside | beside, for the strategies that have views
    view_problem: str | None = None  # why the inside view cannot work here (None: it can)
    # An inside session the engine refuses to start falls back to this (the beside view),
    # when the view was not asked for explicitly.
    fallback: SessionSpec | None = None
    fallback_where: str = ""
    holder_argv: tuple[str, ...] = ()  # an inside session's holder, as `docker run -d -i`

    @property
    def command_line(self) -> str:
        return A.command_line(self.argv)

    @property
    def sidecar_autoremove(self) -> bool:
        """The engine removes the sidecar when it exits (`--rm`); when False dhitui does,
        after the session (a snapshot's sidecar; engines whose `--rm` loses the exit status)."""
        return isinstance(self.spec, SidecarSpec) and self.spec.auto_remove

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "available": self.available,
            "reasons": list(self.reasons),
            "needs": [{"what": n.what, "met": n.met} for n in self.needs],
            "notes": list(self.notes),
            "argv": list(self.argv),
            "command_line": self.command_line if self.argv else None,
            "sidecar": self.sidecar,
            "labels": dict(self.labels),
            "transport": self.transport if self.available else None,
            "snapshot": self.snapshot.to_json() if self.snapshot else None,
            "view": self.view,
            "view_problem": self.view_problem,
            "holder_argv": list(self.holder_argv) or None,
        }


@dataclass(frozen=True)
class Inputs:
    """What every builder reads: the facts gathered, the user's options, the transport
    resolved for them."""

    target: Target
    caps: Capabilities
    endpoint: Endpoint
    toolbox: ToolboxInfo | None
    options: SessionOptions
    session: str
    machine: L.Machine
    transport: Transport
    network_found: bool = True

    @property
    def prefix(self) -> list[str]:
        """The docker command that runs the session, or, over the API, the one that would
        (`docker` from PATH, for showing and copying)."""
        return A.docker_prefix(self.caps.docker_cli_path or "docker", self.endpoint)

    @property
    def sidecar_name(self) -> str:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", self.target.label.rsplit("/", 1)[-1]).strip("-.")
        return f"dhitui-debug-{base[:40] or 'target'}-{self.session[:8]}"


class Checks:
    """Collects a strategy's needs and the reasons it cannot run."""

    def __init__(self) -> None:
        self.needs: list[Need] = []
        self.reasons: list[str] = []

    def need(self, what: str, met: bool, why_not: str) -> None:
        self.needs.append(Need(what, met))
        if not met:
            self.reasons.append(why_not)

    def block(self, why: str) -> None:
        self.reasons.append(why)

    @property
    def ok(self) -> bool:
        return not self.reasons


def resolve_transport(requested: str, caps: Capabilities) -> Transport:
    """`auto`: the default transport (chosen by measurement, see strategy_registry), but
    never the CLI where there is none."""
    if requested == Transport.API:
        return Transport.API
    if requested == Transport.CLI:
        return Transport.CLI
    if DEFAULT_TRANSPORT == Transport.CLI and caps.docker_cli_path is not None:
        return Transport.CLI
    return Transport.API


def require_cli(ins: Inputs, checks: Checks, *, by_nature: bool = False) -> None:
    if not by_nature and ins.transport != Transport.CLI:
        return
    why = ("it is a docker CLI plugin" if by_nature
           else "--transport cli asked for it; the API transport needs none")
    checks.need(
        "the docker CLI", ins.caps.docker_cli_path is not None,
        f"no docker CLI on PATH ({why})",
    )


def target_state_problem(t: ContainerTarget) -> str | None:
    """Why no sidecar can join this container now, if it cannot."""
    if t.crash_looping:
        r = t.exit_reason
        count = f", {r.restart_count} restarts" if r else ""
        return (f"container {t.label} is crash-looping ({t.state}{count}): no process stays "
                "up to join; the snapshot strategy opens its files")
    if not t.running:
        return (f"container {t.label} is not running ({t.state}): no process to join; the "
                "snapshot strategy opens its files")
    return None


def require_running(ins: Inputs, checks: Checks, *, allow_paused: bool) -> None:
    t = ins.target
    if not isinstance(t, ContainerTarget):
        return
    state = target_state_problem(t)
    if state:
        checks.need("a running container", False, state)
    elif t.state == "paused" and not allow_paused:
        checks.need("a running container", False,
                    f"container {t.label} is paused (`docker unpause {t.label}`)")
    elif t.state == "paused" and not ins.caps.identity.joins_paused:
        checks.need("a running container", False,
                    f"container {t.label} is paused, and {ins.caps.identity.name} starts no "
                    f"container in a paused one's namespaces (`docker unpause {t.label}` "
                    "first, or -s snapshot for a copy of its files)")
    else:
        checks.need("a running container", True, "")


def cli_major(version: str | None) -> int | None:
    m = re.match(r"(\d+)\.", version or "")
    return int(m.group(1)) if m else None


def finish(ins: Inputs, info: StrategyInfo, summary: str, checks: Checks, notes: list[str],
            build: Callable[[], SessionSpec | None], sidecar: str | None = None,
            labels: Mapping[str, str] | None = None,
            snapshot: SnapshotSpec | None = None, *, where: str = "",
            view: ViewChoice | None = None,
            fallback: Callable[[], SessionSpec] | None = None,
            fallback_where: str = "") -> Strategy:
    """The strategy as data; its spec and argv are built only when every need is met."""
    argv: tuple[str, ...] = ()
    holder_argv: tuple[str, ...] = ()
    spec: SessionSpec | None = None
    if checks.ok:
        spec = build()
        if spec is not None:
            argv = tuple(spec.argv(ins.prefix))
            bad = A.check_argv(argv)
            if isinstance(spec, InsideSpec):
                holder_argv = tuple(spec.holder.argv(ins.prefix))
                bad = bad or A.check_argv(holder_argv)
            if bad:
                checks.block(f"refusing to run: {bad}")
                argv, spec, holder_argv = (), None, ()
    backup = fallback() if fallback is not None and checks.ok else None
    if backup is not None and A.check_argv(backup.argv(ins.prefix)):
        backup = None
    transport = Transport.CLI if info.cli_only else ins.transport
    return Strategy(
        name=info.name, summary=summary, available=checks.ok, reasons=tuple(checks.reasons),
        needs=tuple(checks.needs), notes=tuple(notes) if checks.ok else (), argv=argv,
        sidecar=sidecar if checks.ok else None, labels=dict(labels or {}) if checks.ok else {},
        spec=spec, transport=transport,
        snapshot=snapshot if checks.ok else None, where=where,
        view=view.view if view is not None else None,
        view_problem=view.problem if view is not None else None,
        fallback=backup, fallback_where=fallback_where if backup is not None else "",
        holder_argv=holder_argv,
    )


def autoremove(ins: Inputs) -> bool:
    return ins.caps.identity.autoremove_keeps_exit_status


def sidecar_labels(ins: Inputs, strategy: str) -> dict[str, str]:
    t = ins.target
    if isinstance(t, ContainerTarget):
        return L.session_labels(session=ins.session, strategy=strategy, machine=ins.machine,
                                target_id=t.id, target_name=t.name)
    return L.session_labels(session=ins.session, strategy=strategy, machine=ins.machine,
                            target_image=t.ref)


def require_toolbox(ins: Inputs, checks: Checks) -> ToolboxInfo | None:
    tb = ins.toolbox
    ref = tb.ref if tb else ins.caps.toolbox_image
    present = tb is not None and tb.present
    checks.need(
        f"the toolbox image {ref} present locally", present,
        f"the toolbox image {ref} is not present locally (dhitui never pulls: `docker pull "
        f"{ref}` where a registry is reachable, `docker load` it, or choose one with --toolbox)",
    )
    if tb is not None and present and tb.problem:
        checks.block(tb.problem)
    return tb if present else None
