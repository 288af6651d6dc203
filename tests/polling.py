"""Waiting in tests: one poll with a deadline, instead of a hand-written loop per test.

`poll(what, fn)` calls `fn` until it returns something truthy and returns that; after
`timeout` seconds it fails with what it waited for and the last value `fn` returned (or what
`show` says), so a failure says what was awaited and how far it got. `poll_app` does the
same while a Textual app runs under its pilot (it yields to the app between tries).

A poll is for a state the test cannot be told about; where an event says it (a process
exit, a line on a pipe, a message), wait for that instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from textual.pilot import Pilot

T = TypeVar("T")

TIMEOUT = 60.0  # seconds; an engine under the whole suite's load can take this long
INTERVAL = 0.1
APP_TIMEOUT = 30.0
APP_INTERVAL = 0.05


def _timed_out(what: str, timeout: float, last: object) -> AssertionError:
    shown = repr(last)
    if len(shown) > 2000:
        shown = shown[:2000] + "…"
    return AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {shown})")


def poll(what: str, fn: Callable[[], T], timeout: float = TIMEOUT, *,
         interval: float = INTERVAL, show: Callable[[], object] | None = None) -> T:
    """`fn()`'s first truthy value, tried every `interval` seconds for `timeout` seconds;
    then an AssertionError naming `what` and the last value (or `show()`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, show() if show else value)
        time.sleep(interval)


async def poll_app(pilot: Pilot[int], what: str, fn: Callable[[], T],
                   timeout: float = APP_TIMEOUT, *, show: Callable[[], object] | None = None
                   ) -> T:
    """`poll` while the app runs: between tries the app handles its messages."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, show() if show else value)
        await pilot.pause(APP_INTERVAL)
