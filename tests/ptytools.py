"""Drive a program through a real pseudo-terminal and read its screen like a person would.

pexpect gives the pty; pyte interprets everything written to it (cursor moves, colours,
alternate screen) into a screen of characters we can search.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import pexpect
import pyte


class Terminal:
    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], cols: int = 150,
                 rows: int = 45, cwd: str | None = None) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.transcript = bytearray()
        self.child = pexpect.spawn(argv[0], list(argv[1:]), env=dict(env), cwd=cwd,
                                   dimensions=(rows, cols), timeout=None)

    def _pump(self, timeout: float) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            raise
        self.transcript.extend(data)
        self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, needle: str, timeout: float = 30.0) -> None:
        """Wait until `needle` is on the screen (polling the pty with a deadline)."""
        self._wait_screen(needle, True, timeout)

    def wait_for_absent(self, needle: str, timeout: float = 30.0) -> None:
        """Wait until `needle` is no longer on the screen."""
        self._wait_screen(needle, False, timeout)

    def _wait_screen(self, needle: str, present: bool, timeout: float) -> None:
        state = "on screen" if present else "gone from the screen"
        deadline = time.monotonic() + timeout
        while (needle in self.text()) != present:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} not {state} after {timeout:.0f}s:\n"
                                     f"{self.text()}")
            try:
                self._pump(min(remaining, 0.2))
            except pexpect.EOF:
                raise AssertionError(f"program exited before {needle!r} was {state}:\n"
                                     f"{self.text()}") from None

    def wait_for_output(self, needle: bytes, timeout: float = 30.0) -> None:
        """Wait until `needle` appears in the raw output since the start."""
        deadline = time.monotonic() + timeout
        while needle not in self.transcript:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} not in output after {timeout:.0f}s")
            self._pump(min(remaining, 0.2))

    def send(self, data: str) -> None:
        self.child.send(data)

    def wait_exit(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.child.isalive():
            if time.monotonic() > deadline:
                raise AssertionError("program did not exit")
            try:
                self._pump(0.2)
            except pexpect.EOF:
                break
        # What the program wrote just before it exited may still wait in the pty: read it
        # up to the end of the output, or its last words are missing from the transcript.
        drain_until = time.monotonic() + 5.0
        while time.monotonic() < drain_until:
            try:
                self._pump(0.2)
            except pexpect.EOF:
                break
        self.child.wait()
        return int(self.child.exitstatus if self.child.exitstatus is not None
                   else 128 + (self.child.signalstatus or 0))

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
