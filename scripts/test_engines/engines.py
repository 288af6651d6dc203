"""The test engines: their kinds, starting, stopping and recognising their servers.

Why one module of this size: each engine kind (`DockerEngine`, `UsernsDockerEngine`,
`PodmanEngine`, `RootlessPodmanEngine`) is a class whose methods start, stop and recognise
its own server, and they override one another; reading one needs the others beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import PING_DEADLINE, SID_ROOT, STATE, die, log, run
from .installs import ensure_packages, ensure_sid_binaries

# --------------------------------------------------------------------------- engines


@dataclass(frozen=True)
class Engine:
    """One test engine: its own state directory, socket and server process. The kinds below
    say how their server is started and recognised; everything else is shared."""

    name: str
    env_var: str  # the variable the tests read this engine's host from

    kind = "engine"

    @property
    def root(self) -> Path:
        return STATE / self.name

    @property
    def sock(self) -> Path:
        return self.root / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.sock}"

    @property
    def pidfile(self) -> Path:
        return self.root / "server.pid"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    def owns(self, cmdline: list[bytes]) -> bool:
        """Whether a process command line is this engine's server."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Install what this kind needs (as root)."""

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the server process (not waiting for it to answer)."""
        raise NotImplementedError

    def fixtures(self) -> None:
        """Make the fixture images present on this engine (the same on every kind: they are
        imported through the engine's Docker-compatible API)."""
        from .fixtures import build_deb_fixtures, build_fixtures

        build_fixtures(self)
        build_deb_fixtures(self)


@dataclass(frozen=True)
class DockerEngine(Engine):
    """dockerd with its own data root, exec root and pidfile, no networking of its own."""

    major: str = "28"
    kind = "docker"
    extra_args: tuple[str, ...] = ()
    tls_port: int | None = None  # also listen on tcp://127.0.0.1:PORT with --tlsverify

    @property
    def tls_host(self) -> str | None:
        return f"tcp://127.0.0.1:{self.tls_port}" if self.tls_port else None

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def pidfile(self) -> Path:
        return self.root / "docker.pid"

    @property
    def logfile(self) -> Path:
        return self.root / "dockerd.log"

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def exec_root(self) -> Path:
        return self.root / "exec"

    def path_env(self) -> str:
        base = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        if self.major == "28":
            return f"{SID_ROOT}/usr/bin:{SID_ROOT}/usr/sbin:{base}"
        return base

    def dockerd(self) -> str:
        return str(SID_ROOT / "usr/sbin/dockerd") if self.major == "28" else "/usr/sbin/dockerd"

    def owns(self, cmdline: list[bytes]) -> bool:
        return bool(cmdline) and cmdline[0].endswith(b"dockerd") and \
            str(self.data_root).encode() in cmdline

    def prepare(self) -> None:
        if self.major == "28":
            ensure_sid_binaries()

    def launch(self) -> subprocess.Popen[bytes]:
        for d in (self.root, self.data_root, self.exec_root):
            d.mkdir(parents=True, exist_ok=True)
        argv = [
            self.dockerd(),
            "--host", self.host,
            "--data-root", str(self.data_root),
            "--exec-root", str(self.exec_root),
            "--pidfile", str(self.pidfile),
            "--bridge=none", "--iptables=false", "--ip-forward=false",
            "--ip-masq=false", "--userland-proxy=false", *self.extra_args,
        ]
        if self.tls_host:
            from .tls import ensure_certs

            certs = ensure_certs(self.tls_dir)
            argv += ["--host", self.tls_host, "--tlsverify",
                     "--tlscacert", str(certs / "ca.pem"),
                     "--tlscert", str(certs / "server-cert.pem"),
                     "--tlskey", str(certs / "server-key.pem")]
        env = dict(os.environ, PATH=self.path_env())
        log(f"{self.name}: starting {' '.join(argv)}")
        # From "/": a server outlives the checkout that started it, and its children (conmon)
        # fail in a deleted working directory.
        with open(self.logfile, "ab") as out:
            return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    cwd="/")


