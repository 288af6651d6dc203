"""Shared test plumbing: the real test engines, the dhitui CLI as a subprocess, users.

Engine tests need the engines from `scripts/test-engines up` (its `env` command prints the
variables read here). Without them the engine tests are skipped with a reason, unless
DHITUI_REQUIRE_ENGINES is set (as `scripts/test` and CI do): then a missing engine fails.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dhitui.engine.client import Engine

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
STANDIN_PLUGIN = FIXTURES / "cli-plugins" / "docker-debug"
TEST_LABEL = "dhitui.test"
CLI_TIMEOUT = 90

# The fixture images and the engines are scripts/test-engines' (its package holds their
# names and variables once; the tests read them from there).
sys.path.append(str(REPO / "scripts"))
from test_engines import fixtures as built  # noqa: E402
from test_engines.engines import ENGINES  # noqa: E402

TOOLBOX_IMAGE = built.TOOLBOX_IMAGE
HARDENED_IMAGE = built.HARDENED_IMAGE
DEV_IMAGE = built.DEV_IMAGE
FIPS_IMAGE = built.FIPS_IMAGE
DISTROLESS_IMAGE = built.DISTROLESS_IMAGE
CHAINGUARD_IMAGE = built.CHAINGUARD_IMAGE
STANDARD_IMAGE = built.STANDARD_IMAGE
SCRIPT_IMAGE = built.SCRIPT_IMAGE
# Built from real Debian 12 packages (scripts/test-engines, "fixtures from Debian packages").
PYTHON_IMAGE = built.PYTHON_IMAGE  # no shell, nonroot
PYTHON_DEV_IMAGE = built.PYTHON_DEV_IMAGE  # bash, apt, dpkg; no coreutils
ABSOLUTE_LINKS_TOOLBOX = built.ABSOLUTE_LINKS_TOOLBOX  # busybox --install -s
MIRRORED_DISTROLESS_IMAGE = built.MIRRORED_DISTROLESS_IMAGE

# The engines every engine test runs against (the `engine` fixture).
ENGINE_VARS = {name: ENGINES[name].env_var for name in ("e20", "e28", "podman")}
# Rootless podman: only its own tests (`podman_rootless`), not every engine test.
ROOTLESS_PODMAN_VAR = ENGINES["podman-rootless"].env_var
# Engine 28 with user namespace remapping: only its own tests (`engine28_userns`).
USERNS_VAR = ENGINES["e28-userns"].env_var
OWN_TESTS_ONLY = {"podman-rootless": ROOTLESS_PODMAN_VAR, "e28-userns": USERNS_VAR}


def engines_required() -> bool:
    return bool(os.environ.get("DHITUI_REQUIRE_ENGINES") or os.environ.get("CI"))


def _missing(reason: str) -> None:
    if engines_required():
        pytest.fail(f"test engines required but unavailable: {reason}", pytrace=False)
    pytest.skip(f"no test engines ({reason}); run `sudo scripts/test-engines up` and "
                "`eval \"$(scripts/test-engines env)\"`")


def skip_or_fail(reason: str, *, allow_module_level: bool = False) -> None:
    """Skip a test whose requirements are missing here, but fail it where the whole suite is
    required to run (CI, DHITUI_REQUIRE_ENGINES, as scripts/test sets): a skip there would
    hide a test that never ran."""
    if engines_required():
        pytest.fail(f"required but cannot run: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=allow_module_level)


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        skip_or_fail(f"needs root {why}")


@dataclass(frozen=True)
class EngineUnderTest:
    name: str  # e20 | e28 | podman
    host: str  # unix:///...

    @property
    def socket(self) -> str:
        return self.host[len("unix://"):]

    @property
    def podman(self) -> bool:
        return self.name.startswith("podman")

    @property
    def product(self) -> str:
        """What dhitui should call it (engine.identity.PRODUCT_NAMES)."""
        return "Podman" if self.podman else "Docker Engine"

    @property
    def autoremove_keeps_exit_status(self) -> bool:
        # Debian 12's podman 4.3.1 loses `docker run --rm`'s exit status (fixed in 4.6):
        # dhitui runs sidecars there without --rm and removes them itself.
        return not self.podman

    @property
    def image_mounts(self) -> bool:
        # Docker Engine 28 (API 1.48); Podman since 2.2, although it reports API 1.41.
        return self.name != "e20"


def docker_cli_path() -> str:
    path = os.environ.get("DHITUI_TEST_DOCKER_CLI") or shutil.which("docker")
    if not path:
        _missing("no docker CLI (DHITUI_TEST_DOCKER_CLI unset and none on PATH)")
    assert path
    return path


def docker(engine: EngineUnderTest, *args: str, check: bool = True, timeout: float = CLI_TIMEOUT,
           input: str | bytes | None = None) -> subprocess.CompletedProcess[str]:
    """The real docker CLI against a test engine, bounded by a timeout (Engine 20.10 has been
    seen to wedge under bulk work; a hung call must fail the test, not hang the suite)."""
    raw = subprocess.run([docker_cli_path(), "-H", engine.host, *args], capture_output=True,
                         timeout=timeout,
                         input=input.encode() if isinstance(input, str) else input)
    proc = subprocess.CompletedProcess(raw.args, raw.returncode,
                                       raw.stdout.decode(errors="replace"),
                                       raw.stderr.decode(errors="replace"))
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc


def _ping(host: str) -> bool:
    import socket as s

    sock = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    sock.settimeout(5)
    try:
        sock.connect(host[len("unix://"):])
        sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
        return b"OK" in sock.recv(4096)
    except OSError:
        return False
    finally:
        sock.close()


def _engine(name: str) -> EngineUnderTest:
    var = OWN_TESTS_ONLY.get(name) or ENGINE_VARS[name]
    host = os.environ.get(var)
    if not host:
        _missing(f"{var} is not set")
    assert host
    if not _ping(host):
        _missing(f"{name} at {host} does not answer /_ping")
    return EngineUnderTest(name, host)


SIDECAR_LABEL = "dhitui.sidecar=1"


def sidecars(engine: EngineUnderTest) -> list[str]:
    """The names of the containers with dhitui's sidecar label on `engine`."""
    out = docker(engine, "ps", "-a", "--filter", f"label={SIDECAR_LABEL}", "--format",
                 "{{.Names}}").stdout
    return out.split()


