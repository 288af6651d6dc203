"""Following a container's logs: the last lines, then new ones as the container writes them.

`LogFollower.run()` blocks (call it from a worker thread), handing over lines as text that is
safe to show (terminal control sequences stripped), until the container stops or `close()` is
called from another thread. A container that restarts (a crash loop, `docker restart`) is
followed across its restarts: the stream is reopened from the last line's timestamp, so no
line is shown twice. No Textual here.
"""

from __future__ import annotations

import calendar
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dhitui.detect.exitreason import container_status
from dhitui.errors import DhituiError, NotFound
from dhitui.textsafe import clean

if TYPE_CHECKING:
    from dhitui.engine.client import Engine, LogStream

# While a container is restarting, how often to look whether it runs again (the engine has no
# logs stream for a container that is not running; its restart delay is at least 100 ms).
RESTART_POLL = 0.25

Stamp = tuple[int, int]  # (seconds since the epoch, nanoseconds)


@dataclass(frozen=True)
class LogsEnd:
    """Why following stopped: the view closed it, the container stopped (`state` says how:
    "exited with code 1"), or the container was removed."""

    reason: Literal["closed", "stopped", "gone"]
    state: str = ""


def parse_stamp(text: str) -> Stamp | None:
    """The engine's RFC 3339 (nano) UTC timestamp as (seconds, nanoseconds), or None."""
    if len(text) < 20 or text[10] != "T" or not text.endswith("Z"):
        return None
    try:
        seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    fraction = text[19:-1]
    if fraction and (fraction[0] != "." or not fraction[1:].isdigit()):
        return None
    return seconds, int((fraction[1:] + "000000000")[:9]) if fraction else 0


def state_text(state: dict[str, object]) -> str:
    """A container's State (inspect) in a few words: "exited with code 137 (OOM killed)"."""
    status = str(state.get("Status") or "unknown")
    if status == "exited":
        text = f"exited with code {state.get('ExitCode', '?')}"
        if state.get("OOMKilled"):
            text += " (OOM killed)"
        if state.get("Error"):
            text += f": {clean(state['Error'], keep_newlines=False)}"
        return text
    return status


class LogFollower:
    """One container's logs, followed. Thread-safe `close()`; `run()` once."""

    def __init__(self, engine: Engine, container_id: str, *, tail: int = 500) -> None:
        self.engine = engine
        self.container_id = container_id
        self.tail = tail
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._stream: LogStream | None = None
        self._last: Stamp | None = None  # the last line handed over
        self._seen: Stamp | None = None  # a reopened stream repeats lines up to this one
        self._partial = b""

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def run(self, on_lines: Callable[[list[str]], object],
            on_restart: Callable[[str], object] | None = None) -> LogsEnd:
        """Hand over lines (each chunk's complete lines at once) until the end; raises
        EngineUnavailable when the engine goes away, NotFound if the container is gone
        before anything could be read."""
        first = True
        while not self._closed.is_set():
            if first:
                stream = self.engine.log_stream(self.container_id, tail=self.tail)
            else:
                # From the last line's second on (the API's `since` is coarser than the
                # stamps); what was already shown is skipped by its stamp.
                self._seen = self._last
                since = None if self._last is None else float(self._last[0])
                stream = self.engine.log_stream(self.container_id, since=since or None)
            first = False
            with self._lock:
                self._stream = stream
            if self._closed.is_set():  # closed while opening
                stream.close()
                break
            for chunk in stream:
                lines = self._lines(chunk)
                if lines:
                    on_lines(lines)
            if self._partial:  # the container ended without a final newline
                lines = self._lines(b"\n")
                if lines:
                    on_lines(lines)
            if self._closed.is_set():
                break
            try:
                inspect = self.engine.inspect_container(self.container_id)
            except NotFound:
                return LogsEnd("gone")
            if not self._wait_while_restarting(inspect):
                return LogsEnd("stopped", state_text(self._inspect().get("State") or {}))
            if on_restart is not None:
                on_restart(state_text(inspect.get("State") or {}))
        return LogsEnd("closed")

    def _inspect(self) -> dict[str, Any]:
        try:
            return dict(self.engine.inspect_container(self.container_id))
        except DhituiError:
            return {}

    def _wait_while_restarting(self, inspect: dict[str, Any]) -> bool:
        """After the stream ended: True when the container runs again (follow on).
        Restarting as every engine says it (detect.exitreason.container_status)."""
        while not self._closed.is_set():
            status = container_status(inspect)
            if status in ("running", "paused"):
                return True
            if status != "restarting":
                return False
            if self._closed.wait(RESTART_POLL):
                return False
            inspect = self._inspect()
        return False

    def _lines(self, chunk: bytes) -> list[str]:
        """Complete lines of the chunk (the rest waits for the next one), timestamps
        removed, lines already handed over (a reopened stream) skipped, text cleaned."""
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        out = []
        for raw in complete:
            line = raw.decode("utf-8", errors="replace")
            stamp_text, _, text = line.partition(" ")
            stamp = parse_stamp(stamp_text)
            if stamp is None:  # not stamped (should not happen): show it as it is
                text = line
            else:
                if self._seen is not None and stamp <= self._seen:
                    continue
                self._last = stamp
            out.append(clean(text, keep_newlines=False).replace("\t", "    "))
        return out
