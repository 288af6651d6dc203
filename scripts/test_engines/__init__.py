"""Start, stop and describe the real Docker Engines that dhitui's tests run against.

Four engines run side by side, each with its own socket, storage and server process, and
no networking of their own (dockerd: --bridge=none --iptables=false --ip-forward=false;
fixture containers run with --network none):

  e20     Docker Engine 20.10 from Debian 12's docker.io package (no image mounts)
  e28     Docker Engine 28.x: dockerd, containerd and the docker CLI taken from Debian
          unstable's packages, extracted into a cache directory, never installed system-wide
  e28-userns
          the same Engine 28 with user namespace remapping (--userns-remap=default)
  podman  Debian 12's podman (4.3.x, rootful): `podman system service` on its own socket,
          with its own --root/--runroot and containers.conf
  podman-rootless
          the same podman run by the unprivileged test user (subuid ranges, newuidmap)

Fixture images are built locally on every engine (nothing is ever pulled): synthetic ones
(a static C app, busybox applets as hard links), and ones made of real Debian 12 packages
(`apt-get download` + `dpkg-deb -x`, cached under DHITUI_ENGINES_CACHE/debs): a Python runtime
with no shell, its -dev variant, an Alpine-style busybox toolbox (absolute links) and a
distroless-style base under a mirror's name. Each is rebuilt only when its recipe changes.

Usage (as root on Debian 12):
  scripts/test-engines up [--only NAME]      install what is missing, start, build fixtures
  scripts/test-engines down [--only NAME] [--purge]
                                             stop what this script started (--purge: delete roots)
  scripts/test-engines service stop|start|restart [--only NAME]
                                             one API server only (default podman)
  scripts/test-engines podman ARGS...        podman on the test podman's storage
  scripts/test-engines env [--json]          print the variables the tests read
  scripts/test-engines status                which engines answer
  scripts/test-engines clean                 remove containers earlier test runs left behind
  scripts/test-engines demo                  run sample containers on e28 to try the TUI

The code: this package (`scripts/test_engines/`), run by `scripts/test-engines`; the tests
import the fixture images' names and the engines' variables from it (tests/conftest.py).
  engines    the engines' kinds, starting, stopping, recognising their servers
  installs   the Debian packages they need, and Engine 28 from unstable's packages
  fixtures   the fixture images, and removing what test runs left behind
  cli        the command line

Environment:
  DHITUI_ENGINES_DIR   state directory (sockets, roots, logs); default /var/lib/dhitui-engines
  DHITUI_ENGINES_CACHE download cache; default /var/cache/dhitui-test-engines
  DHITUI_DEBIAN_MIRROR Debian mirror for unstable packages; default: the one apt already uses
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # scripts/
STATE = Path(os.environ.get("DHITUI_ENGINES_DIR", "/var/lib/dhitui-engines"))
CACHE = Path(os.environ.get("DHITUI_ENGINES_CACHE", "/var/cache/dhitui-test-engines"))
SID_ROOT = CACHE / "sid-root"
STABLE_PACKAGES = {
    # command that proves the package is there -> package
    "/usr/sbin/dockerd": "docker.io",
    "/bin/busybox": "busybox-static",
    "/usr/bin/gcc": "gcc",
    "/usr/lib/x86_64-linux-gnu/libc.a": "libc6-dev",
    "/usr/bin/openssl": "openssl",  # the TLS test engine's certificates (test_engines.tls)
}
SID_PACKAGES = ("docker.io", "containerd", "docker-cli")
PING_DEADLINE = 90.0
CLI_TIMEOUT = 120.0
FIXTURE_LABEL = "dhitui.fixture"
DEMO_LABEL = "dhitui.demo"


def log(msg: str) -> None:
    print(f"test-engines: {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    log(f"error: {msg}")
    sys.exit(1)


def run(argv: list[str], *, timeout: float = 600, env: dict[str, str] | None = None,
        input: bytes | None = None, check: bool = True,
        cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        proc = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env,
                              cwd=cwd)
    except subprocess.TimeoutExpired:
        die(f"timed out after {timeout:.0f}s: {' '.join(argv)}")
        raise  # unreachable, keeps type checkers calm
    if check and proc.returncode != 0:
        sys.stderr.write(proc.stdout.decode(errors="replace"))
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        die(f"command failed ({proc.returncode}): {' '.join(argv)}")
    return proc