def engines_to_check(names: Sequence[str]) -> list[EngineUnderTest]:
    """The engines among `names` to look at after tests: each that answers. One that does
    not answer fails where the engines are required (CI): a check skipped there would pass
    without looking; elsewhere it is left out, as its tests are skipped."""
    if not (os.environ.get("DHITUI_TEST_DOCKER_CLI") or shutil.which("docker")):
        if engines_required():
            pytest.fail("cannot check for leftover sidecars: no docker CLI", pytrace=False)
        return []  # a skip here, in a session fixture, would skip every test
    answering = []
    for name in names:
        var = OWN_TESTS_ONLY.get(name) or ENGINE_VARS[name]
        host = os.environ.get(var)
        if host and _ping(host):
            answering.append(EngineUnderTest(name, host))
        elif engines_required():
            pytest.fail(f"cannot check {name} for leftover sidecars: "
                        f"{var}={host or ''!r} does not answer /_ping", pytrace=False)
    return answering


@pytest.fixture(scope="session", autouse=True)
def no_sidecar_left_after_the_run() -> Iterator[None]:
    """After the whole run: no container with dhitui's sidecar label on any test engine
    that was not there when it began (scripts/test cleans the engines first; on engines
    shared with other runs, theirs may still appear meanwhile). tests/test_sessions_engine.py
    also checks, and removes them, after each of its tests."""
    engines = engines_to_check([*ENGINE_VARS, *OWN_TESTS_ONLY])
    before = {eng.name: set(sidecars(eng)) for eng in engines}
    yield
    leftovers = {eng.name: names for eng in engines
                 if (names := [n for n in sidecars(eng) if n not in before[eng.name]])}
    assert not leftovers, f"sidecars left behind by this run: {leftovers}"


@pytest.fixture(params=list(ENGINE_VARS))
def engine(request: pytest.FixtureRequest) -> EngineUnderTest:
    """Each engine in turn: Docker Engine 20.10, Docker Engine 28, Podman."""
    return _engine(request.param)


@pytest.fixture(params=["e20", "e28"])
def docker_engine(request: pytest.FixtureRequest) -> EngineUnderTest:
    """Each Docker Engine in turn, for behaviour only Docker Engine has."""
    return _engine(request.param)


@pytest.fixture
def engine20() -> EngineUnderTest:
    return _engine("e20")