# In this sandbox podman's default RLIMIT_NPROC for containers is refused ("error setting
# rlimit type 6: operation not permitted"): no default ulimits. No systemd here: cgroupfs and
# a file for events (the events API reads it), rotated small (the default is 1 MB) so that
# following streams meet rotation's replay often, as long-lived hosts do. Everything else
# lives under the engine's root.
# No init binary (catatonit, podman's --init): a Debian host that has docker.io has tini,
# which satisfies podman's Recommends, so apt installs no catatonit and `--init` fails with
# "container-init binary not found on the host". These engines are that host (dhitui must
# not need an init; tests/test_sessions_identity.py checks the engine really has none).

PODMAN_CONF = """\
[containers]
default_ulimits = []
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{root}/events/events.log"
events_logfile_max_size = "128k"
tmp_dir = "{root}/tmp"

[network]
network_config_dir = "{root}/cni"
"""


@dataclass(frozen=True)
class PodmanEngine(Engine):
    """Debian's podman (rootful), serving the Docker-compatible API with `podman system
    service` on its own socket, with its own storage (--root/--runroot) and containers.conf.
    Its containers outlive the service (conmon holds them), so the service can be restarted
    on its own (`restart-service`)."""

    kind = "podman"

    @property
    def sock(self) -> Path:
        return self.root / "podman.sock"

    @property
    def storage_root(self) -> Path:
        return self.root / "storage"

    @property
    def run_root(self) -> Path:
        return self.root / "run"

    @property
    def conf(self) -> Path:
        return self.root / "containers.conf"

    def podman(self, *args: str) -> list[str]:
        return ["podman", "--root", str(self.storage_root), "--runroot", str(self.run_root),
                *args]

    def env(self) -> dict[str, str]:
        return dict(os.environ, CONTAINERS_CONF=str(self.conf))

    def owns(self, cmdline: list[bytes]) -> bool:
        return bool(cmdline) and cmdline[0].endswith(b"podman") and \
            b"service" in cmdline and str(self.sock).encode() in b" ".join(cmdline)

    def prepare(self) -> None:
        ensure_packages({"/usr/bin/podman": "podman"})

    def launch(self) -> subprocess.Popen[bytes]:
        for d in (self.root, self.storage_root, self.run_root, self.root / "events",
                  self.root / "tmp", self.root / "cni"):
            d.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(PODMAN_CONF.format(root=self.root))
        argv = self.podman("system", "service", "--time=0", self.host)
        log(f"{self.name}: starting CONTAINERS_CONF={self.conf} {' '.join(argv)}")
        with open(self.logfile, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env(),
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    cwd="/")
        self.pidfile.write_text(f"{proc.pid}\n")
        return proc


# The unprivileged account rootless podman runs as (the tests' unprivileged user too).
TEST_USER = "dhitui-tester"
# Its subordinate IDs: the fixtures own files as 65532, so the range covers 0..65535.
SUBID_RANGE = "200000-265535"


