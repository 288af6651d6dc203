"""What dhitui reads from an image's files, and how: the records and the probes behind them.

Two records, for two readers, each read with `remotefs` (nothing runs in the container):

- `ImageFacts`, for classification (and diagnostics): the first shell of SHELLS with the
  evidence for it, the first package manager, /etc/passwd and /etc/group, and for an image
  whose names and labels do not say where it comes from, the files that name its origin
  (os-release, dpkg's and apk's databases: mirrored images keep their contents, not always
  their names). Read through a container of the image (`probe_image_files`).
- `ImageFiles`, for sessions (an image target, the toolbox): the shell, whether its path
  still works with the image mounted below another root (at /dbg), its ELF interpreter, and
  the users. Read through a created-never-started container (`read_image_files`).

Both find the shell with `find_shell` and read the users with the same reads. Which one is
read when, and how often, is `facts.ImageFactsCache`'s business.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from dhitui.detect import rules
from dhitui.detect.remotefs import (
    ContainerGone,
    PathProber,
    elf_interpreter,
    read_group_members,
    read_passwd,
)
from dhitui.engine.client import GO_MODE_DIR, Engine
from dhitui.models import ImageSource

# Shells in the order we prefer them for a session. /bin/sh first: most images have it, and
# when it is there one stat (plus its link target) settles the question.
SHELLS = (
    "/bin/sh", "/bin/bash", "/usr/bin/bash", "/bin/ash", "/bin/dash", "/usr/bin/sh",
    "/busybox/sh", "/bin/zsh",
)
PACKAGE_MANAGERS = (
    ("apt", "/usr/bin/apt-get"),
    ("apk", "/sbin/apk"),
    ("apk", "/usr/bin/apk"),
    ("dnf", "/usr/bin/dnf"),
    ("microdnf", "/usr/bin/microdnf"),
    ("yum", "/usr/bin/yum"),
    ("tdnf", "/usr/bin/tdnf"),
    ("zypper", "/usr/bin/zypper"),
    ("pacman", "/usr/bin/pacman"),
)
# Not dpkg or rpm: busybox ships a `dpkg` applet, and neither installs anything by itself.


@dataclass(frozen=True)
class ImageFacts:
    """What one image's filesystem holds, as far as classification cares."""

    image_id: str
    shell: str | None
    shell_evidence: tuple[str, ...]
    package_manager: str | None
    package_manager_path: str | None
    passwd: dict[str, tuple[int, int]] | None
    group_members: dict[str, tuple[int, tuple[str, ...]]] | None
    config_user: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    labels: dict[str, str]
    tags: tuple[str, ...]
    image: dict[str, Any] = field(default_factory=dict, compare=False)  # the image inspect
    # The origin its files name (read only when its names and labels say nothing).
    content_source: ImageSource | None = None
    content_evidence: tuple[str, ...] = ()
    probe_errors: tuple[str, ...] = ()
    stats: int = field(default=0, compare=False)  # path stats spent on this image

    @property
    def probed(self) -> bool:
        return not self.probe_errors

    @property
    def groups(self) -> dict[str, int] | None:
        """name -> gid from the image's /etc/group."""
        if self.group_members is None:
            return None
        return {name: gid for name, (gid, _) in self.group_members.items()}


@dataclass(frozen=True)
class FileFacts:
    """What `probe_image_files` read; `ImageFactsCache` adds the image inspect to it."""

    shell: str | None
    shell_evidence: tuple[str, ...]
    package_manager: str | None
    package_manager_path: str | None
    passwd: dict[str, tuple[int, int]]
    group_members: dict[str, tuple[int, tuple[str, ...]]]
    stats: int
    content: rules.ContentMarkers | None = None


class ShellFound(NamedTuple):
    """The first of SHELLS that leads to an executable file."""

    shell: str | None
    hops: tuple[str, ...]  # the symlink targets followed to get there
    dangling: tuple[str, ...]  # shells before it whose links lead nowhere, as evidence


def find_shell(prober: PathProber) -> ShellFound:
    """Try SHELLS in order; the first that resolves ends the search."""
    dangling: list[str] = []
    for candidate in SHELLS:
        final, hops = prober.resolve(candidate)
        if final:
            return ShellFound(candidate, tuple(hops), tuple(dangling))
        if hops:
            dangling.append(f"{candidate} -> {hops[-1]} (target missing)")
    return ShellFound(None, (), tuple(dangling))


