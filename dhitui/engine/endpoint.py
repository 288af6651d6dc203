"""Which engine to talk to, chosen the way the docker CLI chooses it, then the way podman
does.

Precedence (docker/cli `resolveContextName` plus the default context's host, then podman's):
  1. `--context`            (conflicts with `--host`): a docker context, else a podman
                            connection of that name
  2. `-H/--host`
  3. `DOCKER_HOST`          (beats `DOCKER_CONTEXT`)
  4. `DOCKER_CONTEXT`
  5. `currentContext` in `$DOCKER_CONFIG/config.json` (default `~/.docker`)
  6. `CONTAINER_HOST`       (podman's DOCKER_HOST)
  7. `CONTAINER_CONNECTION` (a podman connection by name)
  8. podman's default connection (`podman system connection default`; see
     `podman_connections`)
  9. well-known sockets: the first that answers (rootful, rootless, Docker Desktop, Colima,
     OrbStack, Podman rootless, Podman rootful), else the first that exists, else
     `unix:///var/run/docker.sock`.

Docker's own settings come first: a docker user's choice is never overridden by podman's.
Step 9 goes beyond the docker CLI (which always picks `/var/run/docker.sock`): a user with
only a rootless, Desktop or Podman engine gets it without configuring anything, and the
choice is always stated. docker-py's `from_env()` ignores contexts, so all of this lives
here. Nothing in this module connects over HTTP; it only reads files and, for step 9, tries
`connect()` on unix sockets.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dhitui.engine.podman_connections import PodmanConnection, read_connections
from dhitui.errors import ConfigError, UsageError

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_HOST = f"unix://{DEFAULT_SOCKET}"
DEFAULT_CONTEXT = "default"
_SCHEMES = ("unix", "tcp", "ssh")


@dataclass(frozen=True)
class TLSFiles:
    """Client TLS material; any of the paths may be absent (then that part is not used)."""

    ca_cert: str | None
    client_cert: str | None
    client_key: str | None
    verify: bool


@dataclass(frozen=True)
class SocketCandidate:
    """A well-known socket path and what was found there."""

    kind: str  # rootful, rootless, desktop, colima, orbstack, podman-rootless, podman, ...
    path: str
    exists: bool
    answers: bool


@dataclass(frozen=True)
class Endpoint:
    """The chosen engine address and why it was chosen."""

    url: str
    source: str  # flag | env | context | podman-env | podman-connection | well-known | default
    reason: str
    context: str | None = None
    tls: TLSFiles | None = None
    candidates: tuple[SocketCandidate, ...] = field(default=(), compare=False)

    @property
    def socket_path(self) -> str | None:
        return self.url[len("unix://") :] if self.url.startswith("unix://") else None

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0]


def docker_config_dir(env: Mapping[str, str]) -> Path:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".docker"


def read_config_json(env: Mapping[str, str]) -> dict[str, object]:
    """`$DOCKER_CONFIG/config.json`, `{}` when absent; ConfigError when unreadable/corrupt."""
    path = docker_config_dir(env) / "config.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}",
            hint="fix its permissions, or pass -H/--host to choose the engine explicitly",
        ) from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            hint="fix or move the file away, or pass -H/--host to choose the engine explicitly",
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data


def validate_host(url: str, origin: str) -> str:
    """Check a host URL the way the docker CLI's ParseHost would; return it normalised."""
    url = url.strip()
    m = re.fullmatch(r"([a-z][a-z0-9+.-]*)://(.*)", url)
    if not m:
        raise ConfigError(
            f"{origin} {url!r} is not a Docker host address",
            hint="use unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://[USER@]HOST",
        )
    scheme, rest = m.group(1), m.group(2)
    if scheme not in _SCHEMES:
        supported = ", ".join(f"{s}://" for s in _SCHEMES)
        raise ConfigError(
            f"{origin} {url!r} uses the unsupported scheme {scheme}://",
            hint=f"supported here: {supported}",
        )
    if scheme == "unix":
        if not rest.startswith("/"):
            raise ConfigError(
                f"{origin} {url!r} has no absolute socket path",
                hint="for example unix:///var/run/docker.sock",
            )
        return f"unix://{rest}"
    if scheme == "tcp":
        hm = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^:/\[\]\s]+)(?::(\d{1,5}))?/?", rest)
        if not hm or (hm.group(2) is not None and not 0 < int(hm.group(2)) < 65536):
            raise ConfigError(
                f"{origin} {url!r} is not a valid tcp address",
                hint="for example tcp://192.0.2.10:2376",
            )
        port = hm.group(2) or "2375"
        return f"tcp://{hm.group(1)}:{port}"
    if not re.fullmatch(r"(?:[^@\s/]+@)?[^@\s/:]+(?::\d{1,5})?/?", rest):
        raise ConfigError(
            f"{origin} {url!r} is not a valid ssh address", hint="for example ssh://user@host"
        )
    return url.rstrip("/")