@pytest.fixture
def engine28() -> EngineUnderTest:
    return _engine("e28")


@pytest.fixture
def api(engine: EngineUnderTest) -> Iterator[Engine]:
    """dhitui's own Engine client, connected to each engine in turn."""
    from dhitui.engine.client import connect
    from dhitui.engine.endpoint import resolve_endpoint

    e = connect(resolve_endpoint(host=engine.host))
    yield e
    e.close()


@pytest.fixture
def podman_engine() -> EngineUnderTest:
    return _engine("podman")


@pytest.fixture
def engine28_userns() -> EngineUnderTest:
    """Engine 28 with `--userns-remap=default` (scripts/test-engines)."""
    return _engine("e28-userns")


@pytest.fixture
def podman_rootless() -> EngineUnderTest:
    """Podman run by the unprivileged test user (scripts/test-engines)."""
    return _engine("podman-rootless")


def cli_env(extra: Mapping[str, str] | None = None, *, drop: Sequence[str] = ()) -> dict[str, str]:
    """Environment for running dhitui: the test docker CLI first on PATH, the repo importable,
    and none of the caller's engine selection leaking in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY",
                        "DOCKER_CERT_PATH", "DOCKER_TLS", *drop)}
    cli = os.environ.get("DHITUI_TEST_DOCKER_CLI")
    if cli:
        env["PATH"] = f"{Path(cli).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PYTHONPATH"] = str(REPO)
    env.setdefault("COLUMNS", "160")
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int

    def setpriv(self, groups: Sequence[int] = ()) -> list[str]:
        """argv prefix that runs a command as this user (optionally with extra groups)."""
        group_opt = ["--groups", ",".join(map(str, groups))] if groups else ["--clear-groups"]
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", *group_opt,
                "--reset-env"]


def run_dhitui(*args: str, env: Mapping[str, str] | None = None, user: User | None = None,
               groups: Sequence[int] = (), timeout: float = CLI_TIMEOUT,
               input: str | None = None, cwd: str | None = None
               ) -> subprocess.CompletedProcess[str]:
    """Run the dhitui CLI from this checkout as a subprocess (optionally as another user)."""
    run_env = cli_env() if env is None else dict(env)
    argv = [sys.executable, "-m", "dhitui", *args]
    if user is not None:
        # setpriv --reset-env clears the environment: carry ours over explicitly.
        run_env.update(HOME=f"/tmp/dhitui-home-{user.uid}", USER=user.name, LOGNAME=user.name)
        Path(run_env["HOME"]).mkdir(exist_ok=True)
        os.chown(run_env["HOME"], user.uid, user.gid)
        argv = [*user.setpriv(groups), "env", *(f"{k}={v}" for k, v in run_env.items()), *argv]
    return subprocess.run(argv, capture_output=True, text=True, env=run_env, timeout=timeout,
                          input=input, cwd=cwd)


def run_json(*args: str, **kwargs: object) -> tuple[int, object]:
    proc = run_dhitui(*args, **kwargs)  # type: ignore[arg-type]
    try:
        return proc.returncode, json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"not JSON ({exc}):\nstdout={proc.stdout!r}\nstderr={proc.stderr!r}"
                             ) from None


@pytest.fixture(scope="session")
def unprivileged_user() -> User:
    """A real unprivileged account (created once, needs root)."""
    require_root("to create a test user")
    name = "dhitui-tester"
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        name], check=True, timeout=30)
        pw = pwd.getpwnam(name)
    user = User(name, pw.pw_uid, pw.pw_gid)
    probe = subprocess.run([*user.setpriv(), sys.executable, "-c", "import dhitui"],
                           capture_output=True, text=True, timeout=30, env=cli_env())
    if probe.returncode != 0:
        pytest.fail(f"{name} cannot run {sys.executable} ({probe.stderr.strip()}); run the tests "
                    "with a Python every user can execute, as scripts/test does (Debian's "
                    "/usr/bin/python3 in a venv outside /root)", pytrace=False)
    return user


def group_gid(name: str) -> int:
    return grp.getgrnam(name).gr_gid


@pytest.fixture
def containers() -> Iterator[Callable[..., str]]:
    """Factory: start a labelled fixture container (`--network none`), removed afterwards.

    containers(engine, image, *run_args, name=None, command=(), start=True) -> container id
    """
    made: list[tuple[EngineUnderTest, str]] = []

    def make(engine: EngineUnderTest, image: str, *run_args: str, name: str | None = None,
             command: Sequence[str] = (), start: bool = True) -> str:
        name = name or f"dhitui-test-{uuid.uuid4().hex[:10]}"
        verb = ["run", "-d"] if start else ["create"]
        proc = docker(engine, *verb, "--network", "none", "--label", TEST_LABEL + "=1",
                      "--name", name, *run_args, image, *command)
        cid = proc.stdout.strip().splitlines()[-1]
        made.append((engine, cid))
        return cid

    yield make
    for eng, cid in reversed(made):
        docker(eng, "rm", "-f", cid, check=False)


@pytest.fixture
def standin_plugin_config(tmp_path: Path) -> Path:
    """A DOCKER_CONFIG directory with the stand-in `docker-debug` plugin installed."""
    cfg = tmp_path / "docker-config"
    (cfg / "cli-plugins").mkdir(parents=True)
    target = cfg / "cli-plugins" / "docker-debug"
    shutil.copy2(STANDIN_PLUGIN, target)
    target.chmod(0o755)
    return cfg


@dataclass(frozen=True)
class HardLink:
    """A hard link to another entry of the root filesystem (a path without leading /)."""

    target: str


def import_rootfs(engine: EngineUnderTest, entries: Mapping[str, str | bytes | HardLink | None],
                  *changes: str, prefix: str = "dhitui-test/rootfs",
                  modes: Mapping[str, int] | None = None) -> str:
    """`docker import` a tiny root filesystem built here: bytes are files (0755 unless
    `modes` says otherwise), str are symlinks (the link's text), HardLink hard links, None
    directories. Returns the new image's tag (remove it after)."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, value in entries.items():
            ti = tarfile.TarInfo(name)
            if value is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(ti)
            elif isinstance(value, str):
                ti.type, ti.linkname = tarfile.SYMTYPE, value
                tar.addfile(ti)
            elif isinstance(value, HardLink):
                # The same inode: the same mode (an extractor may apply the link's mode to it).
                ti.type, ti.linkname = tarfile.LNKTYPE, value.target
                ti.mode = (modes or {}).get(value.target, 0o755)
                tar.addfile(ti)
            else:
                ti.size, ti.mode = len(value), (modes or {}).get(name, 0o755)
                tar.addfile(ti, io.BytesIO(value))
    tag = f"{prefix}-{uuid.uuid4().hex[:8]}:1"
    args: list[str] = []
    for change in changes:
        args += ["-c", change]
    docker(engine, "import", *args, "-", tag, input=buf.getvalue())
    return tag


def command_shown(stderr: str) -> list[str]:
    """The docker command dhitui said it runs before a session: `dhitui: running: ...`
    through the CLI, `dhitui: over the Engine API, as: ...` over the API (the equivalent)."""
    import shlex

    for line in stderr.splitlines():
        for prefix in ("dhitui: running: ", "dhitui: over the Engine API, as: "):
            if line.startswith(prefix):
                return shlex.split(line[len(prefix):])
    raise AssertionError(f"no command line shown:\n{stderr}")


@dataclass(frozen=True)
class DockerShim:
    """A `docker` first on PATH that records each call (argv and the DOCKER* variables it
    was started with), then runs the real test CLI."""

    bin_dir: Path
    log: Path

    @property
    def path(self) -> Path:
        return self.bin_dir / "docker"

    def calls(self) -> list[dict[str, list[str]]]:
        """The calls since the last `forget()`, but the CLI's `--version` (a plan's probe)."""
        if not self.log.exists():
            return []
        calls = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [c for c in calls if c["argv"][1:2] != ["--version"]]

    def forget(self) -> None:
        self.log.unlink(missing_ok=True)


def docker_shim(tmp_path: Path) -> DockerShim:
    shim = DockerShim(tmp_path / "shim-bin", tmp_path / "shim-calls.jsonl")
    shim.bin_dir.mkdir()
    cli = docker_cli_path()
    shim.path.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(shim.log)!r}, 'a') as f:\n"
        "    f.write(json.dumps({'argv': sys.argv, 'env': sorted(k for k in os.environ\n"
        "                        if k.startswith('DOCKER'))}) + '\\n')\n"
        f"os.execv({cli!r}, [{cli!r}, *sys.argv[1:]])\n")
    shim.path.chmod(0o755)
    return shim

