"""Choosing how to open a debug session: pure planning, no I/O.

Inputs are facts already gathered (the target, the engine's `Capabilities`, the `Endpoint`,
the toolbox) and the user's options; the output is a `SessionPlan`: every strategy as plain
data — available or not, why, what it needs, the choices it made and the exact argv — best
first, with the one that will run.

The strategies:

- `docker-debug`: `docker debug TARGET`, Docker Desktop's CLI plugin, when installed.
- `image-mount`: a sidecar built on the target's own image, in the target's PID and network
  namespaces, running as the target's user, with the toolbox image mounted read-only at
  `/dbg` and its shell as the entrypoint. Needs image mounts (Engine 28+, API 1.48).
- `toolbox`: a sidecar whose root is the toolbox image, in the target's PID and network
  namespaces, as the target's user. For engines without image mounts.
- `exec`: `docker exec -it TARGET SHELL` when the container has a shell.
- `snapshot`: for a container that does not run (exited, created, dead, crash-looping): a
  temporary image of it (`docker commit`), run with the toolbox at `/dbg`, its volumes, env,
  working directory and user, and no network (see `snapshot`).

Each strategy describes what runs once, as a spec (`dhitui.engine.specs`); the docker command
line shown and copied, and the Engine API calls of the API transport, both come from it. Every
strategy but `docker-debug` (a CLI plugin) runs over either transport (`TRANSPORTS`).

The automatic choice: a container with its own shell gets `exec` (nothing extra runs, nothing
to clean up, the same view as the app); one without gets `docker-debug` if installed, else
`image-mount`, else `toolbox`. A container that does not run gets `docker-debug` if
installed, else `snapshot` (the others need a running process to join).

Reading the target's files at `/proc/1/root` passes the kernel's ptrace access check, which
wants the same uid *and* gid as the target, or CAP_SYS_PTRACE (not in Docker's default set).
Sidecars therefore run as the target's user and get no extra capability (least privilege);
`root=True` runs them as root with `--cap-add SYS_PTRACE` instead, for reading files the
target's user cannot or for tracing. Never `--privileged` unless asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

from dhitui import strategy_registry as registry
from dhitui.engine.capabilities import Capabilities
from dhitui.engine.endpoint import Endpoint
from dhitui.engine.specs import (
    PROMPT_BESIDE,
    PROMPT_IMAGE,
    PROMPT_SNAPSHOT,
    ExecSpec,
    ImageMount,
    InsideSpec,
    PluginSpec,
    SessionSpec,
    SidecarSpec,
    shell_args,
    tools_path,
)
from dhitui.sessions import argv as A
from dhitui.sessions import labels as L
from dhitui.sessions.inside import (
    ViewChoice,
    choose_view,
    inside_notes,
    inside_spec,
    sidecar_userns,
    where_inside,
)
from dhitui.sessions.snapshot import SnapshotSpec
from dhitui.sessions.targets import (
    MOUNT_POINT,
    TOOLBOX_ADVICE,
    TOOLBOX_PATH_DIRS,
    CommandCheck,
    ContainerTarget,
    ImageTarget,
    Target,
    ToolboxInfo,
    safe_path_entries,
    safe_word,
)

STRATEGIES = registry.NAMES
AUTO = registry.AUTO
Transport = Literal["api", "cli"]
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
class Need:
    """One requirement of a strategy and whether it is met here."""

    what: str
    met: bool


@dataclass(frozen=True)
class Strategy:
    """One way to open the session, as plain data."""

    name: str
    summary: str  # what it is, in one line
    available: bool
    reasons: tuple[str, ...]  # why it cannot be used (empty when available)
    needs: tuple[Need, ...]
    notes: tuple[str, ...]  # the choices made (user, capabilities, network) and where things are
    argv: tuple[str, ...] = ()  # only for an available strategy
    sidecar: str | None = None  # the container it starts, if any (removed when the session ends)
    labels: Mapping[str, str] = field(default_factory=dict)
    spec: SessionSpec | None = None  # what runs (only for an available strategy)
    transport: Transport = "api"  # how it runs: Engine API calls, or the docker CLI
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
            snapshot = self.strategy(L.SNAPSHOT_STRATEGY)
            if state and snapshot.reasons:
                # Not "use the snapshot strategy": it is the one that cannot; say why.
                how = "crash-loops" if t.crash_looping else f"does not run ({t.state})"
                return (f"cannot debug {t.label}: it {how}, and no snapshot of it can be "
                        f"made: {'; '.join(snapshot.reasons)}")
            if state:
                return f"cannot debug {t.label}: {state}"
            return f"no debug strategy can open the container {t.label} here"
        mount = self.strategy("image-mount")
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


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Inputs:
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


class _Checks:
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
    ins = _Inputs(target, caps, endpoint, toolbox, options, session, machine,
                  resolve_transport(options.transport, caps), network_found)
    built = {name: build(ins) for name, build in _BUILDERS.items()}
    order = ranking(target)
    why = None
    lacking = command_check is not None and command_check.in_target is None
    having: list[Strategy] = []
    if command_check is not None and lacking:
        having = [built[n] for n in order
                  if built[n].available and _has_command(built[n], command_check)]
        if not having and options.view == AUTO:
            # A toolbox whose copy of the command works only as the root (an absolute link):
            # beside the target, the toolbox strategy still has it.
            beside = replace(ins, options=replace(options, view=registry.BESIDE))
            for name in order:
                if not registry.info(name).has_views:
                    continue
                alt = _BUILDERS[name](beside)
                if alt.available and _has_command(alt, command_check):
                    built[name], having = alt, [alt]
                    break
        built["exec"] = _lacks_command(built["exec"], target, command_check, toolbox, having)
    strategies = tuple(built[name] for name in order)
    if options.strategy == AUTO:
        chosen = next((s for s in strategies if s.available), None)
        if command_check is not None and lacking and target.shell:
            name = command_check.name
            where = "container" if isinstance(target, ContainerTarget) else "image"
            if having:
                chosen = having[0]
                why = (f"the {where} has a shell but no `{name}` on its PATH; the toolbox "
                       f"{toolbox.ref if toolbox else ''} has it ({command_check.in_toolbox})")
            elif toolbox is not None and toolbox.present:
                why = (f"the {where} has no `{name}` on its PATH, and the toolbox "
                       f"{toolbox.ref} does not have it either: it will likely not be found")
            else:
                why = (f"the {where} has no `{name}` on its PATH, and no toolbox is present "
                       "to bring it: it will likely not be found")
        if (chosen is not None and chosen.name == L.SNAPSHOT_STRATEGY and why is None
                and isinstance(target, ContainerTarget) and target.running
                and not target.crash_looping):
            # The container runs, yet nothing can join it: say why a copy is what opens.
            joins = next((s for s in strategies if registry.info(s.name).has_views), None)
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
    if strategy.name in ("image-mount", L.SNAPSHOT_STRATEGY) or (
            strategy.name == "toolbox" and strategy.view == registry.INSIDE):
        return check.in_toolbox is not None and check.toolbox_mountable
    if strategy.name == "toolbox":
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


def ranking(target: Target) -> tuple[str, ...]:
    """Best first (`strategy_registry.ranking`): for a container that does not run, those
    that open one (docker debug, snapshot); else its own shell when it has one."""
    running = not isinstance(target, ContainerTarget) or (
        target.running and not target.crash_looping)
    return registry.ranking(bool(target.shell), running)


def resolve_transport(requested: str, caps: Capabilities) -> Transport:
    """`auto`: the default transport (chosen by measurement, see strategy_registry), but
    never the CLI where there is none."""
    if requested == "api":
        return "api"
    if requested == "cli":
        return "cli"
    if registry.DEFAULT_TRANSPORT == "cli" and caps.docker_cli_path is not None:
        return "cli"
    return "api"


def _cli(ins: _Inputs, checks: _Checks, *, by_nature: bool = False) -> None:
    if not by_nature and ins.transport != "cli":
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


def _running(ins: _Inputs, checks: _Checks, *, allow_paused: bool) -> None:
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


def _cli_major(version: str | None) -> int | None:
    m = re.match(r"(\d+)\.", version or "")
    return int(m.group(1)) if m else None


def _finish(ins: _Inputs, name: str, summary: str, checks: _Checks, notes: list[str],
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
    transport: Transport = "cli" if registry.info(name).cli_only else ins.transport
    return Strategy(
        name=name, summary=summary, available=checks.ok, reasons=tuple(checks.reasons),
        needs=tuple(checks.needs), notes=tuple(notes) if checks.ok else (), argv=argv,
        sidecar=sidecar if checks.ok else None, labels=dict(labels or {}) if checks.ok else {},
        spec=spec, transport=transport,
        snapshot=snapshot if checks.ok else None, where=where,
        view=view.view if view is not None else None,
        view_problem=view.problem if view is not None else None,
        fallback=backup, fallback_where=fallback_where if backup is not None else "",
        holder_argv=holder_argv,
    )


def _autoremove(ins: _Inputs) -> bool:
    return ins.caps.identity.autoremove_keeps_exit_status


def _sidecar_labels(ins: _Inputs, strategy: str) -> dict[str, str]:
    t = ins.target
    if isinstance(t, ContainerTarget):
        return L.session_labels(session=ins.session, strategy=strategy, machine=ins.machine,
                                target_id=t.id, target_name=t.name)
    return L.session_labels(session=ins.session, strategy=strategy, machine=ins.machine,
                            target_image=t.ref)


def _target_files_path(t: ContainerTarget) -> str:
    """Where a sidecar in the target's PID namespace sees the target's files."""
    if t.pid_mode == "host":
        return f"/proc/{t.host_pid}/root" if t.host_pid else "/proc/<its host pid>/root"
    if t.pid_mode.startswith("container:"):
        return "/proc/<its pid>/root"
    return "/proc/1/root"


def _target_files_note(t: ContainerTarget) -> str:
    where = _target_files_path(t)
    if t.pid_mode == "host":
        return (f"the target shares the host's PID namespace, so PID 1 is the host's init: "
                f"the target's files are at {where}")
    if t.pid_mode.startswith("container:"):
        return (f"the target shares the PID namespace of {t.pid_mode[len('container:'):]}, "
                "whose process is PID 1 here: find the target's process with `ps` and use "
                f"{where}")
    return f"the target's files (live): {where}; its process is PID 1"


class _Identity(NamedTuple):
    """Who a sidecar of a container target runs as."""

    user: str | None  # --user
    caps: tuple[str, ...]  # --cap-add
    groups: tuple[str, ...]  # --group-add: the target's supplementary groups
    note: str


def groups_note(t: ContainerTarget) -> str:
    """The groups the target's process has, and where each comes from."""
    if t.account is None:
        return "its groups could not be read"
    return "groups: " + (", ".join(t.account.sources) or "none")


