"""A real terminal for the apps under test: a pty of a fixed size, read by a virtual screen.

The app runs on the slave side of a pty, exactly as in a terminal emulator. A reader thread
timestamps every chunk the app writes, feeds it to `pyte` (a VT100/xterm screen model) and
checks the conditions the benchmark waits for ("a container name is on screen", "the cursor
row moved"). Textual asks the terminal whether it supports synchronized output (mode 2026);
this terminal says yes, so Textual brackets each frame with `ESC[?2026h … ESC[?2026l` and
conditions are checked on whole frames only, never on half-drawn ones. A condition's time is
the arrival time of the chunk that completed the frame in which it first held.
"""

from __future__ import annotations

import collections
import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pyte

SYNC_START = b"\x1b[?2026h"
SYNC_END = b"\x1b[?2026l"
SYNC_QUERY = b"\x1b[?2026$p"
SYNC_REPLY = b"\x1b[?2026;2$y"  # DECRPM: mode 2026 known, currently reset

KEYS = {
    "down": b"\x1b[B",
    "up": b"\x1b[A",
    "escape": b"\x1b",
    "enter": b"\r",
    "ctrl+q": b"\x11",
    "backspace": b"\x7f",
}

Screen = pyte.Screen


@dataclass
class _Waiter:
    predicate: Callable[[Screen], bool]
    not_before: float
    event: threading.Event = field(default_factory=threading.Event)
    at: float | None = None


class Terminal:
    """One process on a pty of `cols` x `rows`, with a virtual screen and timed waits."""

    def __init__(self, argv: Sequence[str], *, cols: int = 160, rows: int = 48,
                 env: Mapping[str, str] | None = None, cwd: str | None = None) -> None:
        self.argv = list(argv)
        self.cols, self.rows = cols, rows
        self.screen = pyte.Screen(cols, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        self._waiters: list[_Waiter] = []
        self._open_frames = 0
        self._tail = b""
        self.frames = 0
        self.frame_times: collections.deque[float] = collections.deque(maxlen=4096)
        self.bytes_read = 0
        self.last_output = 0.0
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = dict(os.environ if env is None else env)
        full_env.update(TERM="xterm-256color", COLORTERM="truecolor",
                        COLUMNS=str(cols), LINES=str(rows))
        full_env.pop("TEXTUAL", None)
        self.spawned_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv, stdin=slave, stdout=slave, stderr=slave, env=full_env, cwd=cwd,
            start_new_session=True, close_fds=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self._master = master
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    # ---- the reader
    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:
                break
            if not data:
                break
            now = time.monotonic()
            with self._lock:
                self.bytes_read += len(data)
                self.last_output = now
                scan = self._tail + data
                if SYNC_QUERY in scan:
                    os.write(self._master, SYNC_REPLY)
                starts, ends = scan.count(SYNC_START), scan.count(SYNC_END)
                self._tail = scan[-(len(SYNC_START) - 1):]
                self._stream.feed(data)
                self._open_frames = max(0, self._open_frames + starts - ends)
                if ends:
                    self.frames += ends
                    self.frame_times.append(now)
                if self._open_frames == 0:
                    self._check(now)

    def _check(self, now: float) -> None:
        for w in self._waiters:
            if w.at is None and now >= w.not_before and w.predicate(self.screen):
                w.at = now
                w.event.set()
        self._waiters = [w for w in self._waiters if w.at is None]

    # ---- waiting for what the screen shows
    def expect(self, predicate: Callable[[Screen], bool], *, not_before: float = 0.0) -> _Waiter:
        """Start watching for `predicate`; checked on every complete frame from now on."""
        w = _Waiter(predicate, not_before)
        with self._lock:
            self._waiters.append(w)
        return w

    def wait(self, w: _Waiter, timeout: float, what: str) -> float:
        """The time `w` first held; raises TimeoutError after `timeout` seconds."""
        if not w.event.wait(timeout):
            with self._lock:
                if w in self._waiters:
                    self._waiters.remove(w)
            tail = "\n".join(line.rstrip() for line in self.screen.display[:12])
            raise TimeoutError(f"{what}: not seen within {timeout:.0f}s; screen starts:\n{tail}")
        assert w.at is not None
        return w.at

    def wait_for(self, predicate: Callable[[Screen], bool], timeout: float, what: str,
                 *, not_before: float = 0.0) -> float:
        return self.wait(self.expect(predicate, not_before=not_before), timeout, what)

    def first_frame_after(self, t: float, timeout: float = 10.0) -> float:
        """The completion time of the first whole frame that arrived after `t`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                later = [f for f in self.frame_times if f > t]
            if later:
                return min(later)
            time.sleep(0.005)
        raise TimeoutError("no frame arrived")

    def quiet(self, seconds: float, timeout: float = 30.0) -> None:
        """Wait at least `seconds`, then until the app has written nothing for `seconds`."""
        time.sleep(seconds)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if time.monotonic() - self.last_output >= seconds:
                return
            time.sleep(0.02)

    def text(self) -> list[str]:
        with self._lock:
            return list(self.screen.display)

    # ---- input
    def send(self, data: str | bytes) -> float:
        """Write keys to the app; returns the time just before the write."""
        raw = KEYS.get(data, data.encode()) if isinstance(data, str) else data
        t = time.monotonic()
        os.write(self._master, raw)
        return t

    # ---- ending
    def close(self, quit_keys: str | bytes = "ctrl+q", timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            try:
                self.send(quit_keys)
                self.proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)
        self._reader.join(2)
        try:
            os.close(self._master)
        except OSError:
            pass
        return self.proc.returncode


# ---- reading the screen
# Table rows start their name cell at column 1 (cell padding); names elsewhere on screen (a
# side panel, the filter box) are not rows.
ROW_NAME_COLUMN = 1


def names_on(screen: Screen, pattern: re.Pattern[str]) -> list[str]:
    """The container names in table rows on screen, top to bottom."""
    found: list[str] = []
    for line in screen.display:
        m = pattern.match(line, ROW_NAME_COLUMN)
        if m:
            found.append(m.group(0))
    return found


def highlighted(screen: Screen, pattern: re.Pattern[str]) -> str | None:
    """The name on the table's cursor row: the one row whose background differs from the
    background all the other name rows share."""
    rows: list[tuple[str, str]] = []
    for y, line in enumerate(screen.display):
        m = pattern.match(line, ROW_NAME_COLUMN)
        if m:
            rows.append((m.group(0), screen.buffer[y][m.start()].bg))
    if len(rows) < 3:
        return None
    common = collections.Counter(bg for _, bg in rows).most_common(1)[0][0]
    odd = [name for name, bg in rows if bg != common]
    return odd[0] if len(odd) == 1 else None


def name_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(prefix) + r"\d{4}")