def _context_dir_name(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def list_contexts(env: Mapping[str, str] | None = None) -> list[str]:
    """Names of the contexts in the context store (unreadable entries skipped)."""
    env = os.environ if env is None else env
    meta_root = docker_config_dir(env) / "contexts" / "meta"
    names = []
    for meta in sorted(meta_root.glob("*/meta.json")) if meta_root.is_dir() else []:
        try:
            name = json.loads(meta.read_text()).get("Name")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(name, str):
            names.append(name)
    return names


def _context_endpoint(name: str, env: Mapping[str, str], why: str) -> Endpoint:
    store = docker_config_dir(env) / "contexts"
    digest = _context_dir_name(name)
    meta_path = store / "meta" / digest / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        podman = read_connections(env)
        conn = podman.get(name)
        if conn is not None:
            return _podman_endpoint(conn, f"podman connection \"{name}\" ({why}; no docker "
                                    "context has that name)")
        known = ", ".join(list_contexts(env)) or "none"
        podman_known = ", ".join(sorted(podman.connections))
        also = f"; podman connections: {podman_known}" if podman_known else ""
        raise ConfigError(
            f'context "{name}" does not exist ({why})',
            hint=f"known contexts: {known}{also}; see `docker context ls`",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f'context "{name}": cannot read {meta_path}: {exc}') from None
    try:
        docker_ep = meta["Endpoints"]["docker"]
        host = docker_ep["Host"]
        skip_verify = bool(docker_ep.get("SkipTLSVerify", False))
    except (KeyError, TypeError):
        raise ConfigError(
            f'context "{name}" has no docker endpoint in {meta_path}'
        ) from None
    if not isinstance(host, str):
        raise ConfigError(f'context "{name}" has a non-text docker Host in {meta_path}')
    url = validate_host(host, f'context "{name}" host')
    tls_dir = store / "tls" / digest / "docker"
    tls = None
    if tls_dir.is_dir():
        files = {n: str(tls_dir / f"{n}.pem") for n in ("ca", "cert", "key")}
        present = {n: p for n, p in files.items() if Path(p).is_file()}
        if present:
            if ("cert" in present) != ("key" in present):
                raise ConfigError(
                    f'context "{name}": TLS needs both cert.pem and key.pem in {tls_dir}'
                )
            tls = TLSFiles(
                ca_cert=present.get("ca"),
                client_cert=present.get("cert"),
                client_key=present.get("key"),
                verify=not skip_verify,
            )
    return Endpoint(
        url=url,
        source="context",
        reason=f'context "{name}" ({why})',
        context=name,
        tls=tls,
    )


def _tls_from_env(env: Mapping[str, str]) -> TLSFiles | None:
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    if not verify and not env.get("DOCKER_TLS"):
        return None
    cert_dir = Path(env.get("DOCKER_CERT_PATH") or docker_config_dir(env))
    files = {n: cert_dir / f"{n}.pem" for n in ("ca", "cert", "key")}
    missing = [str(p) for n, p in files.items() if not p.is_file() and (verify or n != "ca")]
    if missing:
        var = "DOCKER_TLS_VERIFY" if verify else "DOCKER_TLS"
        raise ConfigError(
            f"{var} is set but TLS files are missing: {', '.join(missing)}",
            hint="set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem",
        )
    return TLSFiles(
        ca_cert=str(files["ca"]) if files["ca"].is_file() else None,
        client_cert=str(files["cert"]),
        client_key=str(files["key"]),
        verify=verify,
    )


def well_known_sockets(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(kind, path) for the sockets engines usually listen on, most common first."""
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    runtime = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    colima = Path(env.get("COLIMA_HOME") or home / ".colima")
    paths = [
        ("rootful", DEFAULT_SOCKET),
        ("rootless", f"{runtime}/docker.sock"),
        ("desktop", str(home / ".docker/desktop/docker.sock")),
        ("desktop", str(home / ".docker/run/docker.sock")),
        ("colima", str(colima / "default/docker.sock")),
        ("orbstack", str(home / ".orbstack/run/docker.sock")),
        # A user's own (rootless) podman before the system's.
        ("podman-rootless", f"{runtime}/podman/podman.sock"),
        ("podman", "/run/podman/podman.sock"),
    ]
    seen: set[str] = set()
    unique = []
    for kind, path in paths:
        if path not in seen:
            seen.add(path)
            unique.append((kind, path))
    return unique


def podman_socket(path: str) -> bool:
    """Whether a unix socket path is podman's by its name (`podman.sock`, or under a
    `podman` directory as `/run/podman/` and `$XDG_RUNTIME_DIR/podman/` are)."""
    p = Path(path)
    return p.name.startswith("podman") or p.parent.name == "podman"


def rootless_podman_socket(path: str) -> bool:
    """podman's per-user socket, `$XDG_RUNTIME_DIR/podman/podman.sock`."""
    return podman_socket(path) and path.startswith("/run/user/")


def socket_answers(path: str, timeout: float = 0.5) -> bool:
    """True when something accepts a connection on the unix socket (no request is sent)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except OSError:
        return False
    finally:
        s.close()
    return True


def probe_candidates(env: Mapping[str, str]) -> tuple[SocketCandidate, ...]:
    found = []
    for kind, path in well_known_sockets(env):
        try:
            is_sock = stat.S_ISSOCK(os.stat(path).st_mode)
        except OSError:
            is_sock = False
        exists = os.path.lexists(path)
        found.append(SocketCandidate(kind, path, exists, is_sock and socket_answers(path)))
    return tuple(found)


def _implicit_endpoint(env: Mapping[str, str]) -> Endpoint:
    candidates = probe_candidates(env)
    nothing = "no --host, --context, DOCKER_HOST, DOCKER_CONTEXT or currentContext is set"
    for cand in candidates:
        if cand.answers:
            source = "default" if cand.path == DEFAULT_SOCKET else "well-known"
            return Endpoint(
                url=f"unix://{cand.path}",
                source=source,
                reason=f"{nothing}; the {cand.kind} socket {cand.path} answers",
                candidates=candidates,
            )
    for cand in candidates:
        if cand.exists:
            return Endpoint(
                url=f"unix://{cand.path}",
                source="default" if cand.path == DEFAULT_SOCKET else "well-known",
                reason=f"{nothing}; {cand.path} exists (no well-known socket accepted a "
                "connection)",
                candidates=candidates,
            )
    return Endpoint(
        url=DEFAULT_HOST,
        source="default",
        reason=f"{nothing} and no well-known socket exists; using the Docker default",
        candidates=candidates,
    )


def resolve_endpoint(
    host: str | None = None,
    context: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Endpoint:
    """Choose the engine endpoint; raise UsageError/ConfigError for bad input."""
    env = os.environ if env is None else env
    if host and context:
        raise UsageError("conflicting options: cannot specify both --host and --context")
    if context:
        if context == DEFAULT_CONTEXT:
            return _default_context(env, why="--context default")
        return _context_endpoint(context, env, "--context")
    if host:
        url = validate_host(host, "--host")
        return Endpoint(url=url, source="flag", reason=f"--host {url}", tls=_tcp_tls(url, env))
    return _default_context(env, why=None)


def _tcp_tls(url: str, env: Mapping[str, str]) -> TLSFiles | None:
    return _tls_from_env(env) if url.startswith("tcp://") else None


def _default_context(env: Mapping[str, str], why: str | None) -> Endpoint:
    docker_host = env.get("DOCKER_HOST", "").strip()
    if docker_host:
        url = validate_host(docker_host, "DOCKER_HOST")
        shadowed = " (it takes precedence over DOCKER_CONTEXT)" if env.get("DOCKER_CONTEXT") else ""
        return Endpoint(
            url=url, source="env", reason=f"DOCKER_HOST={url}{shadowed}", tls=_tcp_tls(url, env)
        )
    if why is None:
        ctx_env = env.get("DOCKER_CONTEXT", "").strip()
        if ctx_env:
            if ctx_env == DEFAULT_CONTEXT:
                return _implicit_endpoint(env)
            return _context_endpoint(ctx_env, env, "DOCKER_CONTEXT")
        current = read_config_json(env).get("currentContext")
        if isinstance(current, str) and current and current != DEFAULT_CONTEXT:
            cfg = docker_config_dir(env) / "config.json"
            return _context_endpoint(current, env, f"currentContext in {cfg}")
        podman = _podman_choice(env)
        if podman is not None:
            return podman
    return _implicit_endpoint(env)


def _podman_choice(env: Mapping[str, str]) -> Endpoint | None:
    """CONTAINER_HOST, CONTAINER_CONNECTION, then podman's default connection."""
    container_host = env.get("CONTAINER_HOST", "").strip()
    if container_host:
        url = validate_host(container_host, "CONTAINER_HOST")
        return Endpoint(url=url, source="podman-env", reason=f"CONTAINER_HOST={url} (podman's "
                        "DOCKER_HOST; no docker setting chose an engine)")
    podman = read_connections(env)
    named = env.get("CONTAINER_CONNECTION", "").strip()
    if named:
        conn = podman.get(named)
        if conn is None:
            known = ", ".join(sorted(podman.connections)) or "none"
            raise ConfigError(f'CONTAINER_CONNECTION names the podman connection "{named}", '
                              "which does not exist",
                              hint=f"podman connections: {known}; see `podman system "
                                   "connection list`")
        return _podman_endpoint(conn, f'podman connection "{named}" (CONTAINER_CONNECTION)')
    if podman.default:
        conn = podman.get(podman.default)
        if conn is None:
            raise ConfigError(f'podman\'s default connection "{podman.default}" (set in '
                              f"{podman.default_source}) does not exist",
                              hint="see `podman system connection list`, or pass -H/--host")
        return _podman_endpoint(conn, f'podman\'s default connection "{conn.name}" (set in '
                                f"{podman.default_source}; no docker setting chose an engine)")
    return None


def _podman_endpoint(conn: PodmanConnection, reason: str) -> Endpoint:
    uri = conn.uri.strip()
    if uri.startswith("ssh://"):
        # Podman's ssh connections name the remote socket in the URI's path and are served by
        # podman's own ssh tunnel; docker-py's ssh transport runs `docker system dial-stdio`
        # on the remote instead, which a podman host does not have.
        host_part, _, sock = uri[len("ssh://"):].partition("/")
        raise ConfigError(
            f"{reason} is an ssh connection ({uri}), which dhitui cannot use directly",
            hint=f"forward its socket and use that: `ssh -nNT -L /tmp/podman.sock:/{sock} "
                 f"{host_part.split(':')[0]}` then `dhitui -H unix:///tmp/podman.sock`",
        )
    url = validate_host(uri, f'podman connection "{conn.name}" URI')
    return Endpoint(url=url, source="podman-connection", reason=reason, context=conn.name)
