"""The fixture images, built on every engine from local files (nothing is pulled): synthetic
ones, and ones made of real Debian 12 packages; and removing what test runs left behind."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import CACHE, CLI_TIMEOUT, FIXTURE_LABEL, HERE, die, log, run
from .engines import Engine, docker_cli

# --------------------------------------------------------------------------- fixtures

DHI_LABELS = {
    "com.docker.dhi.name": "fixture-app",
    "com.docker.dhi.distro": "debian-12",
    "com.docker.dhi.date.end-of-life": "2030-12-31",
    "org.opencontainers.image.vendor": "dhitui test fixtures",
}

PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
GROUP = "root:x:0:\nnonroot:x:65532:\n"
PACKAGE_MANAGER_STUBS = ("usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg")


@dataclass(frozen=True)
class Fixture:
    tags: tuple[str, ...]
    busybox: bool            # /bin populated with busybox applets (hard links)
    app: bool                # /app/app present
    package_manager: bool    # stub apt/dpkg in /usr/bin
    user: str | None
    entrypoint: list[str] | None
    cmd: list[str] | None
    labels: dict[str, str]
    script: bool = False     # /app/start.sh, a `#!/bin/sh` script (no /bin/sh unless busybox)


# The fixture images' names (tests/conftest.py imports them: one place for them).
TOOLBOX_IMAGE = "busybox:latest"  # the default toolbox (busybox applets as hard links)
TOOLBOX_ALIAS = "dhitui-fixture/toolbox:latest"
HARDENED_IMAGE = "dhi.io/fixture-app:1.0"  # DHI-labelled, no shell, user 65532
DEV_IMAGE = "dhi.io/fixture-app:1.0-dev"  # its -dev variant: a shell and a package manager, root
FIPS_IMAGE = "dhi.io/fixture-app:1.0-fips"  # the FIPS variant
DISTROLESS_IMAGE = "gcr.io/distroless/static-debian12:nonroot"
CHAINGUARD_IMAGE = "cgr.dev/chainguard/static:latest"
STANDARD_IMAGE = "example.org/fixture/standard:1.0"  # an ordinary image with a shell
SCRIPT_IMAGE = "dhi.io/fixture-script:1.0"  # an entrypoint script whose /bin/sh the image lacks
PYTHON_IMAGE = "dhitui-fixture/python-debian12:3.11"  # real Debian 12 packages: no shell, nonroot
PYTHON_DEV_IMAGE = "dhitui-fixture/python-debian12:3.11-dev"  # bash, apt, dpkg; no coreutils
ABSOLUTE_LINKS_TOOLBOX = "dhitui-fixture/toolbox-absolute-links:latest"  # busybox --install -s
MIRRORED_DISTROLESS_IMAGE = "mirror.example/distroless-style/base-debian12:nonroot"

# An entrypoint script: in an image without /bin/sh it cannot start (the classic
# hardened-image crash; the engine reports exit code 127).
START_SCRIPT = b"#!/bin/sh\nexec /app/app \"$@\"\n"

FIXTURES = [
    Fixture((TOOLBOX_IMAGE, TOOLBOX_ALIAS), busybox=True, app=False,
            package_manager=False, user=None, entrypoint=None, cmd=["sh"], labels={}),
    Fixture((HARDENED_IMAGE,), busybox=False, app=True, package_manager=False,
            user="65532", entrypoint=["/app/app"], cmd=["--serve"],
            labels={**DHI_LABELS, "com.docker.dhi.variant": "runtime", "com.docker.dhi.shell": "",
                    "com.docker.dhi.package-manager": "", "com.docker.dhi.compliance": "cis"}),
    Fixture((DEV_IMAGE,), busybox=True, app=True, package_manager=True,
            user="0", entrypoint=["/app/app"], cmd=["--serve"],
            labels={**DHI_LABELS, "com.docker.dhi.variant": "dev", "com.docker.dhi.shell": "sh",
                    "com.docker.dhi.package-manager": "apt", "com.docker.dhi.compliance": "cis"}),
    Fixture((FIPS_IMAGE,), busybox=False, app=True, package_manager=False,
            user="65532", entrypoint=["/app/app"], cmd=["--serve"],
            labels={**DHI_LABELS, "com.docker.dhi.variant": "runtime", "com.docker.dhi.shell": "",
                    "com.docker.dhi.package-manager": "",
                    "com.docker.dhi.compliance": "fips,stig,cis"}),
    Fixture((DISTROLESS_IMAGE, CHAINGUARD_IMAGE),
            busybox=False, app=True, package_manager=False, user="65532",
            entrypoint=["/app/app"], cmd=None, labels={}),
    Fixture((STANDARD_IMAGE,), busybox=True, app=True, package_manager=False,
            user=None, entrypoint=None, cmd=["/app/app", "--serve"],
            labels={"org.opencontainers.image.vendor": "dhitui test fixtures"}),
    Fixture((SCRIPT_IMAGE,), busybox=False, app=True, package_manager=False,
            user="65532", entrypoint=["/app/start.sh"], cmd=["--serve"],
            labels={**DHI_LABELS, "com.docker.dhi.variant": "runtime", "com.docker.dhi.shell": ""},
            script=True),
]


def build_app_binary(out: Path) -> None:
    run(["gcc", "-static", "-O2", "-o", str(out), str(HERE / "fixtures" / "app.c")])
    run(["strip", str(out)], check=False)


def busybox_applets() -> list[str]:
    out = run(["/bin/busybox", "--list-full"]).stdout.decode().split()
    return [a for a in out if a.startswith(("bin/", "sbin/", "usr/bin/", "usr/sbin/"))]


def rootfs_tar(fx: Fixture, app_binary: Path, applets: list[str]) -> bytes:
    """A tarred root filesystem, owned by root, with hard-linked busybox applets
    (a toolbox mounted elsewhere, e.g. at /dbg, must not rely on absolute symlinks)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add_dir(name: str, mode: int = 0o755, uid: int = 0) -> None:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.uid, ti.gid = tarfile.DIRTYPE, mode, uid, uid
            tar.addfile(ti)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), mode
            tar.addfile(ti, io.BytesIO(data))

        for d in ("etc", "tmp", "home", "root", "proc", "sys", "dev", "usr", "usr/bin"):
            add_dir(d, 0o1777 if d == "tmp" else (0o700 if d == "root" else 0o755))
        add_dir("home/nonroot", 0o755, uid=65532)
        add_file("etc/passwd", PASSWD.encode())
        add_file("etc/group", GROUP.encode())
        if fx.app:
            add_dir("app")
            add_file("app/app", app_binary.read_bytes(), 0o755)
        if fx.script:
            add_file("app/start.sh", START_SCRIPT, 0o755)
        if fx.busybox:
            for d in ("bin", "sbin", "usr/sbin"):
                add_dir(d)
            data = Path("/bin/busybox").read_bytes()
            add_file("bin/busybox", data, 0o755)
            stubs = PACKAGE_MANAGER_STUBS if fx.package_manager else ()
            for applet in applets:
                if applet == "bin/busybox" or applet in stubs:
                    continue
                ti = tarfile.TarInfo(applet)
                ti.type, ti.linkname, ti.mode = tarfile.LNKTYPE, "bin/busybox", 0o755
                tar.addfile(ti)
        if fx.package_manager:
            stub = b"#!/bin/sh\necho \"$0: fixture stub, no package index here\" >&2\nexit 100\n"
            for name in PACKAGE_MANAGER_STUBS:
                add_file(name, stub, 0o755)
    return buf.getvalue()


