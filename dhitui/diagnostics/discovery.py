"""Other Docker Engines on this machine, for "the configured one fails, but this one answers".

Three places are searched, none of them by guessing hosts:
  * the well-known sockets (rootful, rootless, Desktop, Colima, OrbStack, Podman);
  * `/proc/net/unix`: every unix socket someone is listening on in this network namespace,
    narrowed to names engines use (`docker.sock`, `podman.sock`, ...);
  * the process table (/proc, or psutil where there is none): `dockerd` and `podman system
    service` with their `-H/--host` arguments, which also finds engines on non-standard
    paths and TCP ports.
Each candidate is then asked `GET /_ping` with a short timeout; only a real Docker API
answer (`OK`) counts as "answers". Failures are classified by errno like the main endpoint.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from dhitui.engine.endpoint import DEFAULT_SOCKET, well_known_sockets

PING_TIMEOUT = 1.0
_LISTENING = 0x00010000  # __SO_ACCEPTCON in /proc/net/unix's Flags column
_ENGINE_PROCESSES = ("dockerd", "podman")


@dataclass(frozen=True)
class FoundEngine:
    """An engine address seen on this machine and whether it answers the Docker API."""

    url: str  # unix:///path or tcp://host:port
    found_by: tuple[str, ...]
    answers: bool = False
    error: str | None = None  # failure kind when it does not answer (see engine.client)
    pids: tuple[int, ...] = field(default=(), compare=False)

    @property
    def socket_path(self) -> str | None:
        return self.url[len("unix://"):] if self.url.startswith("unix://") else None

    def to_json(self) -> dict[str, object]:
        return {"url": self.url, "found_by": list(self.found_by), "answers": self.answers,
                "error": self.error}


def listening_unix_sockets(proc: Path = Path("/proc")) -> list[str]:
    """Paths of listening unix sockets from `/proc/net/unix` (abstract ones skipped)."""
    try:
        lines = (proc / "net/unix").read_text(errors="replace").splitlines()[1:]
    except OSError:
        return []
    out = []
    for line in lines:
        parts = line.split(None, 7)
        if len(parts) < 8 or not parts[7].startswith("/"):
            continue
        try:
            flags = int(parts[3], 16)
        except ValueError:
            continue
        if flags & _LISTENING:
            out.append(parts[7])
    return out


def looks_like_engine_socket(path: str) -> bool:
    """docker.sock, podman.sock, docker-<x>.sock and the like; never containerd's or the
    engine's internal sockets (metrics, libnetwork, plugins)."""
    name = path.rsplit("/", 1)[-1]
    if "containerd" in path or not name.endswith(".sock"):
        return False
    return name.startswith(("docker", "podman")) and "/exec/" not in path \
        and "/plugins/" not in path


def host_args(argv: Sequence[str]) -> list[str]:
    """The values of `-H`/`--host` in a dockerd (or podman service) command line."""
    out = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-H", "--host") and i + 1 < len(argv):
            out.append(argv[i + 1])
            i += 2
            continue
        for prefix in ("--host=", "-H="):
            if arg.startswith(prefix):
                out.append(arg[len(prefix):])
        i += 1
    return out


def _normalise(host: str) -> str | None:
    if host.startswith("unix://"):
        return host if host.startswith("unix:///") else None
    if host.startswith("fd://"):
        # systemd socket activation: the socket unit's path, the rootful default.
        return f"unix://{DEFAULT_SOCKET}"
    if host.startswith("tcp://"):
        rest = host[len("tcp://"):].rstrip("/")
        hostpart, _, port = rest.rpartition(":")
        if not hostpart:
            hostpart, port = rest, "2375"
        if hostpart in ("", "0.0.0.0", "[::]", "::"):  # noqa: S104 (reading, not binding)
            hostpart = "127.0.0.1"
        return f"tcp://{hostpart}:{port}"
    if host.startswith("/"):
        return f"unix://{host}"
    return None


def engine_processes(proc: Path = Path("/proc")) -> list[tuple[int, str, list[str]]]:
    """(pid, name, hosts) of engine daemons visible in the process table."""
    found = []
    for pid, name, cmd in _processes(proc):
        if name not in _ENGINE_PROCESSES and not (cmd and cmd[0].endswith("/dockerd")):
            continue
        if name == "podman" and "service" not in cmd:
            continue
        hosts = host_args(cmd)
        if name == "podman":
            # `podman system service [flags] [URI]`: the address is positional.
            hosts += [a for a in cmd[cmd.index("service") + 1:] if "://" in a]
        if not hosts:
            # dockerd's default; rootless dockerd defaults to $XDG_RUNTIME_DIR/docker.sock,
            # which the well-known list already covers.
            hosts = [f"unix://{DEFAULT_SOCKET}"] if name == "dockerd" else []
        found.append((pid, name, hosts))
    return found