def _sidecar_user(ins: _Inputs, checks: _Checks, *, names_resolve: bool) -> _Identity:
    """Who a sidecar of a container target runs as: its user, uid and gid, and every group
    its process has (`--group-add`, by number); `names_resolve`: the sidecar runs the
    target's image, so a user name means the same."""
    t = ins.target
    assert isinstance(t, ContainerTarget)
    if ins.options.root:
        caps = () if t.user.uid == 0 else ("SYS_PTRACE",)
        why = ("as root" + (" with CAP_SYS_PTRACE (needed to read /proc/1/root of another "
                            "user, and to trace its processes)" if caps else ", like the target"))
        return _Identity("0:0", caps, (), f"runs {why}, because --root was asked for")
    u = t.user
    groups = tuple(str(g) for g in t.supplementary_gids)
    if u.uid is not None:
        value = f"{u.uid}:{u.gid}" if u.gid is not None else str(u.uid)
        note = (f"runs as {value}, the target's own user ({groups_note(t)}): the kernel lets "
                "the same uid and gid read /proc/1/root with no extra capability (least "
                "privilege; --root would run it as root with CAP_SYS_PTRACE instead)")
        if u.gid is None:
            note += "; the target's gid is unknown, and a different gid is refused"
        return _Identity(value, (), groups, note)
    if names_resolve and u.raw and safe_word(u.raw.replace(":", "")):
        return _Identity(u.raw, (), groups,
                         f"runs as {u.raw}, the target's own user (resolved by the target's "
                         f"image, which this sidecar is built on; {groups_note(t)})")
    checks.need(
        "the target's uid", False,
        f"the target runs as {u.display}, whose uid is not known (its image's /etc/passwd does "
        "not list it), so a sidecar cannot match it; use --root (root with CAP_SYS_PTRACE)",
    )
    return _Identity(None, (), (), "")


