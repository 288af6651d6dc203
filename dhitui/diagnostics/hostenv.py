"""Where dhitui itself runs: inside a container or not, and what is mounted where.

Everything reads files under a `root` (default `/`), so tests hand in a directory laid out
like a container's root (`.dockerenv`, `proc/1/cgroup`, `proc/self/mountinfo`, ...) instead
of needing to run inside one.

Evidence is weighed, not just collected: `/.dockerenv` alone also exists on machines built
from a Docker image (VMs, some CI runners) whose root is a plain block-device filesystem, so
it only counts when the root filesystem looks like a container's (overlay and friends), or
another signal agrees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Root filesystem types a container runtime gives a container's rootfs.
CONTAINER_ROOT_FS = {"overlay", "aufs", "fuse-overlayfs", "shiftfs", "zfs", "btrfs"}
# cgroup v1 paths of PID 1 inside containers: /docker/<id>, /system.slice/docker-<id>.scope,
# /kubepods/..., /libpod_parent/libpod-<id>, /lxc/<name>. (cgroup v2 with a cgroup namespace
# shows just "/", which proves nothing either way.)
_CGROUP_HINTS = re.compile(r"/(docker|kubepods|containerd|libpod|libpod_parent|lxc|crio)[/-]")


@dataclass(frozen=True)
class MountEntry:
    mount_point: str
    root: str  # the path inside the source filesystem that is mounted here
    fstype: str
    source: str


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[MountEntry]:
    """`/proc/<pid>/mountinfo` lines: `id parent major:minor root mountpoint opts ... - fstype
    source superopts`. Malformed lines are skipped."""
    out = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        f = left.split()
        r = right.split()
        if len(f) < 5 or len(r) < 2:
            continue
        out.append(MountEntry(mount_point=_unescape(f[4]), root=_unescape(f[3]), fstype=r[0],
                              source=_unescape(r[1])))
    return out


def read_mounts(root: Path = Path("/")) -> list[MountEntry]:
    try:
        return parse_mountinfo((root / "proc/self/mountinfo").read_text(errors="replace"))
    except OSError:
        return []


def root_mount(mounts: list[MountEntry]) -> MountEntry | None:
    """The mount that is `/` now (the last one mounted there wins)."""
    found = None
    for m in mounts:
        if m.mount_point == "/":
            found = m
    return found


def mounted_at(mounts: list[MountEntry], path: str) -> MountEntry | None:
    """The mount whose mount point is exactly `path` (a bind-mounted file or socket)."""
    found = None
    for m in mounts:
        if m.mount_point == path:
            found = m
    return found


@dataclass(frozen=True)
class ContainerDetection:
    """Whether dhitui runs inside a container, with the evidence for and against."""

    inside: bool
    evidence: tuple[str, ...]
    runtime: str | None = None  # docker, podman, kubernetes, ... when a signal says so
    doubts: tuple[str, ...] = ()  # signals found but not trusted, and why

    def to_json(self) -> dict[str, object]:
        return {"inside": self.inside, "runtime": self.runtime,
                "evidence": list(self.evidence), "doubts": list(self.doubts)}


def detect_container(root: Path = Path("/"), env: Mapping[str, str] | None = None
                     ) -> ContainerDetection:
    """Look for the signals container runtimes leave behind, under `root`."""
    env = env or {}
    strong: list[str] = []
    runtime: str | None = None
    doubts: list[str] = []

    if (root / "run/.containerenv").exists():
        strong.append("/run/.containerenv exists (Podman)")
        runtime = "podman"
    container_var = env.get("container", "").strip()
    if container_var:
        strong.append(f"the environment sets container={container_var}")
        runtime = runtime or container_var
    if env.get("KUBERNETES_SERVICE_HOST"):
        strong.append("KUBERNETES_SERVICE_HOST is set (a Kubernetes pod)")
        runtime = runtime or "kubernetes"
    try:
        cgroup = (root / "proc/1/cgroup").read_text(errors="replace")
    except OSError:
        cgroup = ""
    for line in cgroup.splitlines():
        path = line.split(":", 2)[-1]
        if path not in ("", "/") and _CGROUP_HINTS.search(path):
            strong.append(f"/proc/1/cgroup places PID 1 in {path}")
            if "docker" in path:
                runtime = runtime or "docker"
            elif "kubepods" in path:
                runtime = runtime or "kubernetes"
            break

    mounts = read_mounts(root)
    rootfs = root_mount(mounts)
    overlay_root = rootfs is not None and rootfs.fstype in CONTAINER_ROOT_FS
    if overlay_root and rootfs is not None:
        root_text = f"the root filesystem is {rootfs.fstype}"
    elif rootfs is not None:
        root_text = f"the root filesystem is {rootfs.fstype} on {rootfs.source}"
    else:
        root_text = "the root filesystem is unknown"

    weak: list[str] = []
    if (root / ".dockerenv").exists():
        weak.append("/.dockerenv exists (Docker)")
    if weak:
        if strong or overlay_root:
            strong.extend(weak)
            if overlay_root:
                strong.append(root_text)
            runtime = runtime or "docker"
        else:
            doubts.extend(f"{w}, but {root_text}: probably a machine built from a container "
                          "image, not a container" for w in weak)
    return ContainerDetection(inside=bool(strong), evidence=tuple(strong), runtime=runtime,
                              doubts=tuple(doubts))