@dataclass(frozen=True)
class RootlessPodmanEngine(PodmanEngine):
    """Debian's podman run by an unprivileged user (rootless: a user namespace mapped
    through /etc/subuid with newuidmap, no root anywhere), its own storage and socket under
    the state directory, owned by that user."""

    kind = "podman"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def runtime_dir(self) -> Path:
        return self.root / "xdg-run"

    def user(self) -> tuple[int, int]:
        import pwd

        pw = pwd.getpwnam(TEST_USER)
        return pw.pw_uid, pw.pw_gid

    def env(self) -> dict[str, str]:
        return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME": str(self.home), "XDG_RUNTIME_DIR": str(self.runtime_dir),
                "CONTAINERS_CONF": str(self.conf), "USER": TEST_USER, "LOGNAME": TEST_USER}

    def prepare(self) -> None:
        ensure_packages({"/usr/bin/podman": "podman", "/usr/bin/newuidmap": "uidmap"})
        try:
            self.user()
        except KeyError:
            run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                 TEST_USER])
        for path, opt in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
            text = Path(path).read_text() if Path(path).exists() else ""
            if not re.search(rf"^{re.escape(TEST_USER)}:", text, re.M):
                run(["usermod", opt, SUBID_RANGE, TEST_USER])

    def launch(self) -> subprocess.Popen[bytes]:
        uid, gid = self.user()
        for d in (self.root, self.storage_root, self.run_root, self.root / "events",
                  self.root / "tmp", self.root / "cni", self.home, self.runtime_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(PODMAN_CONF.format(root=self.root))
        for d in (self.root, *self.root.rglob("*")):
            # The user's own tree (not following links into storage it made itself).
            if not d.is_symlink():
                os.chown(d, uid, gid)
        self.runtime_dir.chmod(0o700)
        argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups",
                *self.podman("system", "service", "--time=0", self.host)]
        log(f"{self.name}: starting as {TEST_USER}: {' '.join(argv)}")
        with open(self.logfile, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env(),
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    cwd=self.home)
        self.pidfile.write_text(f"{proc.pid}\n")
        return proc

    def pause_pid(self) -> int | None:
        """Rootless podman keeps its user namespace alive with a pause process (its pidfile
        is in the engine's tmp_dir, set in containers.conf)."""
        try:
            return int((self.root / "tmp" / "pause.pid").read_text().strip())
        except (OSError, ValueError):
            return None


@dataclass(frozen=True)
class UsernsDockerEngine(DockerEngine):
    """dockerd with user namespace remapping (`--userns-remap=default`: dockerd adds the
    `dockremap` user and its /etc/subuid and /etc/subgid ranges itself), as hosts that harden
    their engine run it. Containers' root is an unprivileged uid on the host; a container
    run with `--userns host` is not remapped, and whatever joins its namespaces must not be
    either. Only the synthetic fixtures: its own image store would otherwise rebuild the
    Debian-package ones too, for tests that need none of them."""

    extra_args: tuple[str, ...] = ("--userns-remap=default",)

    def fixtures(self) -> None:
        from .fixtures import build_fixtures

        build_fixtures(self)


ENGINES: dict[str, Engine] = {
    "e20": DockerEngine("e20", "DHITUI_TEST_ENGINE_20", major="20"),
    "e28": DockerEngine("e28", "DHITUI_TEST_ENGINE_28", major="28", tls_port=23761),
    "e28-userns": UsernsDockerEngine("e28-userns", "DHITUI_TEST_ENGINE_28_USERNS", major="28"),
    "podman": PodmanEngine("podman", "DHITUI_TEST_ENGINE_PODMAN"),
    "podman-rootless": RootlessPodmanEngine("podman-rootless",
                                            "DHITUI_TEST_ENGINE_PODMAN_ROOTLESS"),
}


def docker_cli() -> str:
    """The docker CLI the tests and fixtures use: 28.x, which talks to all engines."""
    return str(SID_ROOT / "usr/bin/docker")


def http_get(sock: Path, path: str, timeout: float = 3.0) -> tuple[int, bytes]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(sock))
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    finally:
        s.close()
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


def ping(engine: Engine) -> bool:
    try:
        status, body = http_get(engine.sock, "/_ping")
    except (OSError, ValueError, IndexError):
        return False
    return status == 200 and body.strip() == b"OK"


def engine_version(engine: Engine) -> dict[str, str]:
    # Podman answers /version from its runtime's info: seconds on a loaded machine.
    status, body = http_get(engine.sock, "/version", timeout=60.0)
    if status != 200:
        die(f"{engine.name}: /version answered {status}")
    data = json.loads(body)
    product = "Docker Engine"
    for comp in data.get("Components") or []:
        if "podman" in str(comp.get("Name", "")).lower():
            product = "Podman"
    return {"product": product, "version": data["Version"], "api_version": data["ApiVersion"]}


