"""A container's filesystem read from outside it: path stats, symlink chains, small files.

Everything here goes through the engine's archive API (`HEAD /containers/{id}/archive?path=…`
is a path stat; a GET reads a file or a link's own text from the tar stream): nothing runs in
the container, so it works on shell-less, stopped and crash-looping containers alike.
Detection, session planning and diagnostics all read files this way.

The engine resolves symlinks in parent directories (merged /usr) but not in the last
component, so a symlinked file (`/bin/sh -> /bin/busybox`) is followed by statting its target
too: a dangling link leads nowhere. A vanished container also answers 404 to a path stat,
which is why probes end by statting `/` (see `ContainerGone`).
"""

from __future__ import annotations

import posixpath
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from dhitui.engine.client import GO_MODE_DIR, GO_MODE_SYMLINK, Engine
from dhitui.models import parse_group_members, parse_passwd

MAX_LINK_HOPS = 8
MAX_PATH_STEPS = 256  # components and links walked for one path (the kernel allows 40 links)
ACCOUNTS_LIMIT = 256 * 1024  # /etc/passwd and /etc/group: larger ones are not read


class ContainerGone(Exception):
    """The container went away while we looked at it."""

    def __init__(self, container_id: str) -> None:
        super().__init__(container_id)
        self.container_id = container_id


class Resolved(NamedTuple):
    """Where a path's symlink chain ends."""

    final: str | None  # the executable regular file reached, or None
    hops: list[str]  # each link's target as the engine resolved it (absolute, normalised)


@dataclass(frozen=True)
class Relocation:
    """Whether a path still reaches the same file when its image is mounted below another
    root (a toolbox at /dbg): judged from the links' own text, as the kernel follows them."""

    ok: bool
    links: tuple[str, ...]  # every link met on the way, as "path -> its own text"
    problem: str | None = None  # what breaks it, as a noun phrase (None when ok)


class PathProber:
    """Path stats through one container (cached, counting what they cost), and symlink
    chains followed to their end."""

    def __init__(self, engine: Engine, container_id: str, spread: Sequence[str] = ()) -> None:
        self.engine = engine
        self.container_id = container_id
        # Other running containers of the same image that `prefetch` may stat through.
        self.spread = tuple(c for c in spread if c != container_id)
        self.used = {container_id}  # the containers asked (the caller checks they stayed)
        self.stats = 0
        self._cache: dict[str, dict[str, Any] | None] = {}
        self._links: dict[str, str | None] = {}

    def stat(self, path: str) -> dict[str, Any] | None:
        if path not in self._cache:
            self.stats += 1
            self._cache[path] = self.engine.stat_path(self.container_id, path)
        return self._cache[path]

    def prefetch(self, paths: Iterable[str]) -> None:
        """Stat the paths side by side, each through one of the containers in turn, when
        there are several; with one container, nothing (stats stay lazy and sequential, as
        the first shell found ends the search)."""
        todo = [p for p in dict.fromkeys(paths) if p not in self._cache]
        if not self.spread or len(todo) < 2:
            return
        from concurrent.futures import ThreadPoolExecutor  # not on `dhitui debug`'s path

        through = (self.container_id, *self.spread)
        with ThreadPoolExecutor(len(through), thread_name_prefix="dhitui-stat") as pool:
            futures = {path: pool.submit(self.engine.stat_path, through[i % len(through)], path)
                       for i, path in enumerate(todo)}
            self.used.update(through[:len(todo)])
            for path, fut in futures.items():
                self.stats += 1
                self._cache[path] = fut.result()

    def link_text(self, path: str) -> str | None:
        """A symlink's own text (one small archive read, cached)."""
        if path not in self._links:
            self._links[path] = self.engine.read_link(self.container_id, path)
        return self._links[path]

    def resolve(self, path: str) -> Resolved:
        """Follow a symlink chain to an executable regular file. Cheap: the engine's path
        stat reports where a link ends (`linkTarget`, resolved and absolute)."""
        hops: list[str] = []
        current = path
        for _ in range(MAX_LINK_HOPS):
            st = self.stat(current)
            if st is None:
                return Resolved(None, hops)
            mode = int(st.get("mode", 0))
            target = str(st.get("linkTarget") or "")
            if mode & GO_MODE_SYMLINK and target:
                # Docker reports the resolved absolute path; an engine reporting the link's
                # text instead gets it joined to the link's directory.
                nxt = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
                hops.append(nxt)
                current = nxt
                continue
            if mode & GO_MODE_DIR or not mode & 0o111:
                return Resolved(None, hops)
            return Resolved(current, hops)
        return Resolved(None, hops)

    def relocation(self, path: str) -> Relocation:
        """Would `path` still lead to the same file with the image mounted at another place?

        Walks the path component by component as the kernel would, reading every symlink's
        own text (a directory link such as `bin -> usr/bin` counts too). An absolute link,
        or a relative one whose `..` climbs above the image's root, would leave the image
        once it is mounted elsewhere and resolve in the other root instead."""
        links: list[str] = []
        pending = [c for c in path.split("/") if c]
        here: list[str] = []  # the directory reached so far, as components below the root
        for _ in range(MAX_PATH_STEPS):
            if not pending:
                return Relocation(True, tuple(links))
            comp = pending.pop(0)
            if comp == ".":
                continue
            if comp == "..":
                if not here:
                    return Relocation(False, tuple(links),
                                      f"a relative symlink that climbs above the image's "
                                      f"root ({', '.join(links)})")
                here.pop()
                continue
            current = "/" + "/".join([*here, comp])
            st = self.stat(current)
            if st is None:
                return Relocation(False, tuple(links), f"a missing path ({current})")
            if not int(st.get("mode", 0)) & GO_MODE_SYMLINK:
                here.append(comp)
                continue
            text = self.link_text(current)
            if text is None:
                return Relocation(False, tuple(links),
                                  f"a symlink that could not be read ({current})")
            links.append(f"{current} -> {text}")
            if text.startswith("/"):
                return Relocation(False, tuple(links),
                                  f"an absolute symlink ({', '.join(links)})")
            pending = [c for c in text.split("/") if c] + pending
        return Relocation(False, tuple(links), f"too many symlinks ({', '.join(links[:4])}…)")


