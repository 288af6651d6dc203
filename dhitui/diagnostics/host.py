"""Checks about this machine and the way to the engine: endpoint, socket, daemon, container.

These work without any engine answering, which is when they matter most. Check ids and the
keys of their `data`:

  host.endpoint       which endpoint and why, or why none could be chosen
                      {url, source, reason, context} | {problem, error}
  host.socket         the unix socket on disk and this user's access to it
                      {path, exists, kind, uid, owner, gid, group, mode, error, blocked_at,
                       user: {uid, gid, groups, name}, can_read, can_write, via, via_gid}
  host.daemon         whether the engine answers, how fast, and the failure classified
                      {url, answers, kind, seconds, engine_version, api_version}
  host.in-container   whether dhitui runs inside a container, and what that means for access
                      {inside, runtime, evidence, doubts, socket_mounted}
  host.other-engines  engines answering elsewhere on this machine
                      {found: [{url, found_by, answers, error}], answering: [url, ...]}
  host.settings       dhitui's own config.toml, only when it is broken {path, error}

Why one module of this size: the checks judge one set of facts collected once
(`HostFacts`), and each check's words and fixes are read beside the facts they use.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dhitui.config import DEFAULT_TOOLBOX
from dhitui.diagnostics import fixes
from dhitui.diagnostics.check import Check
from dhitui.diagnostics.discovery import FoundEngine, discover_engines
from dhitui.diagnostics.hostenv import ContainerDetection, detect_container, mounted_at, read_mounts
from dhitui.diagnostics.unixperm import Identity, PathFacts, access_for, stat_facts
from dhitui.engine.endpoint import (
    Endpoint,
    docker_config_dir,
    list_contexts,
    podman_socket,
    read_config_json,
    validate_host,
)
from dhitui.errors import ConfigError, DhituiError, EngineUnavailable
from dhitui.strategy_registry import AUTO

if TYPE_CHECKING:
    from dhitui.engine.client import Engine

DOCTOR_TIMEOUT = 5.0


@dataclass(frozen=True)
class EndpointFailure:
    """Endpoint resolution failed; `host`/`context` are the flags it was given, if any."""

    error: DhituiError
    host: str | None = None
    context: str | None = None


@dataclass
class ConnectionAttempt:
    """One try at connecting: the engine when it answered, else the classified error."""

    endpoint: Endpoint
    engine: Engine | None
    error: DhituiError | None
    seconds: float

    @property
    def kind(self) -> str | None:
        if isinstance(self.error, EngineUnavailable):
            return self.error.kind
        return "config" if self.error is not None else None


def attempt_connection(endpoint: Endpoint, timeout: float = DOCTOR_TIMEOUT) -> ConnectionAttempt:
    from dhitui.engine.client import connect

    start = time.perf_counter()
    try:
        engine = connect(endpoint, timeout=timeout)
    except DhituiError as exc:
        return ConnectionAttempt(endpoint, None, exc, time.perf_counter() - start)
    return ConnectionAttempt(endpoint, engine, None, time.perf_counter() - start)


@dataclass(frozen=True)
class HostProbe:
    """What the host checks look at, injectable for tests: the filesystem root used for
    container detection, who "this user" is, and whether to search for other engines."""

    root: Path = Path("/")
    identity: Identity | None = None
    discover: bool = True
    discovery_proc: Path = Path("/proc")
    systemd: bool | None = None

    def who(self) -> Identity:
        return self.identity or Identity.current()

    def has_systemd(self) -> bool:
        if self.systemd is not None:
            return self.systemd
        return (self.root / "run/systemd/system").is_dir()


@dataclass
class HostFacts:
    """What the host checks found, for callers that go on to engine and container checks."""

    identity: Identity
    detection: ContainerDetection
    socket: PathFacts | None = None
    socket_mounted: bool = False
    others: list[FoundEngine] = field(default_factory=list)

    @property
    def answering_elsewhere(self) -> list[str]:
        return [f.url for f in self.others if f.answers]


def run_host_checks(
    endpoint: Endpoint | EndpointFailure | DhituiError,
    env: Mapping[str, str],
    *,
    attempt: ConnectionAttempt | None = None,
    probe: HostProbe | None = None,
    timeout: float = DOCTOR_TIMEOUT,
) -> list[Check]:
    """The host checks. Without `attempt`, connects once itself (and closes the engine)."""
    return collect_host_facts(endpoint, env, attempt=attempt, probe=probe, timeout=timeout)[0]


def collect_host_facts(
    endpoint: Endpoint | EndpointFailure | DhituiError,
    env: Mapping[str, str],
    *,
    attempt: ConnectionAttempt | None = None,
    probe: HostProbe | None = None,
    timeout: float = DOCTOR_TIMEOUT,
) -> tuple[list[Check], HostFacts]:
    probe = probe or HostProbe()
    if isinstance(endpoint, DhituiError):
        endpoint = EndpointFailure(endpoint)
    ep = endpoint if isinstance(endpoint, Endpoint) else None
    facts = HostFacts(identity=probe.who(), detection=detect_container(probe.root, env))
    if probe.discover:
        facts.others = discover_engines(env, exclude=ep.url if ep else None,
                                        proc=probe.discovery_proc)
    checks: list[Check] = []
    if ep is None:
        assert isinstance(endpoint, EndpointFailure)
        checks.append(_endpoint_failure_check(endpoint, env, facts))
    else:
        checks.append(_endpoint_check(ep))
        own_attempt = attempt is None
        if attempt is None:
            attempt = attempt_connection(ep, timeout)
        try:
            if ep.socket_path:
                facts.socket = stat_facts(ep.socket_path)
                facts.socket_mounted = mounted_at(read_mounts(probe.root), ep.socket_path) \
                    is not None
            checks.append(_socket_check(ep, facts, probe.has_systemd()))
            checks.append(_daemon_check(ep, attempt, facts, probe, timeout))
        finally:
            if own_attempt and attempt.engine is not None:
                attempt.engine.close()
    checks.append(_in_container_check(ep, facts))
    if probe.discover:
        failing = ep is None or (attempt is not None and attempt.engine is None)
        checks.append(_other_engines_check(facts.others, failing))
    return checks, facts


# ---------------------------------------------------------------- endpoint


def _endpoint_check(ep: Endpoint) -> Check:
    tls = ""
    if ep.tls is not None:
        tls = " with TLS" + (" (verifying the server)" if ep.tls.verify else "")
    return Check(
        "host.endpoint", "ok", f"engine endpoint {ep.url}{tls}",
        detail=f"Chosen by {ep.source}: {ep.reason}.",
        data={"url": ep.url, "source": ep.source, "reason": ep.reason, "context": ep.context},
    )


def _endpoint_failure_check(failure: EndpointFailure, env: Mapping[str, str],
                            facts: HostFacts) -> Check:
    """Name the broken input (flag, DOCKER_HOST, context, config.json, TLS) and its fix,
    by re-checking each input in precedence order rather than parsing the error text."""
    exc = failure.error
    answering = facts.answering_elsewhere
    problem = "other"
    fx = fixes.endpoint_generic(exc.hint)
    docker_host = env.get("DOCKER_HOST", "").strip()
    if failure.host:
        problem = "host-flag"
        fx = fixes.endpoint_host_flag()
    elif failure.context:
        problem = "context"
        fx = fixes.endpoint_context(failure.context, "--context", list_contexts(env))
    elif docker_host:
        try:
            url = validate_host(docker_host, "DOCKER_HOST")
        except ConfigError:
            problem = "docker-host"
            fx = fixes.endpoint_docker_host(docker_host, answering)
        else:
            if url.startswith("tcp://"):
                problem = "tls"
                fx = fixes.endpoint_tls_files(exc.hint)
    elif env.get("DOCKER_CONTEXT", "").strip():
        problem = "context"
        fx = fixes.endpoint_context(env["DOCKER_CONTEXT"].strip(), "DOCKER_CONTEXT",
                                    list_contexts(env))
    else:
        cfg = docker_config_dir(env) / "config.json"
        try:
            current = read_config_json(env).get("currentContext")
        except ConfigError:
            problem = "config-json"
            fx = fixes.endpoint_config_json(cfg, answering)
        else:
            if isinstance(current, str) and current:
                problem = "context"
                fx = fixes.endpoint_context(current, f"currentContext in {cfg}",
                                            list_contexts(env))
    hint = f" ({exc.hint})" if exc.hint and exc.hint not in (fx.fix or "") else ""
    return Check(
        "host.endpoint", "fail", f"no engine endpoint could be chosen: {exc.message}",
        detail=f"dhitui picks the engine like the docker CLI does (-H, --context, DOCKER_HOST, "
               f"DOCKER_CONTEXT, currentContext in config.json), and one of those is "
               f"unusable{hint}. Until it is fixed the docker CLI fails the same way.",
        fix=fx.fix, alternatives=fx.alternatives,
        data={"problem": problem, "error": exc.message},
    )


# ---------------------------------------------------------------- socket


def _socket_check(ep: Endpoint, facts: HostFacts, systemd: bool) -> Check:
    if ep.socket_path is None or facts.socket is None:
        return Check("host.socket", "ok", f"{ep.scheme}:// endpoint: no local socket to check",
                     detail="Socket ownership and permissions apply to unix:// endpoints only.",
                     data={"path": None})
    s = facts.socket
    me = facts.identity
    data: dict[str, object] = {**s.to_json(), "user": {
        "uid": me.uid, "gid": me.gid, "groups": sorted(me.gids), "name": me.name}}
    answering = facts.answering_elsewhere
    if s.error == "missing":
        dangling = " (a dangling symlink)" if s.exists else ""
        fx = fixes.start_engine(s.path, systemd=systemd, answering_elsewhere=answering)
        return Check("host.socket", "fail", f"no socket at {s.path}{dangling}",
                     detail="Nothing exists at the endpoint's path: the engine is not running, "
                            "not installed, or listens somewhere else.",
                     fix=fx.fix, alternatives=fx.alternatives, data={**data, "kind": None})
    if s.error == "permission-denied":
        fx = fixes.socket_parent_blocked(s.blocked_at or os.path.dirname(s.path))
        return Check("host.socket", "fail",
                     f"cannot look up {s.path}: {s.blocked_at or 'a parent directory'} is not "
                     f"searchable by {me.display}",
                     detail="The socket may be fine, but this user cannot reach its directory.",
                     fix=fx.fix, alternatives=fx.alternatives, data=data)
    if s.error is not None:
        return Check("host.socket", "fail", f"cannot stat {s.path}: {s.error}", data=data)
    assert s.mode is not None and s.uid is not None and s.gid is not None
    where = (f"{s.path} is a {s.kind} owned by {s.owner_display}, group "
             f"{s.group_display}, mode {s.perm}")
    if s.kind != "socket":
        fx = fixes.not_a_socket(s.path, s.kind, answering)
        return Check("host.socket", "fail", f"{s.path} is a {s.kind}, not a socket",
                     detail=f"{where}. An engine listens on a unix socket; connecting to "
                            f"anything else fails. {fx.caution}".strip(),
                     fix=fx.fix, alternatives=fx.alternatives, data=data)
    acc = access_for(s.mode, s.uid, s.gid, me.uid, me.gids)
    data.update(can_read=acc.read, can_write=acc.write, via=acc.via, via_gid=acc.via_gid)
    if acc.write:
        how = {"root": "as root", "owner": "as its owner",
               "group": f"through group {s.group_display}",
               "other": "because it is open to all users"}[acc.via]
        warn_other = acc.via == "other" and me.uid != 0
        detail = f"{where}. Connecting needs write permission on the socket."
        if warn_other:
            detail += (" The socket is writable by every user: anyone on this machine can "
                       "control the engine, which is root on the host. Restore mode 0660 "
                       "with a dedicated group.")
        return Check("host.socket", "warn" if warn_other else "ok",
                     f"{s.path}: {me.display} can use it {how}", detail=detail, data=data)
    listed = me.listed_in_group(s.gid)
    inside_mounted = facts.detection.inside and facts.socket_mounted
    if podman_socket(s.path) and not inside_mounted:
        group_can_write = bool(s.mode & 0o020)
        fx = fixes.podman_socket_permission(
            group=s.group, gid=s.gid, owner=s.owner_display, perm=s.perm, user_name=me.name,
            listed_in_group=listed, group_can_write=group_can_write,
            answering_elsewhere=answering)
        needs = (f"which needs group {s.group_display}" if group_can_write and s.gid != 0
                 else f"which only its owner {s.owner_display} may use")
        return Check(
            "host.socket", "fail",
            f"permission denied: {me.display} may not use Podman's socket {s.path}, {needs}",
            detail=f"{where}. Connecting needs write permission, which {me.display} does not "
                   f"have. {fx.caution}",
            fix=fx.fix, alternatives=fx.alternatives, data={**data, "podman": True},
        )
    fx = fixes.socket_permission(group=s.group, gid=s.gid, user_name=me.name,
                                 listed_in_group=listed, socket_path=s.path,
                                 inside_container=inside_mounted, answering_elsewhere=answering)
    mine = ", ".join(str(g) for g in sorted(me.gids))
    return Check(
        "host.socket", "fail",
        f"permission denied: {me.display} may not use {s.path}, which needs group "
        f"{s.group_display}",
        detail=f"{where}. Connecting needs write permission; {me.display} is not its owner and "
               f"not in group {s.group_display} (this session's groups: {mine})"
               + (", although /etc/group lists you as a member: that takes a new login"
                  if listed else "") + f". {fx.caution}",
        fix=fx.fix, alternatives=fx.alternatives, data=data,
    )


# ---------------------------------------------------------------- daemon

_KIND_WHY = {
    "permission-denied": "permission denied (see the socket check above)",
    "missing": "no socket there",
    "not-a-socket": "the path is not a socket",
    "refused": "connection refused: a stale socket with no engine listening",
    "tls": "the TLS handshake failed",
    "timeout": "it accepted the connection but did not answer in time",
    "unreachable": "it could not be reached",
    "api-error": "it answered with an error",
    "config": "its configuration is unusable",
    "not-an-engine": "something answers there, but not as a Docker Engine API",
    "dropped": "something accepts the connection and closes it without an answer",
}


def _daemon_check(ep: Endpoint, attempt: ConnectionAttempt, facts: HostFacts,
                  probe: HostProbe, timeout: float) -> Check:
    ms = attempt.seconds * 1000
    if attempt.engine is not None:
        eng = attempt.engine
        return Check(
            "host.daemon", "ok",
            f"the engine answers: {eng.identity.display} (API "
            f"{eng.server_api_version}) in {ms:.0f} ms",
            detail=f"GET /version on {ep.url} took {ms:.0f} ms.",
            data={"url": ep.url, "answers": True, "kind": None,
                  "seconds": round(attempt.seconds, 4), "engine": eng.identity.name,
                  "engine_version": eng.engine_version,
                  "api_version": eng.server_api_version},
        )
    kind = attempt.kind or "unreachable"
    err = attempt.error
    message = err.message if err else "no answer"
    data = {"url": ep.url, "answers": False, "kind": kind,
            "seconds": round(attempt.seconds, 4), "engine_version": None, "api_version": None}
    answering = facts.answering_elsewhere
    fx = fixes.Fixes()
    socket_said_it = kind in ("permission-denied", "missing", "not-a-socket") and ep.socket_path
    if kind == "refused" and ep.socket_path is None:
        fx = fixes.tcp_refused(ep.url, answering)
    elif kind == "refused":
        fx = fixes.start_engine(ep.socket_path, systemd=probe.has_systemd(),
                                answering_elsewhere=answering)
    elif kind == "tls":
        problem = getattr(err, "tls", None)
        fx = fixes.Fixes(problem.fix, ("compare with `docker --tlsverify version`",)) \
            if problem is not None else fixes.tls_failure(ep.url)
    elif kind == "timeout":
        fx = fixes.timeout(ep.url, timeout, probe.has_systemd())
    elif kind == "config":
        fx = fixes.endpoint_generic(err.hint if err else None)
    elif kind in ("not-an-engine", "dropped"):
        fx = fixes.not_an_engine(ep.url, answering, dropped=kind == "dropped")
    elif not socket_said_it:
        fx = fixes.start_engine(ep.socket_path, systemd=probe.has_systemd(),
                                answering_elsewhere=answering)
    detail = f"{message}."
    if socket_said_it:
        detail += " The socket check above has the cause and the fix."
    why = _KIND_WHY.get(kind, kind)
    if kind == "refused" and ep.socket_path is None:
        why = "connection refused: nothing listens at that address"
    return Check("host.daemon", "fail", f"no engine answers at {ep.url}: {why}",
                 detail=detail, fix=fx.fix, alternatives=fx.alternatives, data=data)


# ---------------------------------------------------------------- inside a container


def _in_container_check(ep: Endpoint | None, facts: HostFacts) -> Check:
    d = facts.detection
    data: dict[str, object] = {**d.to_json(), "socket_mounted": facts.socket_mounted}
    if not d.inside:
        detail = "No container runtime left its marks here (/.dockerenv with a container " \
                 "root filesystem, /run/.containerenv, container cgroups, $container)."
        if d.doubts:
            detail += " Not trusted: " + "; ".join(d.doubts) + "."
        return Check("host.in-container", "ok", "dhitui is not running inside a container",
                     detail=detail, data=data)
    runtime = f" ({d.runtime})" if d.runtime else ""
    evidence = "Evidence: " + "; ".join(d.evidence) + "."
    s = facts.socket
    me = facts.identity
    if ep is None or s is None or s.mode is None or s.uid is None or s.gid is None:
        return Check("host.in-container", "ok", f"dhitui is running inside a container{runtime}",
                     detail=evidence, data=data)
    mounted = "mounted into this container" if facts.socket_mounted else "inside this container"
    acc = access_for(s.mode, s.uid, s.gid, me.uid, me.gids)
    if acc.write:
        how = "as root" if acc.via == "root" else f"through {acc.via} permissions"
        return Check("host.in-container", "ok",
                     f"inside a container{runtime}; the socket {s.path} ({mounted}) is usable "
                     f"{how}", detail=evidence, data=data)
    if not facts.socket_mounted:
        return Check("host.in-container", "ok",
                     f"inside a container{runtime}; the socket {s.path} is not a bind mount "
                     "(see host.socket)", detail=evidence, data=data)
    # The host's path is not visible from in here; the usual mount keeps the same path.
    fx = fixes.group_add(s.gid, s.path, s.path)
    return Check(
        "host.in-container", "fail",
        f"inside a container{runtime} as {me.display}, which may not use the mounted socket "
        f"{s.path} (GID {s.gid}): start the container with --group-add {s.gid}",
        detail=f"{evidence} Inside a container, group membership comes from how it was "
               f"started, not from usermod. The socket's GID as seen here is the host's real "
               f"GID {s.gid}" + ("" if s.group else " (no group has it in this container's "
                                 "/etc/group, which is fine: only the number counts)")
               + f". {fx.caution}",
        fix=fx.fix, alternatives=fx.alternatives, data=data,
    )


# ---------------------------------------------------------------- other engines


def _other_engines_check(found: Sequence[FoundEngine], failing: bool) -> Check:
    answering = [f for f in found if f.answers]
    data = {"found": [f.to_json() for f in found], "answering": [f.url for f in answering]}
    if not answering:
        kinds = sorted({f.error or "no answer" for f in found})
        silent = (f" ({len(found)} found, none usable from here: {', '.join(kinds)})"
                  if found else "")
        return Check("host.other-engines", "warn" if failing else "ok",
                     f"no other engine answers on this machine{silent}",
                     detail="Looked at the well-known sockets, listening sockets in "
                            "/proc/net/unix and the -H/--host of running dockerd processes.",
                     data=data)
    lines = "; ".join(f"{f.url} (found as {', '.join(f.found_by)})" for f in answering[:6])
    more = f" and {len(answering) - 6} more" if len(answering) > 6 else ""
    if not failing:
        return Check("host.other-engines", "ok",
                     f"{len(answering)} other engine(s) answer on this machine",
                     detail=f"Also answering: {lines}{more}.", data=data)
    first = answering[0].url
    return Check(
        "host.other-engines", "warn",
        f"the configured engine fails, but {len(answering)} other engine(s) answer here",
        detail=f"Answering: {lines}{more}. Switching engines changes which containers you see; "
               "make sure it is the engine you meant.",
        fix=fixes.other_engine_fix(first),
        alternatives=(f"for one command only: `dhitui -H {first} ...`",),
        data=data,
    )


def settings_check(path: str, error: str) -> Check:
    fx = fixes.dhitui_settings(path)
    return Check("host.settings", "fail", f"dhitui's configuration is unusable: {error}",
                 detail=f"Defaults are used until it is fixed (toolbox {DEFAULT_TOOLBOX}, "
                 f"strategy {AUTO}).",
                 fix=fx.fix, data={"path": path, "error": error})