def our_pid(engine: Engine) -> int | None:
    """The server pid from our pidfile, if that process is alive and really ours."""
    try:
        pid = int(engine.pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if engine.owns(cmdline) and not is_zombie(pid):
        return pid
    return None


def start_engine(engine: Engine) -> None:
    """Start the engine unless it already answers."""
    if ping(engine):
        log(f"{engine.name}: already answering on {engine.sock}")
        return
    proc: subprocess.Popen[bytes] | None = None
    if our_pid(engine) is None:
        # A server killed earlier (e.g. with the session that started it) can leave its
        # mounts and state files behind; nothing uses them now. (A podman service's
        # containers are kept: they outlive the service.)
        if engine.kind != "podman":
            unmount_under(engine.root)
        for stale in (engine.sock, engine.pidfile):
            stale.unlink(missing_ok=True)
        engine.root.mkdir(parents=True, exist_ok=True)
        proc = engine.launch()
    deadline = time.monotonic() + PING_DEADLINE
    while time.monotonic() < deadline:
        if ping(engine):
            info = engine_version(engine)
            log(f"{engine.name}: {info['product']} {info['version']} "
                f"(API {info['api_version']}) up on {engine.sock}")
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.2)
    show_log(engine)
    die(f"{engine.name}: the {engine.kind} server did not answer /_ping within "
        f"{PING_DEADLINE:.0f}s")


def stop_service(engine: Engine) -> None:
    """Stop only the engine's server process (for podman its containers keep running)."""
    pid = our_pid(engine)
    if pid is not None:
        log(f"{engine.name}: stopping {engine.kind} server {pid}")
        os.kill(pid, signal.SIGTERM)
        if wait_gone([pid], time.monotonic() + 30):
            log(f"{engine.name}: server ignored SIGTERM, killing")
            os.kill(pid, signal.SIGKILL)
            wait_gone([pid], time.monotonic() + 10)
    engine.sock.unlink(missing_ok=True)
    engine.pidfile.unlink(missing_ok=True)


def show_log(engine: Engine, lines: int = 60) -> None:
    try:
        text = engine.logfile.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        text = ["(no log)"]
    log(f"{engine.name}: last lines of {engine.logfile}:")
    for line in text:
        print(f"    {line}", file=sys.stderr)


def processes_under(path: Path) -> list[int]:
    """Pids whose command line mentions path (dockerd, its containerd and shims)."""
    needle = str(path).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return [p for p in found if p != os.getpid()]


def wait_gone(pids: list[int], deadline: float) -> list[int]:
    while time.monotonic() < deadline:
        pids = [p for p in pids if Path(f"/proc/{p}").exists() and not is_zombie(p)]
        if not pids:
            return []
        time.sleep(0.1)
    return pids


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def stop_engine(engine: Engine, purge: bool) -> None:
    stop_service(engine)
    if isinstance(engine, RootlessPodmanEngine):
        pause = engine.pause_pid()
        if pause is not None and Path(f"/proc/{pause}").exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pause, signal.SIGKILL)
    # Whatever still runs from our roots (a containerd or shim left by a crash; podman's
    # conmon and containers) goes too.
    leftovers = processes_under(engine.root)
    for p in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    wait_gone(leftovers, time.monotonic() + 10)
    unmount_under(engine.root)
    if purge and engine.root.exists():
        shutil.rmtree(engine.root, ignore_errors=True)
        log(f"{engine.name}: removed {engine.root}")


def unmount_under(path: Path) -> None:
    prefix = str(path) + "/"
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split()[4].replace("\\040", " ")
            if target.startswith(prefix):
                mounts.append(target)
    for target in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, timeout=30)
