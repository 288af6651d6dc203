"""What a session does to dhitui's own process while it runs: the signals it takes over
(`SignalGuard`: SIGINT belongs to the session, SIGTERM/SIGHUP end it, raising `Stop`) and
the terminal settings it puts back afterwards (`SavedTerminal`)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any


class Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class SignalGuard:
    """While the child owns the terminal: SIGINT is the session's, SIGTERM/SIGHUP end it.

    Handlers (not SIG_IGN) are used on purpose: exec resets handled signals to their
    defaults in the child, while ignored ones would stay ignored in the docker CLI."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self, on_sigint: Callable[[], None] | None = None, *,
                 interrupt: bool = False) -> None:
        self.on_sigint = on_sigint  # over the API: Ctrl-C without a TTY, for the session
        self.interrupt = interrupt  # SIGINT ends it too (before the session has the terminal)
        self.active = threading.current_thread() is threading.main_thread()
        self.stopping = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> SignalGuard:
        if self.active:
            for sig in self.SIGNALS:
                self._old[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and not self.interrupt:
            if self.on_sigint is not None:
                self.on_sigint()
            return
        if self.stopping:
            return
        self.stopping = True
        raise Stop(signum)


class SavedTerminal:
    """The controlling terminal's settings, saved before the child and put back after it
    (the docker CLI makes the terminal raw; if it dies abruptly, it cannot undo that)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.attrs: list[Any] | None = None
        try:
            import termios

            if os.isatty(fd):
                self.attrs = termios.tcgetattr(fd)
        except (ImportError, OSError):
            self.attrs = None

    def restore(self) -> None:
        if self.attrs is None:
            return
        import termios

        # The terminal may have gone away (hang-up): then there is nothing to restore.
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.attrs)