def _docker_debug(ins: _Inputs) -> Strategy:
    t = ins.target
    checks = _Checks()
    _cli(ins, checks, by_nature=True)
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
    return _finish(
        ins, "docker-debug", registry.info("docker-debug").title, checks, notes,
        lambda: PluginSpec(target=ref, command=ins.options.command,
                           privileged=ins.options.privileged),
        where="docker debug's shell: / is the container's filesystem, its tools on PATH",
    )


def _toolbox_present(ins: _Inputs, checks: _Checks) -> ToolboxInfo | None:
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


def _image_mount(ins: _Inputs) -> Strategy:
    t = ins.target
    checks = _Checks()
    _cli(ins, checks)
    if ins.transport == "cli":
        major = _cli_major(ins.caps.docker_cli)
        checks.need(
            f"docker CLI {MIN_CLI_FOR_IMAGE_MOUNTS}+ (knows --mount type=image)",
            major is None or major >= MIN_CLI_FOR_IMAGE_MOUNTS,
            f"the docker CLI is {ins.caps.docker_cli}; `--mount type=image` needs "
            f"{MIN_CLI_FOR_IMAGE_MOUNTS}.0 or newer (--transport api does not)",
        )
    checks.need(
        f"image mounts ({ins.caps.identity.image_mounts_requirement})", ins.caps.image_mounts,
        ins.caps.identity.image_mounts_why,
    )
    tb = _toolbox_present(ins, checks)
    if tb is not None and tb.problem is None:
        # For a running container the toolbox strategy runs such a toolbox as its root.
        instead = ("-s toolbox --view beside runs it as a sidecar's root, or "
                   if isinstance(t, ContainerTarget) and t.running else "")
        checks.need(f"a toolbox that works mounted at {MOUNT_POINT} (static, no absolute links)",
                    tb.mount_shell is not None,
                    f"the toolbox image {tb.ref} cannot work mounted at {MOUNT_POINT}: "
                    f"{tb.mount_problem} ({instead}{TOOLBOX_ADVICE})")
    _running(ins, checks, allow_paused=True)
    shell = tb.mount_shell if tb and tb.mount_shell else "/bin/sh"
    entry = MOUNT_POINT + shell
    path = tools_path(MOUNT_POINT, shell, TOOLBOX_PATH_DIRS, safe_path_entries(t.path_env))
    tools_note = (f"tools: {MOUNT_POINT}/bin (first on PATH); the sidecar's own / is the "
                  "target's image as built")
    name = ins.sidecar_name
    labels = _sidecar_labels(ins, "image-mount")
    if isinstance(t, ImageTarget):
        user = "0:0" if ins.options.root else None
        notes = ["runs as root, because --root was asked for" if ins.options.root
                 else f"runs as the image's user ({t.user.display})",
                 "the image's files are at /; no network", tools_note]
        return _finish(
            ins, "image-mount",
            f"a container of the image with the toolbox mounted read-only at {MOUNT_POINT}",
            checks, notes,
            lambda: SidecarSpec(
                image=t.ref, name=name, labels=labels, tty=ins.options.tty, entrypoint=entry,
                args=shell_args(ins.options.command, own_pid_namespace=True), user=user,
                network="none",
                mount=ImageMount(tb.ref if tb else "", MOUNT_POINT, ins.caps.identity),
                env=(("PATH", path), ("PS1", PROMPT_IMAGE)), privileged=ins.options.privileged,
                auto_remove=_autoremove(ins),
            ),
            sidecar=name, labels=labels, where=f"the image's files: /, tools: {MOUNT_POINT}/bin",
        )
    view = _view(ins, checks, tb)
    beside_checks = _Checks() if view.inside else checks
    who = _sidecar_user(ins, beside_checks, names_resolve=True)
    beside_notes = [_beside_note(t, view, "the target's image as built"), who.note,
                    _target_files_note(t), tools_note, _network_note(t)]
    if t.state == "paused":
        beside_notes.append(f"{t.label} is paused: its processes stay frozen until unpaused")

    def beside() -> SessionSpec:
        return SidecarSpec(
            image=t.image_id, name=name, labels=labels, tty=ins.options.tty, entrypoint=entry,
            args=shell_args(ins.options.command), user=who.user, group_add=who.groups,
            pid_of=t.id, network=f"container:{t.id}", userns=sidecar_userns(t, ins.caps.identity),
            mount=ImageMount(tb.ref if tb else "", MOUNT_POINT, ins.caps.identity),
            env=(("PATH", path), ("PS1", PROMPT_BESIDE)), cap_add=who.caps,
            privileged=ins.options.privileged, auto_remove=_autoremove(ins),
        )

    beside_where = (f"beside: / is the target's image as built; its live files: "
                    f"{_target_files_path(t)}; tools: {MOUNT_POINT}/bin")
    summary = f"a sidecar on the target's own image with the toolbox mounted read-only at " \
              f"{MOUNT_POINT}"
    return _with_view(ins, "image-mount", summary, checks, view, tb, name, labels,
                      on_target_image=True, beside=beside, beside_notes=beside_notes,
                      beside_where=beside_where, beside_ok=beside_checks.ok)