def probe_image_files(engine: Engine, container_id: str, *, content: bool = False,
                      spread: Sequence[str] = ()) -> FileFacts:
    """Classification's reads, through `container_id` (and `spread`: other running
    containers of the image, statted side by side). Raises ContainerGone when a container
    asked stopped answering `/` at the end (every "missing" may have been a lie)."""
    prober = PathProber(engine, container_id, spread)
    candidates = [*SHELLS, *(path for _, path in PACKAGE_MANAGERS)]
    if content:
        candidates += [rules.DPKG_STATUS_D, rules.DPKG_STATUS, rules.APK_DB]
    prober.prefetch(candidates)
    found = find_shell(prober)
    if found.shell is not None:
        shell_evidence = [f"shell {found.shell}"
                          + (f" -> {' -> '.join(found.hops)}" if found.hops else "")]
    else:
        shell_evidence = [
            f"no shell ({SHELLS[0]} and {len(SHELLS) - 1} other shell paths are absent)",
            *found.dangling,
        ]
    pm = pm_path = None
    for name, path in PACKAGE_MANAGERS:
        if prober.resolve(path).final:
            pm, pm_path = name, path
            break
    passwd = read_passwd(engine, container_id)
    group_members = read_group_members(engine, container_id)
    markers = probe_content(engine, container_id, prober) if content else None
    # The sentinel: "/" exists in every container; 404 now means the container is gone and
    # every "missing" above may have been a lie.
    for cid in sorted(prober.used, key=lambda c: c != container_id):
        if engine.stat_path(cid, "/") is None:
            raise ContainerGone(cid)
    return FileFacts(
        shell=found.shell,
        shell_evidence=tuple(shell_evidence),
        package_manager=pm,
        package_manager_path=pm_path,
        passwd=passwd,
        group_members=group_members,
        stats=prober.stats + len(prober.used),  # + the sentinels
        content=markers,
    )


def probe_content(engine: Engine, container_id: str, prober: PathProber
                  ) -> rules.ContentMarkers:
    """The files that name an image's origin: os-release, dpkg's and apk's databases."""
    rel_path = None
    rel: dict[str, str] = {}
    for path in rules.OS_RELEASE_PATHS:
        # Debian's /etc/os-release is a link to ../usr/lib/os-release: reading a link gives
        # no file, and the next path is tried.
        raw = engine.read_file(container_id, path, limit=64 * 1024)
        if raw is not None:
            rel_path, rel = path, rules.parse_os_release(raw.decode(errors="replace"))
            break
    status_d = prober.stat(rules.DPKG_STATUS_D)
    return rules.ContentMarkers(
        os_release_path=rel_path,
        os_release=rel,
        dpkg_status_d=status_d is not None and bool(int(status_d.get("mode", 0)) & GO_MODE_DIR),
        dpkg_status=prober.stat(rules.DPKG_STATUS) is not None,
        apk_db=prober.stat(rules.APK_DB) is not None,
    )


@dataclass(frozen=True)
class ImageFiles:
    """What an image holds, as far as sessions care."""

    shell: str | None  # first shell found (SHELLS order), resolved to an executable
    shell_hops: tuple[str, ...]  # the symlink targets followed to get there
    mountable: bool  # the shell's path still works with the image mounted elsewhere
    unmountable_why: str | None  # what breaks it then ("an absolute symlink (/bin/sh -> …)")
    interpreter: str | None  # PT_INTERP of the shell's binary ("" = static, None = unknown)
    passwd: dict[str, tuple[int, int]]
    groups: dict[str, int]


# What `read_image_files` looks for and how it judges it: entries on disk under another
# version are not used. Raise the number when the reading or the judgement changes.
IMAGE_FILES_VERSION = "2:" + ",".join(SHELLS)


def read_image_files(engine: Engine, container: str) -> ImageFiles:
    """Sessions' reads, through a container of the image (one never started will do)."""
    prober = PathProber(engine, container)
    shell, hops, _ = find_shell(prober)
    mountable = True
    unmountable_why = None
    interpreter: str | None = None
    if shell is not None:
        # Whether it survives being mounted at /dbg depends on the links' own text, which
        # the path stat does not tell (it reports them resolved).
        relocation = prober.relocation(shell)
        mountable, unmountable_why = relocation.ok, relocation.problem
        head = engine.read_file_head(container, hops[-1] if hops else shell, 4096)
        interpreter = elf_interpreter(head) if head is not None else None
    passwd = read_passwd(engine, container)
    groups = {name: gid for name, (gid, _) in read_group_members(engine, container).items()}
    return ImageFiles(
        shell=shell,
        shell_hops=hops,
        mountable=mountable,
        unmountable_why=unmountable_why,
        interpreter=interpreter,
        passwd=passwd,
        groups=groups,
    )


def image_files_from_json(entry: dict[str, Any] | None) -> ImageFiles | None:
    """An `ImageFiles` from its on-disk form (`dataclasses.asdict`); None when it is not one."""
    if entry is None:
        return None
    shell, interpreter = entry.get("shell"), entry.get("interpreter")
    if not isinstance(shell, str | None) or not isinstance(interpreter, str | None):
        return None
    try:
        return ImageFiles(
            shell=shell,
            shell_hops=tuple(entry["shell_hops"]),
            mountable=bool(entry["mountable"]),
            unmountable_why=_optional_str(entry["unmountable_why"]),
            interpreter=interpreter,
            passwd={str(k): (int(v[0]), int(v[1])) for k, v in entry["passwd"].items()},
            groups={str(k): int(v) for k, v in entry["groups"].items()},
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None


def _optional_str(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"not a string: {value!r}")


def lookup_command(prober: PathProber, name: str, path: tuple[str, ...]) -> str | None:
    """Where `name` is found the way execve's PATH search finds it: an executable regular
    file (after links) in the first directory of `path` that has one."""
    if "/" in name:
        return name if name.startswith("/") and prober.resolve(name).final else None
    for directory in path:
        candidate = posixpath.join(directory, name)
        if prober.resolve(candidate).final:
            return candidate
    return None
