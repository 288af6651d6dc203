"""A session's keeper of last resort: removes what the session made if dhitui dies first.

Over the Engine API nothing else holds a session: if dhitui is killed outright (`kill -9`,
OOM), the attach connection closes, and a sidecar with a TTY keeps running (the engine does
not close a TTY's input when its client goes; AutoRemove only acts once it exits), and a
snapshot session's images stay. So sidecar and snapshot sessions start a small keeper
process first (`dhitui.engine.keeper`, an interpreter with nothing imported, so that it
costs little CPU while the session starts). It waits for its stdin to end. dhitui writes
what to remove (one JSON line, rewritten as more is known: a container, and for a snapshot
session the session itself), `wait PID` for a docker CLI process that holds the session
(through the CLI transport), and `done` before closing the pipe when it has cleaned up
itself. If the pipe ends without `done`, the keeper waits for those processes, then runs

    python -m dhitui.engine.reaper REQUEST      (REQUEST: that JSON line)

which connects to the engine and removes the container, then every container and image
labelled with the session (a snapshot's sidecar and helpers, its images), and goes on
looking for a while for an image a commit still under way will add (the engine finishes a
commit whose client has gone). The keeper runs in its own session so the terminal's signals
(Ctrl-C, hang-up) do not reach it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import asdict
from typing import IO, TYPE_CHECKING, Any

from dhitui.engine import keeper
from dhitui.engine.keeper import DONE, WAIT

if TYPE_CHECKING:
    from dhitui.engine.endpoint import Endpoint

# Keepers told `done` whose exit has not been collected yet (see Reaper.done).
_finishing: list[subprocess.Popen[bytes]] = []


def _collect() -> None:
    """Collect the exit of keepers that have ended (no zombies left behind in a long-lived
    process such as the TUI)."""
    _finishing[:] = [p for p in _finishing if p.poll() is None]


class Reaper:
    """The parent's end: start before the sidecar is created, `done()` after cleanup."""

    def __init__(self, endpoint: Endpoint) -> None:
        _collect()
        self._stdin: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._request: dict[str, Any] = {"endpoint": {**asdict(endpoint), "candidates": []}}
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", _keeper_path()], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                close_fds=True, env={**os.environ, "PYTHONPATH": _package_root()},
            )
            self._stdin = self._proc.stdin
        except OSError:
            self._proc = None  # no keeper: the session still cleans up after itself

    def watch(self, container: str, *, volumes: bool = True) -> None:
        """Remove this container if dhitui dies (`volumes`: its anonymous volumes too)."""
        self._request.update(container=container, volumes=volumes)
        self._send(json.dumps(self._request).encode())

    def watch_session(self, session: str, *, images: bool, pending: bool = False) -> None:
        """Remove every container labelled with this session if dhitui dies, keeping their
        volumes (a snapshot's sidecar borrows its target's); `images`: its images too;
        `pending`: a commit may be under way, whose image comes later (said again with
        False once the commits are done)."""
        self._request.update(session=session, images=images, pending=pending, volumes=False)
        self._send(json.dumps(self._request).encode())

    def wait_for(self, pid: int) -> None:
        """Reap only once this process (a docker CLI holding the session) has ended too."""
        self._send(WAIT + str(pid).encode())

    def _send(self, line: bytes) -> None:
        if self._stdin is None:
            return
        with contextlib.suppress(OSError):
            self._stdin.write(line + b"\n")
            self._stdin.flush()

    def hand_over(self) -> None:
        """dhitui could not finish its cleanup (a commit still under way): the keeper does
        it now, as if dhitui had died."""
        if self._stdin is None or self._proc is None:
            return
        with contextlib.suppress(OSError):
            self._stdin.close()
        self._finish()

    def done(self) -> None:
        """dhitui has cleaned up: the reaper exits without doing anything. Not waited for
        (its interpreter's exit would hold up the session's end): its exit is collected
        when the next keeper starts, or goes with dhitui's own."""
        if self._stdin is None or self._proc is None:
            return
        with contextlib.suppress(OSError):
            self._stdin.write(DONE)
            self._stdin.close()
        self._finish()

    def _finish(self) -> None:
        if self._proc is not None:
            _finishing.append(self._proc)
        self._proc = None
        _collect()


def _keeper_path() -> str:
    return os.path.abspath(keeper.__file__)


def _package_root() -> str:
    import dhitui

    root = os.path.dirname(os.path.dirname(os.path.abspath(dhitui.__file__)))
    existing = os.environ.get("PYTHONPATH")
    return f"{root}:{existing}" if existing else root


# How long to go on looking for a snapshot image a commit under way will still add.
LATE_IMAGES = 60.0
LOOK_EVERY = 2.0
IMAGE_PASSES = 3  # per look: a session's images are at most a base and its child
LIST_TRIES = 5  # lists that fail before the reaper gives up (what is left, --cleanup finds)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m dhitui.engine.reaper REQUEST (started by the "
                         "keeper, see dhitui.engine.keeper)\n")
        return 2
    request = json.loads(args[0])
    from dhitui.engine.client import connect
    from dhitui.engine.endpoint import Endpoint, TLSFiles
    from dhitui.errors import DhituiError

    ep = dict(request["endpoint"])
    tls = ep.pop("tls", None)
    ep.pop("candidates", None)
    endpoint = Endpoint(**ep, tls=TLSFiles(**tls) if tls else None)
    try:
        engine = connect(endpoint)
        try:
            volumes = bool(request.get("volumes", True))
            if request.get("container"):
                engine.remove_container(str(request["container"]), force=True,
                                        volumes=volumes)
            if request.get("session"):
                _sweep_session(engine, str(request["session"]),
                               images=bool(request.get("images")),
                               pending=bool(request.get("pending")), volumes=volumes)
        finally:
            engine.close()
    except DhituiError:
        return 1
    return 0


def _sweep_session(engine: Any, session: str, *, images: bool, pending: bool,
                   volumes: bool) -> None:
    """Every container, then every image, labelled with the session; with `pending` (a
    commit was under way when dhitui died), for a while longer, for the image it adds."""
    import time

    from dhitui.errors import DhituiError

    label = {"label": [f"dhitui.session={session}"]}
    end = time.monotonic() + (LATE_IMAGES if images and pending else 0.0)
    failed_lists = 0
    while True:
        try:
            for c in engine.list_containers(all=True, filters=label):
                with contextlib.suppress(DhituiError):
                    engine.remove_container(str(c["Id"]), force=True, volumes=volumes)
            if images:
                # Newest first, and a few passes: an image cannot go while a child of it
                # (the session's image, committed from its base) is there, and two commits
                # made in the same second do not sort.
                for _ in range(IMAGE_PASSES):
                    left = sorted(engine.list_images(filters=label),
                                  key=lambda i: int(i.get("Created") or 0), reverse=True)
                    if not left:
                        break
                    for image in left:
                        with contextlib.suppress(DhituiError):
                            engine.remove_image(str(image["Id"]), force=True)
        except DhituiError:
            # A list can fail while something else removes an image (Podman answers 500
            # for an image it is deleting): look again, a few times.
            failed_lists += 1
            if failed_lists >= LIST_TRIES:
                raise
        else:
            if time.monotonic() >= end:
                return
        time.sleep(LOOK_EVERY)


if __name__ == "__main__":
    raise SystemExit(main())
