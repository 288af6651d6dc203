"""Can the container's start command run at all? Checked without running anything.

Like `docker debug`'s `entrypoint` built-in, but through the archive API only (works on
stopped, crash-looping and running containers alike): the program the container starts
(ENTRYPOINT, else CMD; a bare name looked up in the container's PATH, a relative one in its
working directory) must exist, be a regular file with an execute bit, and then:

- a script (`#!`): its interpreter must exist and be executable (`#!/usr/bin/env NAME`: env
  and NAME on the PATH). "`/app/start.sh` starts with `#!/bin/sh`, and this image has no
  `/bin/sh`" is the classic hardened-image crash: the kernel reports the *script* as not
  found, and the container exits with 127 (or runc's `exec …: no such file or directory`);
- an ELF binary: a dynamically linked one needs its loader (PT_INTERP, e.g.
  `/lib64/ld-linux-x86-64.so.2`), which a static or distroless base may lack.

Check id `container.start`; data: {program, path, resolved, kind, interpreter, missing}.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dhitui.detect.remotefs import PathProber, elf_interpreter
from dhitui.diagnostics.check import Check, ContainerRef
from dhitui.engine.client import GO_MODE_DIR, GO_MODE_SYMLINK, Engine

CHECK_ID = "container.start"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_HOPS = 16
HEAD = 4096


@dataclass(frozen=True)
class Found:
    """Where a path leads: `kind` is file, missing, dangling, directory, loop."""

    path: str
    kind: str
    resolved: str | None = None  # the file reached through symlinks
    executable: bool = False


def follow(prober: PathProber, path: str) -> Found:
    """Follow `path`'s symlinks to what they reach (absolute targets resolve in the
    container's root, as the engine reports them)."""
    current = path
    for _ in range(MAX_HOPS):
        st = prober.stat(current)
        if st is None:
            return Found(path, "missing" if current == path else "dangling", current)
        mode = int(st.get("mode", 0))
        target = str(st.get("linkTarget") or "")
        if mode & GO_MODE_SYMLINK and target:
            current = posixpath.normpath(
                target if target.startswith("/")
                else posixpath.join(posixpath.dirname(current), target))
            continue
        if mode & GO_MODE_DIR:
            return Found(path, "directory", current)
        return Found(path, "file", current, executable=bool(mode & 0o111))
    return Found(path, "loop", current)


def _env(config: Mapping[str, Any], key: str) -> str | None:
    for item in config.get("Env") or []:
        if isinstance(item, str) and item.startswith(key + "="):
            return item[len(key) + 1:]
    return None


def locate(prober: PathProber, program: str, path_env: str, workdir: str) -> Found:
    """The file `program` names as the runtime would find it."""
    if program.startswith("/"):
        return follow(prober, program)
    if "/" in program:
        return follow(prober, posixpath.normpath(posixpath.join(workdir or "/", program)))
    first: Found | None = None
    for directory in [d for d in path_env.split(":") if d.startswith("/")]:
        found = follow(prober, posixpath.join(directory, program))
        if found.kind == "file" and found.executable:
            return found
        if first is None and found.kind != "missing":
            first = found
    return first or Found(program, "missing")


def parse_shebang(head: bytes) -> list[str] | None:
    """The `#!` line's words (interpreter first), or None when it is not a script."""
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].decode(errors="replace").strip()
    return line.split() or [""]


