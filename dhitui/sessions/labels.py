"""The labels that mark dhitui's sidecars, and who owns a session.

Every container dhitui starts carries `dhitui.sidecar=1` plus labels naming its session, its
strategy and its target. Ownership is judged from this machine's point of view:

- A sidecar is started by the docker CLI, whose command line carries
  `--label dhitui.session=<uuid>`; while that process lives, the session lives (even if the
  dhitui process that started it was killed: the CLI keeps the terminal and `--rm` still
  removes the sidecar when the shell exits). So a session is *live* when a process on this
  machine has its session id in its command line.
- Helper containers dhitui creates through the API (to look at an image's files) have no CLI
  process; they carry dhitui's pid and that process's start time instead.
- `dhitui.host` + `dhitui.boot` (hostname and kernel boot id) say whether "this machine" is the
  one that started it: from another host the process table tells nothing, and after a reboot
  no process of the old boot can be alive.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dhitui.strategy_registry import StrategyName

PREFIX = "dhitui."
SIDECAR = "dhitui.sidecar"
SESSION = "dhitui.session"
STRATEGY = "dhitui.strategy"
TARGET = "dhitui.target"
TARGET_NAME = "dhitui.target-name"
TARGET_IMAGE = "dhitui.target-image"
HOST = "dhitui.host"
BOOT = "dhitui.boot"
OWNER_PID = "dhitui.pid"
OWNER_START = "dhitui.pid-start"
SNAPSHOT = "dhitui.snapshot"  # on the temporary images of stopped containers (see snapshot)
ROLE = "dhitui.role"  # what a session's sidecar is for, when it is not the session itself
HOLDER_ROLE = "holder"  # holds the toolbox for a session inside its target (see inside)

SIDECAR_FILTER = f"{SIDECAR}=1"
PROBE_STRATEGY = "probe"  # helper containers that are created, never started
SNAPSHOT_FILTER = f"{SNAPSHOT}=1"
SNAPSHOT_STRATEGY = StrategyName.SNAPSHOT  # sidecars on a snapshot: they do not need their target

_SESSION_IN_CMDLINE = re.compile(rb"dhitui\.session=([0-9a-f]{32})")


def new_session_id() -> str:
    """A fresh session id: 32 hex digits of randomness (as `uuid4().hex`, without importing
    `uuid`, which brings `platform` along on every `dhitui debug`)."""
    return os.urandom(16).hex()


@dataclass(frozen=True)
class Machine:
    """Who "this machine" is, for ownership checks."""

    host: str
    boot: str

    @classmethod
    def current(cls) -> Machine:
        return cls(host=socket.gethostname(), boot=boot_id())


def boot_id() -> str:
    """The kernel's boot id (changes on every boot); "" where /proc does not have it."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), which
    tells a live process from a later one that reused its pid; None if there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def session_labels(
    *, session: str, strategy: str, machine: Machine, target_id: str | None = None,
    target_name: str | None = None, target_image: str | None = None,
) -> dict[str, str]:
    """Labels for a session's sidecar (order is the order shown in argv). It belongs to the
    dhitui process planning it (which runs it over the API, or holds its toolbox) and, through
    the CLI, also to the docker CLI process whose command line carries its session id."""
    labels = {SIDECAR: "1", SESSION: session, STRATEGY: strategy}
    if target_id is not None:
        labels[TARGET] = target_id
    if target_name is not None:
        labels[TARGET_NAME] = target_name
    if target_image is not None:
        labels[TARGET_IMAGE] = target_image
    labels[HOST] = machine.host
    labels[BOOT] = machine.boot
    pid = os.getpid()
    labels[OWNER_PID] = str(pid)
    labels[OWNER_START] = process_start(pid) or ""
    return labels


def helper_labels(session: str, machine: Machine) -> dict[str, str]:
    """Labels for a helper container dhitui creates itself through the API."""
    pid = os.getpid()
    return {
        SIDECAR: "1", SESSION: session, STRATEGY: PROBE_STRATEGY, HOST: machine.host,
        BOOT: machine.boot, OWNER_PID: str(pid), OWNER_START: process_start(pid) or "",
    }


def snapshot_labels(*, session: str, machine: Machine, target_id: str,
                    target_name: str) -> dict[str, str]:
    """Labels for a snapshot image: its session, its source container, and the dhitui
    process that made it (it is made through the API, before any CLI process exists)."""
    pid = os.getpid()
    return {
        SNAPSHOT: "1", SESSION: session, STRATEGY: SNAPSHOT_STRATEGY, TARGET: target_id,
        TARGET_NAME: target_name, HOST: machine.host, BOOT: machine.boot,
        OWNER_PID: str(pid), OWNER_START: process_start(pid) or "",
    }


def live_sessions(proc: Path = Path("/proc")) -> set[str]:
    """Session ids found in the command lines of this machine's processes (one pass over
    /proc; processes we may not read are skipped)."""
    found: set[str] = set()
    try:
        entries = list(proc.iterdir())
    except OSError:
        return found
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        found.update(m.decode() for m in _SESSION_IN_CMDLINE.findall(cmdline))
    return found


def owner_process_alive(labels: Mapping[str, str]) -> bool:
    """For helper containers: is the dhitui process that created it still running?"""
    try:
        pid = int(labels.get(OWNER_PID, ""))
    except ValueError:
        return False
    start = process_start(pid)
    return start is not None and start == labels.get(OWNER_START)
