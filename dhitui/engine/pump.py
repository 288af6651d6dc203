"""A session's bytes, moved between the local terminal and a hijacked connection to the
engine, until the remote side ends (used by `attach`'s sessions).

With a TTY the local terminal is put in raw mode (every byte, Ctrl-C/Z/D too, goes to the
remote TTY) and restored on every way out; the remote size follows the local one (set after
start and again once the first output shows the process is up — a resize before that can be
lost — and on every SIGWINCH). Without a TTY the engine frames output (8-byte header:
stream, length): stdout and stderr go to their own descriptors; stdin is streamed and, at
its end, the connection is half-closed so the command sees EOF.

Bytes are moved with `os.read`/`os.write` and a non-blocking socket, so nothing is decoded,
and neither side can stall the other (stdin is read only while little is pending for the
engine). The connection is dhitui's own (`dhitui.engine.wire`): docker-py's hijacked
"socket" is a read-only `SocketIO` that keeps the client's timeout, and its HTTP reader may
already hold the first bytes after the 101 response; here those bytes are `leftover`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhitui.errors import DhituiError

if TYPE_CHECKING:
    from dhitui.engine.wire import Connection

CHUNK = 64 * 1024
MAX_PENDING = 256 * 1024  # bytes waiting for the engine before stdin is read again
SIZE_POLL = 0.5  # seconds between terminal size checks where SIGWINCH cannot be caught
START_WINDOW = 2.0  # seconds in which output is looked at for a start failure
# What the engines send in place of the output when the runtime cannot start a process in a
# container (runc and crun, through Docker Engine and Podman, with and without a TTY); the
# exit status (126 or 127) confirms it.
START_FAILURES = (
    b"OCI runtime exec failed", b"Error: runc: exec failed", b"Error: crun:",
    b"Error: OCI runtime", b"exec failed: unable to start container process",
)


@dataclass
class Controls:
    """What the caller (the session runner) can do to a running stream, from a signal
    handler: both only write a byte to a pipe the stream's loop watches."""

    _wake_w: int = -1
    interrupted: bool = False

    def interrupt(self) -> None:
        """Ctrl-C without a TTY: a sidecar gets SIGINT (like `docker run`'s signal proxy);
        an exec, which the API cannot signal, is left (like `docker exec`)."""
        self.interrupted = True
        self._poke(b"i")

    def _poke(self, what: bytes) -> None:
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, what)


@dataclass(frozen=True)
class Streams:
    stdin: int = 0
    stdout: int = 1
    stderr: int = 2


# --------------------------------------------------------------------------- terminal


