"""Unix permissions, computed rather than tried: who may read, write or enter a path.

Diagnostics answer "can uid 65532 with groups {65532} use this socket?" for a process that is
not us (a container's user), so `os.access` is no help: the answer is computed from the
file's owner, group and mode the way the kernel does for plain mode bits (ACLs and
capabilities other than root's are not modelled; the checks say so where it matters).
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Via = Literal["root", "owner", "group", "other"]


@dataclass(frozen=True)
class Access:
    """What a user may do with one path, and which permission class decided it."""

    read: bool
    write: bool
    execute: bool  # for a directory: enter it
    via: Via
    via_gid: int | None = None  # the group that granted access, when `via == "group"`


def access_for(mode: int, owner_uid: int, owner_gid: int, uid: int, gids: Iterable[int],
               *, root_bypasses: bool = True) -> Access:
    """The kernel's mode-bit check: the owner class if the uid owns the file, else the group
    class if any of the gids is the file's group, else "other". Root (uid 0) passes read and
    write regardless (CAP_DAC_OVERRIDE), and execute when anyone may execute or it is a
    directory."""
    perm = stat.S_IMODE(mode)
    if uid == 0 and root_bypasses:
        is_dir = stat.S_ISDIR(mode)
        return Access(True, True, is_dir or bool(perm & 0o111), "root")
    via: Via
    via_gid: int | None = None
    if uid == owner_uid:
        bits, via = (perm >> 6) & 7, "owner"
    elif owner_gid in set(gids):
        bits, via, via_gid = (perm >> 3) & 7, "group", owner_gid
    else:
        bits, via = perm & 7, "other"
    return Access(bool(bits & 4), bool(bits & 2), bool(bits & 1), via, via_gid)


def group_name(gid: int) -> str | None:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return None


def user_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def kind_of(mode: int) -> str:
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISREG(mode):
        return "regular file"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "special file"


@dataclass(frozen=True)
class PathFacts:
    """What `stat` says about a path on this machine, with names for its owner and group.

    `error` is set when the path could not be examined: `missing`, or `permission-denied`
    with `blocked_at` naming the first directory on the way that this user cannot enter.
    """

    path: str
    exists: bool
    kind: str | None = None
    uid: int | None = None
    owner: str | None = None
    gid: int | None = None
    group: str | None = None
    mode: int | None = None  # st_mode, type bits included
    mtime_ns: int | None = None
    size: int | None = None
    error: str | None = None
    blocked_at: str | None = None

    @property
    def perm(self) -> str:
        return f"{stat.S_IMODE(self.mode):04o}" if self.mode is not None else "?"

    @property
    def group_display(self) -> str:
        if self.gid is None:
            return "?"
        return f"{self.group} (GID {self.gid})" if self.group else f"GID {self.gid}"

    @property
    def owner_display(self) -> str:
        if self.uid is None:
            return "?"
        return f"{self.owner} (UID {self.uid})" if self.owner else f"UID {self.uid}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "exists": self.exists,
            "kind": self.kind,
            "uid": self.uid,
            "owner": self.owner,
            "gid": self.gid,
            "group": self.group,
            "mode": self.perm if self.mode is not None else None,
            "error": self.error,
            "blocked_at": self.blocked_at,
        }


def _first_blocked_parent(path: str) -> str | None:
    """The first ancestor directory this process may not search (enter)."""
    p = Path(path)
    for parent in reversed(p.parents):
        if not os.access(parent, os.X_OK):
            return str(parent)
    return None


def stat_facts(path: str) -> PathFacts:
    """Stat a path (following symlinks, as connecting to a socket does)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return PathFacts(path, exists=os.path.lexists(path), error="missing")
    except PermissionError:
        return PathFacts(path, exists=False, error="permission-denied",
                         blocked_at=_first_blocked_parent(path))
    except OSError as exc:
        return PathFacts(path, exists=False, error=exc.strerror or "unreadable")
    return PathFacts(
        path,
        exists=True,
        kind=kind_of(st.st_mode),
        uid=st.st_uid,
        owner=user_name(st.st_uid),
        gid=st.st_gid,
        group=group_name(st.st_gid),
        mode=st.st_mode,
        mtime_ns=st.st_mtime_ns,
        size=st.st_size,
    )


@dataclass(frozen=True)
class Identity:
    """Who this process is, for the checks about *our* access (not a container's)."""

    uid: int
    gid: int
    groups: tuple[int, ...]
    name: str | None

    @classmethod
    def current(cls) -> Identity:
        uid = os.geteuid()
        return cls(uid=uid, gid=os.getegid(), groups=tuple(os.getgroups()), name=user_name(uid))

    @property
    def gids(self) -> frozenset[int]:
        return frozenset((self.gid, *self.groups))

    @property
    def display(self) -> str:
        return f"{self.name} (UID {self.uid})" if self.name else f"UID {self.uid}"

    def listed_in_group(self, gid: int) -> bool:
        """Whether /etc/group (or NSS) lists this user as a member of the group: true while
        the current session lacks the group means "added, but not logged in again yet"."""
        if self.name is None:
            return False
        try:
            g = grp.getgrgid(gid)
        except KeyError:
            return False
        if self.name in g.gr_mem:
            return True
        try:
            return pwd.getpwnam(self.name).pw_gid == gid
        except KeyError:
            return False