def check_start(engine: Engine, inspect: Mapping[str, Any]) -> Check:
    """The `container.start` check for one container (its inspect)."""
    config = inspect.get("Config") or {}
    ref = ContainerRef(str(inspect.get("Id", "")), str(inspect.get("Name", "")).lstrip("/"))
    argv = [str(a) for a in (config.get("Entrypoint") or [])] + [
        str(a) for a in (config.get("Cmd") or [])]
    if not argv or not argv[0]:
        return Check(CHECK_ID, "fail", "the container has no command: no ENTRYPOINT and no CMD",
                     detail="The engine has nothing to start.",
                     fix="give the image an ENTRYPOINT (exec form) or pass a command",
                     container=ref, data={"program": None})
    program = argv[0]
    path_env = _env(config, "PATH") or DEFAULT_PATH
    prober = PathProber(engine, ref.id)
    found = locate(prober, program, path_env, str(config.get("WorkingDir") or "/"))
    data: dict[str, Any] = {"program": program, "path": found.path, "resolved": found.resolved,
                            "kind": found.kind, "interpreter": None, "missing": None}
    what = f"the start command `{shlex.join(argv)}`"
    if found.kind != "file":
        data["missing"] = found.resolved or program
        summary = {
            "missing": f"{program} does not exist in the container"
                       + ("" if "/" in program else " (looked in its PATH)"),
            "dangling": f"{program} is a symlink to {found.resolved}, which does not exist",
            "directory": f"{program} is a directory, not a program",
            "loop": f"{program} is a symlink loop",
        }[found.kind]
        return Check(CHECK_ID, "fail", summary,
                     detail=f"{what} cannot start.",
                     fix="copy the program into the image at that path (or fix the ENTRYPOINT); "
                         f"`dhitui debug {ref.name or ref.id[:12]}` opens the container's files",
                     container=ref, data=data)
    assert found.resolved is not None
    if not found.executable:
        return Check(CHECK_ID, "fail", f"{found.resolved} is not executable (no x bit)",
                     detail=f"{what} cannot start (permission denied).",
                     fix=f"make it executable in the image: `COPY --chmod=755 … "
                         f"{found.resolved}` or `RUN chmod +x {found.resolved}` in a build "
                         "stage", container=ref, data=data)
    head = engine.read_file_head(ref.id, found.resolved, HEAD) or b""
    words = parse_shebang(head)
    if words is not None:
        return _script_check(prober, ref, found, words, path_env, what, data)
    loader = elf_interpreter(head)
    if loader:
        data["interpreter"] = loader
        got = follow(prober, loader)
        if got.kind != "file":
            data["missing"] = loader
            return Check(CHECK_ID, "fail",
                         f"{found.resolved} is dynamically linked, and its loader {loader} is "
                         "not in the image",
                         detail=f"{what} fails at start with `no such file or directory` "
                                "although the program is there: the kernel cannot find the "
                                "loader it names.",
                         fix="build the program statically (e.g. CGO_ENABLED=0, or -static), "
                             "or use a base image with that C library", container=ref, data=data)
        return Check(CHECK_ID, "ok", f"{found.resolved} is a dynamically linked program; its "
                     f"loader {loader} is there", container=ref, data=data)
    if loader == "":
        return Check(CHECK_ID, "ok", f"{found.resolved} is a static program",
                     container=ref, data=data)
    data["kind"] = "unknown-format"
    return Check(CHECK_ID, "warn", f"{found.resolved} is executable, but neither a script (#!) "
                 "nor a program this check can read",
                 detail=f"If it is not a binary for this machine, {what} fails with `exec "
                        "format error`.", container=ref, data=data)


def _script_check(prober: PathProber, ref: ContainerRef, found: Found, words: list[str],
                  path_env: str, what: str, data: dict[str, Any]) -> Check:
    interpreter = words[0]
    data["kind"] = "script"
    data["interpreter"] = interpreter
    script = found.resolved
    if not interpreter.startswith("/"):
        data["missing"] = interpreter or "(empty)"
        return Check(CHECK_ID, "fail", f"{script} starts with `#!{interpreter}`, which is not "
                     "an absolute path", detail=f"{what} cannot start (exec format error).",
                     fix="make the first line `#!/ABSOLUTE/PATH`", container=ref, data=data)
    got = follow(prober, interpreter)
    if got.kind != "file" or not got.executable:
        data["missing"] = interpreter
        return Check(
            CHECK_ID, "fail",
            f"{script} starts with `#!{interpreter}`, and this image has no {interpreter}",
            detail=f"{what} fails at start with `no such file or directory` although "
                   f"{script} is there: the kernel cannot find its interpreter. Hardened and "
                   "distroless images ship no shell.",
            fix="run the app directly in exec form (ENTRYPOINT [\"/path/to/app\", …]) instead "
                "of through a shell script, or build on a variant that has the interpreter "
                "(e.g. a -dev image)", container=ref, data=data)
    if posixpath.basename(interpreter) == "env" and len(words) > 1:
        name = words[1] if words[1] != "-S" or len(words) < 3 else words[2]
        target = locate(prober, name, path_env, "/")
        if target.kind != "file" or not target.executable:
            data["missing"] = name
            return Check(
                CHECK_ID, "fail",
                f"{script} starts with `#!{' '.join(words)}`, and {name} is not on the "
                "container's PATH",
                detail=f"{what} fails: env cannot find {name}.",
                fix=f"install {name} in the image, or run the app directly in exec form",
                container=ref, data=data)
    return Check(CHECK_ID, "ok", f"{script} is a script for {interpreter}, which is there",
                 container=ref, data=data)
