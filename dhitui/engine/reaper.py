"""A sidecar's keeper of last resort: removes it if dhitui dies without doing so.

Over the Engine API nothing else holds a session: if dhitui is killed outright (`kill -9`,
OOM), the attach connection closes, and a sidecar with a TTY keeps running (the engine does
not close a TTY's input when its client goes; AutoRemove only acts once it exits). So each
sidecar session starts a small keeper process first (`dhitui.engine.keeper`, an interpreter
with nothing imported, so that it costs little CPU while the sidecar starts). It waits for its
stdin to end. dhitui writes the container (one JSON line) once it exists, and `done` before
closing the pipe when it has cleaned up itself; if the pipe ends without that (dhitui died),
the keeper runs

    python -m dhitui.engine.reaper REQUEST      (REQUEST: that JSON line)

which connects to the engine and removes the container. The keeper runs in its own session
so the terminal's signals (Ctrl-C, hang-up) do not reach it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import asdict
from typing import IO, TYPE_CHECKING

from dhitui.engine import keeper
from dhitui.engine.keeper import DONE

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
        self._endpoint = endpoint
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
        if self._stdin is None:
            return
        data = {"endpoint": {**asdict(self._endpoint), "candidates": []},
                "container": container, "volumes": volumes}
        with contextlib.suppress(OSError):
            self._stdin.write(json.dumps(data).encode() + b"\n")
            self._stdin.flush()

    def done(self) -> None:
        """dhitui has cleaned up: the reaper exits without doing anything. Not waited for
        (its interpreter's exit would hold up the session's end): its exit is collected
        when the next keeper starts, or goes with dhitui's own."""
        if self._stdin is None or self._proc is None:
            return
        with contextlib.suppress(OSError):
            self._stdin.write(DONE)
            self._stdin.close()
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
            engine.remove_container(str(request["container"]), force=True,
                                    volumes=bool(request.get("volumes", True)))
        finally:
            engine.close()
    except DhituiError:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