def _view(ins: _Inputs, checks: _Checks, tb: ToolboxInfo | None) -> ViewChoice:
    """Inside or beside (see `inside`); an inside view asked for that cannot work blocks."""
    t = ins.target
    assert isinstance(t, ContainerTarget)
    view = choose_view(ins.options.view, t, tb, root=ins.options.root)
    if view.inside and view.problem:
        checks.block(f"the inside view cannot be used: {view.problem} (--view beside "
                     "opens the sidecar's own view)")
    return view


def _beside_note(t: ContainerTarget, view: ViewChoice, root: str) -> str:
    note = f"beside {t.label}: / is {root}, not the target's live files"
    if view.fell_back:
        note += f" (the inside view cannot be used here: {view.problem})"
    return note


def _with_view(ins: _Inputs, name: str, summary: str, checks: _Checks, view: ViewChoice,
               tb: ToolboxInfo | None, sidecar: str, labels: dict[str, str], *,
               on_target_image: bool, beside: Callable[[], SessionSpec],
               beside_notes: list[str], beside_where: str, beside_ok: bool) -> Strategy:
    """A sidecar strategy's session in the chosen view; an inside one keeps the beside
    session as its fallback when the view was chosen automatically."""
    t = ins.target
    assert isinstance(t, ContainerTarget)
    if not view.inside or tb is None or tb.mount_shell is None:
        return _finish(ins, name, summary, checks, beside_notes, beside, sidecar=sidecar,
                       labels=labels, where=beside_where, view=view)
    holder_labels = {**labels, L.ROLE: L.HOLDER_ROLE}
    spec = inside_spec(t, tb, engine=ins.caps.identity, on_target_image=on_target_image,
                       name=sidecar, labels=holder_labels, command=ins.options.command,
                       tty=ins.options.tty, root=ins.options.root,
                       privileged=ins.options.privileged)
    notes = inside_notes(t, tb, spec, root=ins.options.root)
    if checks.ok:
        notes.append("before: " + A.command_line(spec.holder.argv(ins.prefix))
                     + "  (the holder; it prints its pid)")
        notes.append("after: " + A.command_line([*ins.prefix, "rm", "-f", sidecar]))
    fallback = beside if view.requested == AUTO and beside_ok else None
    return _finish(ins, name, summary, checks, notes, lambda: spec, sidecar=sidecar,
                   labels=holder_labels, where=where_inside(t, tb, root=ins.options.root),
                   view=view, fallback=fallback, fallback_where=beside_where)