@contextlib.contextmanager
def raw_terminal(fd: int, enabled: bool) -> Iterator[None]:
    """The terminal on `fd` in raw mode for the block, restored however the block ends."""
    if not enabled or not os.isatty(fd):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        # After a hang-up there is no terminal left to restore.
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size(fd: int) -> tuple[int, int] | None:
    """(rows, columns) of the terminal on `fd`, if it is one."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


# --------------------------------------------------------------------------- the connection


class Hijacked:
    """An upgraded HTTP connection as a two-way byte stream (non-blocking socket); the
    bytes that came with the `101` headers are `leftover`."""

    def __init__(self, conn: Connection, leftover: bytes) -> None:
        self._conn = conn
        self.sock: socket.socket = conn.sock
        self.sock.setblocking(False)
        self.leftover = leftover

    def pending_tls(self) -> bool:
        pending = getattr(self.sock, "pending", None)
        return bool(pending and pending())

    def close_write(self) -> None:
        """The end of input: the engine reads EOF, and output keeps coming. Over TLS that is
        a close_notify alert (`unwrap()`, not waiting for the engine's own): shutting the
        TCP socket down under an SSLSocket also drops its TLS state, so later reads would
        return the raw records."""
        if isinstance(self.sock, ssl.SSLSocket):
            with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLWantWriteError, OSError):
                self.sock.unwrap()
            return
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._conn.close()


# --------------------------------------------------------------------------- the stream


class Demux:
    """The engine's framing without a TTY: 8-byte header (stream, 3 zero bytes, length).

    An error after the upgrade (e.g. `OCI runtime exec failed: ... executable file not
    found`) is written by the engine as plain text, unframed: anything that is not a header
    is passed to stderr as it is, from there on."""

    def __init__(self, out: Callable[[int, bytes], None]) -> None:
        self.buf = bytearray()
        self.out = out
        self.raw = False

    def feed(self, data: bytes) -> None:
        if self.raw:
            self.out(2, data)
            return
        self.buf += data
        while len(self.buf) >= 8:
            if self.buf[0] > 2 or self.buf[1:4] != b"\0\0\0":
                self.raw = True
                rest, self.buf = bytes(self.buf), bytearray()
                self.out(2, rest)
                return
            stream, length = struct.unpack(">BxxxL", self.buf[:8])
            if len(self.buf) < 8 + length:
                return
            payload = bytes(self.buf[8 : 8 + length])
            del self.buf[: 8 + length]
            self.out(stream, payload)

    def flush(self) -> None:
        """At the end of the stream: a short unframed message is still text for stderr."""
        if self.buf:
            rest, self.buf = bytes(self.buf), bytearray()
            self.out(2, rest)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[n:]


class StartGate:
    """Holds the first output back while it could be the engine saying that the process
    did not start (START_FAILURES), for at most START_WINDOW seconds: anything else opens
    the gate, and what was held is passed on first, in order."""

    def __init__(self) -> None:
        self.held: list[tuple[int, bytes]] = []
        self.open = False
        self.deadline = time.monotonic() + START_WINDOW

    @property
    def text(self) -> bytes:
        return b"".join(data for _, data in self.held)

    def admit(self, stream: int, data: bytes) -> list[tuple[int, bytes]]:
        """What may be written now."""
        if self.open:
            return [(stream, data)]
        self.held.append((stream, data))
        text = self.text
        if any(text.startswith(m) or m.startswith(text) for m in START_FAILURES):
            return []
        return self.release()

    def release(self) -> list[tuple[int, bytes]]:
        self.open = True
        out, self.held = self.held, []
        return out

    def timeout(self) -> float | None:
        """Seconds until the gate opens by itself, while it holds something."""
        if self.open or not self.held:
            return None
        return max(0.0, self.deadline - time.monotonic())


class Pump:
    """Moves bytes between the local descriptors and the hijacked stream until the remote
    side ends. Signals reach it through a wake pipe (`w`: window resized, `i`: interrupt)."""

    def __init__(self, conn: Hijacked, *, tty: bool, streams: Streams,
                 resize: Callable[[int, int], None], controls: Controls,
                 on_interrupt: Callable[[], bool], gate: StartGate | None = None) -> None:
        self.conn = conn
        self.tty = tty
        self.streams = streams
        self.resize = resize
        self.controls = controls
        self.on_interrupt = on_interrupt
        self.demux = Demux(self._emit)
        self.to_engine = bytearray()
        self.stdin_open = _is_open(streams.stdin)
        self.half_closed = False
        self.seen_output = False
        self.size: tuple[int, int] | None = None
        self.gate = gate

    def _emit(self, stream: int, payload: bytes) -> None:
        chunks = [(stream, payload)] if self.gate is None else self.gate.admit(stream, payload)
        self.write(chunks)

    def write(self, chunks: list[tuple[int, bytes]]) -> None:
        for stream, payload in chunks:
            _write_all(self.streams.stderr if stream == 2 else self.streams.stdout, payload)

    def _output(self, data: bytes) -> None:
        if not self.seen_output:
            self.seen_output = True
            # The process is up: a resize sent before could have been lost.
            self._sync_size(force=True)
        if self.tty:
            self._emit(1, data)
        else:
            self.demux.feed(data)

    def _sync_size(self, force: bool = False) -> None:
        if not self.tty:
            return
        size = terminal_size(self.streams.stdin) or terminal_size(self.streams.stdout)
        if size is None or (size == self.size and not force):
            return
        self.size = size
        with contextlib.suppress(DhituiError):
            self.resize(*size)

    def run(self) -> None:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        self.controls._wake_w = wake_w
        winch = _catch_winch(wake_w) if self.tty else None
        try:
            self._sync_size(force=True)
            if self.conn.leftover:
                self._output(self.conn.leftover)
            self._maybe_half_close()  # no stdin at all: the command sees its end at once
            self._loop(wake_r, poll_size=self.tty and winch is None)
            if not self.tty:
                self.demux.flush()
        finally:
            if winch is not None:
                winch()
            self.controls._wake_w = -1
            os.close(wake_r)
            os.close(wake_w)

    def _loop(self, wake_r: int, *, poll_size: bool) -> None:
        sock = self.conn.sock
        while True:
            readers: list[Any] = [sock, wake_r]
            if self.stdin_open and len(self.to_engine) < MAX_PENDING:
                readers.append(self.streams.stdin)
            writers = [sock] if self.to_engine else []
            timeout = SIZE_POLL if poll_size else None
            held = self.gate.timeout() if self.gate is not None else None
            if held is not None:
                timeout = held if timeout is None else min(timeout, held)
            if self.conn.pending_tls():
                readable: list[Any] = [sock]
                writable: list[Any] = []
            else:
                readable, writable, _ = select.select(readers, writers, [], timeout)
            if poll_size:
                self._sync_size()
            if self.gate is not None and held is not None and self.gate.timeout() == 0.0:
                self.write(self.gate.release())
            if wake_r in readable and self._wake(wake_r):
                return
            if sock in writable:
                self._send()
            if sock in readable:
                try:
                    data = sock.recv(CHUNK)
                except (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                        ssl.SSLWantWriteError):
                    data = None
                except (ConnectionResetError, BrokenPipeError):
                    return
                except OSError as exc:
                    if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                        data = None
                    else:
                        return
                if data == b"":
                    return  # the remote process ended (or its container went away)
                if data:
                    self._output(data)
            if self.streams.stdin in readable:
                self._read_stdin()

    def _wake(self, wake_r: int) -> bool:
        """Handle what the signal handlers sent; True to end the session."""
        try:
            events = os.read(wake_r, 64)
        except BlockingIOError:
            return False
        if b"w" in events:
            self._sync_size()
        return b"i" in events and self.on_interrupt()

    def _send(self) -> None:
        try:
            n = self.conn.sock.send(self.to_engine)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                ssl.SSLWantWriteError):
            return
        except OSError:
            # The engine side is gone; its end shows up as EOF on the read side.
            self.to_engine.clear()
            self.stdin_open = False
            return
        del self.to_engine[:n]
        self._maybe_half_close()

    def _read_stdin(self) -> None:
        try:
            data = os.read(self.streams.stdin, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # a hung-up terminal reads as EIO: the end of input
        if data:
            self.to_engine += data
            return
        self.stdin_open = False
        self._maybe_half_close()

    def _maybe_half_close(self) -> None:
        if not self.stdin_open and not self.to_engine and not self.half_closed:
            self.half_closed = True
            self.conn.close_write()


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False  # no stdin at all: the session gets an empty one
    return True


def _catch_winch(wake_w: int) -> Callable[[], None] | None:
    """SIGWINCH pokes the wake pipe (main thread only); returns the undo, or None."""
    if threading.current_thread() is not threading.main_thread():
        return None
    old = signal.getsignal(signal.SIGWINCH)

    def handler(signum: int, frame: Any) -> None:
        with contextlib.suppress(OSError):
            os.write(wake_w, b"w")

    signal.signal(signal.SIGWINCH, handler)

    def undo() -> None:
        signal.signal(signal.SIGWINCH, old)

    return undo