def _processes(proc: Path) -> list[tuple[int, str, list[str]]]:
    """(pid, name, cmdline) of the processes that may be engines.

    A host running 2,000 containers has a shim and the container's own processes for each
    (~3,500 processes in bench/). psutil's `process_iter` reads every command line and
    keeps a Process object for each in a module cache: ~1.1 KB and ~0.15 ms a process (~4 MB
    kept and ~0.5 s there; in the TUI ~6 MB of peak RSS). Reading /proc directly costs one
    small `comm` read a process and keeps nothing; the command line is read only for names
    that can be engines. psutil stays the way where there is no /proc (macOS).
    """
    if not (proc / "self").exists():
        import psutil

        out = []
        for p in psutil.process_iter(["pid", "name", "cmdline"]):
            out.append((int(p.info["pid"]), p.info.get("name") or "", p.info.get("cmdline") or []))
        clear = getattr(psutil.process_iter, "cache_clear", None)
        if clear is not None:
            clear()
        return out
    out = []
    with os.scandir(proc) as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(os.path.join(entry.path, "comm"), "rb") as f:
                    name = f.read().decode(errors="replace").strip()
                # comm is cut at 15 bytes; engine names are shorter. A dockerd started under
                # another name (a wrapper, a renamed binary) still says so in argv[0].
                if name not in _ENGINE_PROCESSES and not name.startswith("docker"):
                    continue
                with open(os.path.join(entry.path, "cmdline"), "rb") as f:
                    raw = f.read()
            except OSError:
                continue  # exited meanwhile, or not ours to read
            cmd = [a.decode(errors="replace") for a in raw.split(b"\0")[:-1]] if raw else []
            out.append((int(entry.name), name, cmd))
    return out


def api_ping(url: str, timeout: float = PING_TIMEOUT) -> tuple[bool, str | None]:
    """`GET /_ping` over a raw socket: (answers, failure kind)."""
    if url.startswith("unix://"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address: str | tuple[str, int] = url[len("unix://"):]
    else:
        hostpart, _, port = url[len("tcp://"):].rpartition(":")
        sock = socket.socket(socket.AF_INET6 if hostpart.startswith("[") else socket.AF_INET,
                             socket.SOCK_STREAM)
        address = (hostpart.strip("[]"), int(port))
    sock.settimeout(timeout)
    try:
        sock.connect(address)
        sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        data = b""
        while len(data) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        return False, "timeout"
    except OSError as exc:
        return False, {
            errno.EACCES: "permission-denied",
            errno.EPERM: "permission-denied",
            errno.ENOENT: "missing",
            errno.ECONNREFUSED: "refused",
            errno.ENOTSOCK: "not-a-socket",
        }.get(exc.errno or 0, "unreachable")
    finally:
        sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if head.startswith(b"HTTP/") and b" 200 " in head.split(b"\r\n", 1)[0] + b" " \
            and body.strip() == b"OK":
        return True, None
    return False, "api-error"


def discover_engines(env: Mapping[str, str], *, exclude: str | None = None,
                     proc: Path = Path("/proc"), use_processes: bool = True,
                     timeout: float = PING_TIMEOUT) -> list[FoundEngine]:
    """Engine addresses on this machine other than `exclude`, each pinged once (in parallel).
    Answering ones come first, in the order found."""
    seen: dict[str, list[str]] = {}
    pids: dict[str, list[int]] = {}

    def add(url: str | None, how: str, pid: int | None = None) -> None:
        if url is None or url == exclude:
            return
        seen.setdefault(url, [])
        if how not in seen[url]:
            seen[url].append(how)
        if pid is not None:
            pids.setdefault(url, []).append(pid)

    for kind, path in well_known_sockets(env):
        if Path(path).exists():
            add(f"unix://{path}", f"well-known {kind} socket")
    for path in sorted(listening_unix_sockets(proc)):
        if looks_like_engine_socket(path):
            add(f"unix://{path}", "listening in /proc/net/unix")
    if use_processes:
        try:
            procs = engine_processes(proc)
        except Exception:  # the process table changes under us; never fatal
            procs = []
        for pid, name, hosts in procs:
            for h in hosts:
                add(_normalise(h), f"{name} (pid {pid}) --host", pid)
    urls = list(seen)
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(urls)),
                            thread_name_prefix="dhitui-discover") as pool:
        results = list(pool.map(lambda u: api_ping(u, timeout), urls))
    found = [FoundEngine(url=u, found_by=tuple(seen[u]), answers=ok, error=err,
                         pids=tuple(pids.get(u, ())))
             for u, (ok, err) in zip(urls, results, strict=True)]
    return sorted(found, key=lambda f: not f.answers)