def _network_note(t: ContainerTarget) -> str:
    return (f"shares the target's network namespace (--network container:ID; the target's "
            f"own mode is {t.network_mode})")


def _toolbox(ins: _Inputs) -> Strategy:
    t = ins.target
    checks = _Checks()
    summary = ("a sidecar whose root is the toolbox image, in the target's PID and network "
               "namespaces")
    if isinstance(t, ImageTarget):
        checks.block(
            "a sidecar rooted in the toolbox cannot see an image's files: exploring an image "
            f"needs image mounts ({ins.caps.identity.image_mounts_requirement}), docker debug, "
            "or a shell in the image"
        )
        return _finish(ins, "toolbox", summary, checks, [], lambda: None)
    _cli(ins, checks)
    tb = _toolbox_present(ins, checks)
    _running(ins, checks, allow_paused=True)
    view = _view(ins, checks, tb)
    beside_checks = _Checks() if view.inside else checks
    who = _sidecar_user(ins, beside_checks, names_resolve=False)
    beside_notes = [_beside_note(t, view, "the toolbox image"), who.note,
                    _target_files_note(t), "tools: the toolbox's own PATH", _network_note(t)]
    if t.state == "paused":
        beside_notes.append(f"{t.label} is paused: its processes stay frozen until unpaused")
    name = ins.sidecar_name
    labels = _sidecar_labels(ins, "toolbox")

    def beside() -> SessionSpec:
        return SidecarSpec(
            image=tb.ref if tb else "", name=name, labels=labels,
            tty=ins.options.tty, entrypoint=(tb.shell if tb and tb.shell else "/bin/sh"),
            args=shell_args(ins.options.command), user=who.user, group_add=who.groups,
            pid_of=t.id, network=f"container:{t.id}", userns=sidecar_userns(t, ins.caps.identity),
            env=(("PS1", PROMPT_BESIDE),), cap_add=who.caps,
            privileged=ins.options.privileged, auto_remove=_autoremove(ins),
        )

    beside_where = (f"beside: / is the toolbox; the target's live files: "
                    f"{_target_files_path(t)}")
    return _with_view(ins, "toolbox", summary, checks, view, tb, name, labels,
                      on_target_image=False, beside=beside, beside_notes=beside_notes,
                      beside_where=beside_where, beside_ok=beside_checks.ok)


