"""Open streams from the engine that another thread can close: its events (`/events`,
decoded, only news told) and a container's followed logs.

The TUI's live list follows the first, the logs view the second; `Engine.event_stream()`
and `Engine.log_stream()` open them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dhitui.engine.endpoint import Endpoint
from dhitui.engine.failures import UNREACHABLE, unavailable
from dhitui.errors import EngineUnavailable

# How far behind the newest event one may be and still be news. Events are written in
# about the order they happen, give or take the writers' race for the log (milliseconds).
REPLAY_TOLERANCE_NS = 1_000_000_000


def event_time_ns(event: dict[str, Any]) -> int:
    """When an event happened, in nanoseconds since the epoch (0 when it does not say)."""
    for key, scale in (("timeNano", 1), ("time", 1_000_000_000)):
        value = event.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value * scale
    return 0


class EventStream:
    """An open `/events` stream that another thread can close.

    Only news is told: an event from before `not_before_ns` (engine time), more than
    REPLAY_TOLERANCE_NS older than the newest one already told, or the same as one told
    (same time, type, action and actor) is dropped. Podman's file
    events logger (the default where there is no systemd: containers, CI) rotates its log
    at `events_logfile_max_size` (1 MB), and a following stream then reads the new file from
    its start, replaying hundreds of old events, many of them twice."""

    def __init__(self, endpoint: Endpoint, stream: Any, *, not_before_ns: int = 0) -> None:
        self._endpoint = endpoint
        self._stream = stream
        self._closed = False
        self._not_before_ns = not_before_ns
        self.replayed = 0  # old events dropped (see the class docstring)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        newest = self._not_before_ns + REPLAY_TOLERANCE_NS
        recent: dict[tuple[Any, ...], int] = {}  # told within the tolerance: key -> time
        try:
            for event in self._stream:
                if not isinstance(event, dict):
                    continue
                at = event_time_ns(event)
                key = (at, event.get("Type"), event.get("Action"),
                       (event.get("Actor") or {}).get("ID"))
                if at and (at < newest - REPLAY_TOLERANCE_NS or key in recent):
                    self.replayed += 1
                    continue
                newest = max(newest, at)
                if len(recent) > 512:  # forget what the time check alone now drops
                    recent = {k: t for k, t in recent.items()
                              if t >= newest - REPLAY_TOLERANCE_NS}
                if at:
                    recent[key] = at
                yield event
        except Exception as exc:
            if self._closed:
                return
            raise unavailable(self._endpoint, exc) from None
        if not self._closed:
            # The engine ended the stream: it is going away.
            raise EngineUnavailable("the engine closed its event stream", kind=UNREACHABLE)

    def close(self) -> None:
        self._closed = True
        # Already closed or never connected: nothing to do.
        with contextlib.suppress(Exception):
            self._stream.close()


class LogStream:
    """An open, followed logs stream that another thread can close. Iterating gives the raw
    chunks (stdout and stderr interleaved as written) until the container stops."""

    def __init__(self, endpoint: Endpoint, stream: Any) -> None:
        self._endpoint = endpoint
        self._stream = stream
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._stream:
                if isinstance(chunk, bytes):
                    yield chunk
        except Exception as exc:
            if self.closed:
                return
            raise unavailable(self._endpoint, exc) from None

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(Exception):
            self._stream.close()