def fixture_hash(fx: Fixture) -> str:
    h = hashlib.sha256()
    h.update(repr(fx).encode())
    h.update((HERE / "fixtures" / "app.c").read_bytes())
    h.update(PASSWD.encode() + GROUP.encode() + START_SCRIPT)
    return h.hexdigest()[:16]


def cli(engine: Engine, *args: str, input: bytes | None = None,
        check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return run([docker_cli(), "-H", engine.host, *args], input=input, timeout=CLI_TIMEOUT,
               check=check)


def build_fixtures(engine: Engine) -> None:
    app_binary: Path | None = None
    applets: list[str] = []
    for fx in FIXTURES:
        want = fixture_hash(fx)
        primary = fx.tags[0]
        got = cli(engine, "image", "inspect", "--format",
                  f'{{{{index .Config.Labels "{FIXTURE_LABEL}"}}}}', primary, check=False)
        if got.returncode == 0 and got.stdout.decode().strip() == want:
            for tag in fx.tags[1:]:
                cli(engine, "tag", primary, tag)
            continue
        if app_binary is None:
            tmp = Path(tempfile.mkdtemp(prefix="dhitui-fixture."))
            app_binary = tmp / "app"
            build_app_binary(app_binary)
            applets = busybox_applets()
        changes = []
        if fx.user:
            changes += ["-c", f"USER {fx.user}"]
        if fx.entrypoint:
            changes += ["-c", f"ENTRYPOINT {json.dumps(fx.entrypoint)}"]
        if fx.cmd:
            changes += ["-c", f"CMD {json.dumps(fx.cmd)}"]
        changes += ["-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        for k, v in {**fx.labels, FIXTURE_LABEL: want}.items():
            changes += ["-c", f"LABEL {k}={json.dumps(v)}"]
        cli(engine, "import", *changes, "-", primary, input=rootfs_tar(fx, app_binary, applets))
        for tag in fx.tags[1:]:
            cli(engine, "tag", primary, tag)
        log(f"{engine.name}: built {', '.join(fx.tags)}")
    if app_binary is not None:
        shutil.rmtree(app_binary.parent, ignore_errors=True)


# ------------------------------------------------------------- fixtures from Debian packages
#
# Closer to real images than the synthetic ones above: root filesystems made of real Debian 12
# packages (`apt-get download` + `dpkg-deb -x`, no registry), built by the same rules their
# originals follow. Downloads are cached in DEBS; an image is rebuilt only when its recipe or
# the package versions apt resolves change (the hash is its label, as above).

DEBS = CACHE / "debs"
DEB_RECIPE_VERSION = "1"
DISTROLESS_OS_RELEASE = (
    'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="12"\n'
    'VERSION="Debian GNU/Linux 12 (bookworm)"\n'
    'HOME_URL="https://github.com/GoogleContainerTools/distroless"\n'
    'SUPPORT_URL="https://github.com/GoogleContainerTools/distroless/blob/master/README.md"\n'
    'BUG_REPORT_URL="https://github.com/GoogleContainerTools/distroless/issues/new"\n')
PYTHON_IDLE = ["-c", "import signal, sys; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0));"
               " signal.pause()"]


@dataclass(frozen=True)
class DebFixture:
    tags: tuple[str, ...]
    what: str                 # what it stands for (the log says it)
    packages: tuple[str, ...]  # resolved with their dependencies (no recommends)
    extra: tuple[str, ...]    # added without their dependencies
    layout: str               # python | toolbox-absolute-links | distroless
    dpkg_db: str              # none | status (Debian proper) | status.d (distroless)
    user: str | None
    entrypoint: list[str] | None
    cmd: list[str] | None


DEB_FIXTURES = [
    DebFixture((PYTHON_IMAGE,),
               "a Python runtime with no shell (like DHI's python runtime)",
               ("python3.11-minimal",), ("python3-minimal",), "python", "none", "65532",
               ["/usr/bin/python3"], PYTHON_IDLE),
    DebFixture((PYTHON_DEV_IMAGE,),
               "its -dev variant: bash, apt and dpkg added",
               ("python3.11-minimal", "python3-minimal", "bash", "apt", "dpkg"), (),
               "python", "status", "0", ["/usr/bin/python3"], PYTHON_IDLE),
    DebFixture((ABSOLUTE_LINKS_TOOLBOX,),
               "an Alpine-style toolbox: busybox --install -s (absolute symlinks)",
               (), ("busybox-static",), "toolbox-absolute-links", "none", None, None, ["sh"]),
    DebFixture((MIRRORED_DISTROLESS_IMAGE,),
               "a distroless-style base under a mirror's name (dpkg records in status.d)",
               ("libc6", "libssl3", "netbase"), (), "distroless", "status.d", "65532",
               ["/app/app"], ["--serve"]),
]


def _apt_opts(status: Path, cache: Path) -> list[str]:
    return ["-o", f"Dir::State::status={status}", "-o", f"Dir::Cache={cache}",
            "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root"]


def deb_files(packages: tuple[str, ...], extra: tuple[str, ...]) -> list[str]:
    """The .deb file names apt resolves for `packages` with their dependencies, as if
    nothing were installed, plus `extra` alone."""
    names: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dhitui-apt.") as tmp:
        status = Path(tmp) / "status"
        status.write_text("")
        (Path(tmp) / "archives" / "partial").mkdir(parents=True)
        for roots, deps in ((packages, True), (extra, False)):
            if not roots:
                continue
            out = run(["apt-get", "-q", *_apt_opts(status, Path(tmp)), "--print-uris",
                       "--no-install-recommends", "-y", "install", *roots]).stdout.decode()
            found = re.findall(r"^'[^']+' (\S+\.deb) ", out, re.M)
            if not deps:
                found = [f for f in found if f.split("_", 1)[0] in roots]
            names += found
    missing = [r for r in (*packages, *extra)
               if not any(n.split("_", 1)[0] == r for n in names)]
    if missing:
        die(f"apt resolved no package for {', '.join(missing)}")
    return sorted(set(names))


def ensure_debs(files: list[str]) -> list[Path]:
    """The .deb files, downloaded into DEBS unless already there."""
    DEBS.mkdir(parents=True, exist_ok=True)
    want = [f for f in files if not (DEBS / f).exists()]
    if want:
        specs = []
        for f in want:
            name, version, _ = f[:-len(".deb")].split("_")
            specs.append(f"{name}={version.replace('%3a', ':')}")
        log(f"downloading {len(specs)} Debian package(s) into {DEBS}")
        run(["apt-get", "-q", "-o", "APT::Sandbox::User=root", "download", *specs],
            timeout=900, cwd=DEBS)
    paths = [DEBS / f for f in files]
    absent = [p.name for p in paths if not p.exists()]
    if absent:
        die(f"apt-get download did not leave {', '.join(absent)} in {DEBS}")
    return paths


def deb_fixture_hash(fx: DebFixture, files: list[str]) -> str:
    h = hashlib.sha256()
    h.update(f"{DEB_RECIPE_VERSION} {fx!r} {files!r}".encode())
    h.update((HERE / "fixtures" / "app.c").read_bytes())
    h.update(PASSWD.encode() + GROUP.encode())
    return h.hexdigest()[:16]


def deb_rootfs(fx: DebFixture, debs: list[Path], root: Path, app_binary: Path | None) -> None:
    """Unpack the packages into `root` and finish it the way its original is built."""
    for deb in debs:
        run(["dpkg-deb", "-x", str(deb), str(root)])
    for sub in ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/lintian"):
        shutil.rmtree(root / sub, ignore_errors=True)
    for d in ("etc", "tmp", "home", "root", "proc", "sys", "dev"):
        (root / d).mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "root").chmod(0o700)
    (root / "home" / "nonroot").mkdir(exist_ok=True)
    os.chown(root / "home" / "nonroot", 65532, 65532)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    if fx.layout == "toolbox-absolute-links":
        for d in ("bin", "sbin", "usr/bin", "usr/sbin"):
            (root / d).mkdir(parents=True, exist_ok=True)
        # Debian ships it as /bin/busybox; --install -s links every applet to it by its
        # absolute path, as Alpine's images have them.
        run(["chroot", str(root), "/bin/busybox", "--install", "-s"])
    if fx.layout == "distroless":
        (root / "etc" / "os-release").unlink(missing_ok=True)
        (root / "etc" / "os-release").write_text(DISTROLESS_OS_RELEASE)
        if app_binary is not None:
            (root / "app").mkdir(exist_ok=True)
            shutil.copy2(app_binary, root / "app" / "app")
    if fx.dpkg_db != "none":
        records = []
        for deb in debs:
            control = run(["dpkg-deb", "-f", str(deb)]).stdout.decode().rstrip("\n")
            name = re.search(r"^Package: (\S+)", control, re.M)
            assert name is not None
            records.append((name.group(1), control.replace(
                "\nMaintainer:", "\nStatus: install ok installed\nMaintainer:", 1) + "\n"))
        dpkg = root / "var" / "lib" / "dpkg"
        dpkg.mkdir(parents=True, exist_ok=True)
        if fx.dpkg_db == "status":
            (dpkg / "status").write_text("\n".join(r for _, r in sorted(records)))
        else:
            (dpkg / "status.d").mkdir(exist_ok=True)
            for name, record in records:
                (dpkg / "status.d" / name).write_text(record)


def build_deb_fixtures(engine: Engine) -> None:
    app_binary: Path | None = None
    for fx in DEB_FIXTURES:
        files = deb_files(fx.packages, fx.extra)
        want = deb_fixture_hash(fx, files)
        primary = fx.tags[0]
        got = cli(engine, "image", "inspect", "--format",
                  f'{{{{index .Config.Labels "{FIXTURE_LABEL}"}}}}', primary, check=False)
        if got.returncode == 0 and got.stdout.decode().strip() == want:
            continue
        debs = ensure_debs(files)
        with tempfile.TemporaryDirectory(prefix="dhitui-debroot.") as tmp:
            if fx.layout == "distroless" and app_binary is None:
                app_binary = Path(tmp) / "app-binary"
                build_app_binary(app_binary)
            root = Path(tmp) / "root"
            root.mkdir()
            deb_rootfs(fx, debs, root, app_binary if fx.layout == "distroless" else None)
            tar = run(["tar", "-C", str(root), "--numeric-owner", "-cf", "-", "."]).stdout
        app_binary = None
        changes = []
        if fx.user:
            changes += ["-c", f"USER {fx.user}"]
        if fx.entrypoint:
            changes += ["-c", f"ENTRYPOINT {json.dumps(fx.entrypoint)}"]
        if fx.cmd:
            changes += ["-c", f"CMD {json.dumps(fx.cmd)}"]
        changes += ["-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "-c", f"LABEL {FIXTURE_LABEL}={json.dumps(want)}"]
        cli(engine, "import", *changes, "-", primary, input=tar)
        for tag in fx.tags[1:]:
            cli(engine, "tag", primary, tag)
        log(f"{engine.name}: built {', '.join(fx.tags)}: {fx.what}")


def remove_leftovers(engine: Engine) -> None:
    """Containers and snapshot images that earlier test runs left in this (test-only) engine's
    data root."""
    # Sidecars first: podman refuses to remove a container others share namespaces with.
    removed: set[str] = set()
    for label in ("dhitui.sidecar", "dhitui.test"):
        ids = set(cli(engine, "ps", "-aq", "--filter", f"label={label}").stdout.decode().split())
        if ids - removed:
            cli(engine, "rm", "-f", *sorted(ids - removed))
            removed |= ids
    if removed:
        log(f"{engine.name}: removed {len(removed)} container(s) left by earlier runs")
    # Snapshot images a killed session's reaper had not removed yet when its run (or this
    # machine) stopped: doctor and the TUI would rightly report them as orphans.
    images = set(cli(engine, "images", "-q", "--filter", "label=dhitui.snapshot"
                     ).stdout.decode().split())
    if images:
        cli(engine, "rmi", "-f", *sorted(images))
        log(f"{engine.name}: removed {len(images)} snapshot image(s) left by earlier runs")