def _exec(ins: _Inputs) -> Strategy:
    t = ins.target
    checks = _Checks()
    _cli(ins, checks)
    what = "container" if isinstance(t, ContainerTarget) else "image"
    checks.need(f"a shell in the {what}", t.shell is not None,
                f"the {what} has no shell (that is what the other strategies are for)")
    _running(ins, checks, allow_paused=False)
    shell = t.shell or "/bin/sh"
    if isinstance(t, ContainerTarget):
        who = "root, because --root was asked for" if ins.options.root else t.user.display
        notes = [f"runs the container's own shell {shell} as {who}; nothing else is started"]
        return _finish(
            ins, "exec", f"`docker exec` of the container's own shell {shell}", checks, notes,
            lambda: ExecSpec(
                container=t.id,
                cmd=ins.options.command if ins.options.command is not None else (shell,),
                tty=ins.options.tty, user="0:0" if ins.options.root else None,
                privileged=ins.options.privileged,
            ),
            where=f"inside: the container's own shell {shell}, in its live root",
        )
    name = ins.sidecar_name
    labels = _sidecar_labels(ins, "exec")
    notes = [f"a throwaway container of the image running its own shell {shell} "
             f"as {'root' if ins.options.root else t.user.display}; no network"]
    return _finish(
        ins, "exec", f"the image's own shell {shell} in a throwaway container", checks, notes,
        lambda: SidecarSpec(
            image=t.ref, name=name, labels=labels, tty=ins.options.tty,
            entrypoint=shell, args=shell_args(ins.options.command, own_pid_namespace=True),
            user="0:0" if ins.options.root else None, network="none",
            env=(("PS1", PROMPT_IMAGE),), privileged=ins.options.privileged,
            auto_remove=_autoremove(ins),
        ),
        sidecar=name, labels=labels, where="the image's files: /, its own shell",
    )