def read_passwd(engine: Engine, container_id: str) -> dict[str, tuple[int, int]]:
    """name -> (uid, gid) from the container's /etc/passwd ({} when it has none)."""
    raw = engine.read_file(container_id, "/etc/passwd", limit=ACCOUNTS_LIMIT)
    return parse_passwd(raw.decode(errors="replace")) if raw else {}


def read_group_members(engine: Engine, container_id: str
                       ) -> dict[str, tuple[int, tuple[str, ...]]]:
    """name -> (gid, members) from the container's /etc/group ({} when it has none)."""
    raw = engine.read_file(container_id, "/etc/group", limit=ACCOUNTS_LIMIT)
    return parse_group_members(raw.decode(errors="replace")) if raw else {}


PT_INTERP = 3


def elf_interpreter(head: bytes) -> str | None:
    """The program interpreter of an ELF executable from its first bytes: "" for a static
    binary, the interpreter path for a dynamic one, None when it cannot be told (not ELF,
    or the program headers lie beyond `head`)."""
    if len(head) < 64 or head[:4] != b"\x7fELF":
        return None
    is64 = head[4] == 2
    endian = "<" if head[5] == 1 else ">"
    try:
        if is64:
            phoff = struct.unpack_from(endian + "Q", head, 0x20)[0]
            phentsize, phnum = struct.unpack_from(endian + "HH", head, 0x36)
        else:
            phoff = struct.unpack_from(endian + "I", head, 0x1C)[0]
            phentsize, phnum = struct.unpack_from(endian + "HH", head, 0x2A)
        for i in range(phnum):
            base = phoff + i * phentsize
            if base + phentsize > len(head):
                return None
            p_type = struct.unpack_from(endian + "I", head, base)[0]
            if p_type != PT_INTERP:
                continue
            if is64:
                offset = struct.unpack_from(endian + "Q", head, base + 8)[0]
                size = struct.unpack_from(endian + "Q", head, base + 0x20)[0]
            else:
                offset = struct.unpack_from(endian + "I", head, base + 4)[0]
                size = struct.unpack_from(endian + "I", head, base + 16)[0]
            if offset + size > len(head):
                return None
            return head[offset : offset + size].split(b"\0", 1)[0].decode(errors="replace")
    except struct.error:
        return None
    return ""