def _snapshot(ins: _Inputs) -> Strategy:
    """A sidecar on a temporary image of the container (see `snapshot` for why and how)."""
    t = ins.target
    checks = _Checks()
    summary = registry.info(L.SNAPSHOT_STRATEGY).title
    if isinstance(t, ImageTarget):
        checks.block("an image has no container to take a snapshot of (the other strategies "
                     "explore images)")
        return _finish(ins, L.SNAPSHOT_STRATEGY, summary, checks, [], lambda: None)
    _cli(ins, checks)
    if t.state == "removing":
        checks.block(f"container {t.label} is being removed")
    if ins.options.view == registry.INSIDE and t.running and not t.crash_looping:
        checks.block(f"a snapshot is a copy of {t.label}, not the running container "
                     "(--view inside was asked for)")
    tb = _toolbox_present(ins, checks)
    # Through the CLI an image mount also needs a CLI that knows `--mount type=image`.
    mounted = ins.caps.image_mounts and (ins.transport != "cli" or (
        (_cli_major(ins.caps.docker_cli) or MIN_CLI_FOR_IMAGE_MOUNTS) >= MIN_CLI_FOR_IMAGE_MOUNTS))
    if tb is not None and tb.problem is None:
        checks.need(f"a toolbox that works at {MOUNT_POINT} (static, no absolute links)",
                    tb.mount_shell is not None,
                    f"the toolbox image {tb.ref} cannot work at {MOUNT_POINT}: "
                    f"{tb.mount_problem} ({TOOLBOX_ADVICE})")
    who = _sidecar_user(ins, checks, names_resolve=True)
    network = ins.options.network or "none"
    if network.startswith("container:") or not safe_word(network):
        checks.block(f"network {network!r} cannot be used: give a network name "
                     "(a snapshot has no process whose network it could share)")
    elif not ins.network_found:
        checks.block(f"the engine has no network named {network} (`docker network ls` lists "
                     "them; without --network the snapshot runs with none)")
    name = ins.sidecar_name
    labels = _sidecar_labels(ins, L.SNAPSHOT_STRATEGY)
    spec = SnapshotSpec(
        container=t.id, label=t.label, session=ins.session,
        labels=L.snapshot_labels(session=ins.session, machine=ins.machine, target_id=t.id,
                                 target_name=t.name),
        copy_toolbox=None if mounted else (tb.ref if tb else ins.caps.toolbox_image),
        mount_point=MOUNT_POINT,
    )
    shell = tb.mount_shell if tb and tb.mount_shell else "/bin/sh"
    entry = MOUNT_POINT + shell
    path = tools_path(MOUNT_POINT, shell, TOOLBOX_PATH_DIRS, safe_path_entries(t.path_env))
    state = {"restarting": "crash-looping: its restart policy is left alone, and the snapshot "
                           "is its filesystem at the moment of the commit",
             "crash-looping": "crash-looping (up for a moment between restarts): its restart "
                              "policy is left alone, and the snapshot is its filesystem at the "
                              "moment of the commit",
             "running": "running: the snapshot is a copy; the running process is not joined "
                        "(the other strategies join it)",
             "paused": "paused: its processes stay frozen, and the snapshot is a copy of its "
                       "files as they are now"}.get(
        "crash-looping" if t.crash_looping and t.state == "running" else t.state,
        f"{t.state}: the snapshot is its filesystem as it was left")
    notes = [
        f"{t.label} is {state}",
        "sees the container's files as they are now, writable layer included, at /; its "
        "volumes and bind mounts at their paths (--volumes-from); its env and working "
        "directory; the app's own entrypoint never runs; the toolbox's shell is PID 1 and "
        "runs your command as its child (Ctrl-C reaches it; no init binary is needed)",
        ("runs as root, because --root was asked for" if ins.options.root else
         f"runs as {who.user}, the container's own user ({groups_note(t)}; --root runs it "
         "as root)")
        if who.user is not None else who.note,
        "no network (--network none)" if network == "none"
        else f"on the network {network}, as asked",
        (f"toolbox: mounted read-only at {MOUNT_POINT} (image mount)" if mounted else
         f"toolbox: this engine cannot mount images, so {spec.copy_toolbox} is copied into the "
         f"snapshot at {MOUNT_POINT} over the Engine API (works with a remote engine; no file "
         "on its host)"),
    ]
    if checks.ok:
        prefix = ins.prefix
        notes += [f"before: {line}" for line in spec.prepare_lines(prefix)]
        notes += [f"after: {line}" for line in spec.cleanup_lines(prefix, name)]
    return _finish(
        ins, L.SNAPSHOT_STRATEGY, summary, checks, notes,
        lambda: SidecarSpec(
            image=spec.image, name=name, labels=labels, tty=ins.options.tty,
            entrypoint=entry, args=shell_args(ins.options.command, own_pid_namespace=True),
            user=who.user, group_add=who.groups, network=network, volumes_from=t.id,
            mount=(ImageMount(tb.ref, MOUNT_POINT, ins.caps.identity)
                   if tb and mounted else None),
            env=(("PATH", path), ("PS1", PROMPT_SNAPSHOT)), privileged=ins.options.privileged,
            auto_remove=False,
        ),
        sidecar=name, labels=labels, snapshot=spec,
        where=f"a snapshot: / is {t.label}'s files as they are now (a copy), its volumes at "
              f"their paths; tools: {MOUNT_POINT}/bin",
    )


_BUILDERS: dict[str, Callable[[_Inputs], Strategy]] = {
    "docker-debug": _docker_debug,
    "image-mount": _image_mount,
    "toolbox": _toolbox,
    "exec": _exec,
    "snapshot": _snapshot,
}
# One builder per registry entry, no more, no less (a new strategy is registered first).
assert tuple(_BUILDERS) == registry.NAMES, "sessions.strategies and strategy_registry disagree"
