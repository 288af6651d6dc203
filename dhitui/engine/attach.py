"""Debug sessions over the Engine API: no docker CLI needed.

`run_exec(engine, spec)` and `run_sidecar(engine, spec)` do what `docker exec -i [-t]` and
`docker run --rm -i [-t]` do, from the same spec (`dhitui.engine.specs`), and return the
session's exit status; `start_holder(engine, spec)` starts an inside session's holder and
learns its pid (see `InsideSpec`):

- exec: `POST /containers/{id}/exec`, then `POST /exec/{id}/start` upgraded to a raw two-way
  stream (`Connection: Upgrade`, `101 UPGRADED`); the status from `GET /exec/{id}/json`;
- sidecar: `POST /containers/create` (AutoRemove), `POST /containers/{id}/attach` upgraded
  the same way *before* `start` (so no first output is lost), a `wait` registered before
  `start` (so the exit status is not lost to AutoRemove), then `start`; removed on every way
  out, whatever happened; and if dhitui itself is killed, a small keeper process removes it
  (`dhitui.engine.reaper`: with a TTY the engine would keep the sidecar running);
- holder: created (AutoRemove, stdin open once, no TTY), attached, started; the first line
  it prints is its pid. It needs no keeper: its stdin ends when dhitui closes the attach or
  dies, then it exits and the engine removes it.

The stream: with a TTY the local terminal is put in raw mode (every byte, Ctrl-C/Z/D too,
goes to the remote TTY) and restored on every way out; the remote size follows the local
one (set after start and again once the first output shows the process is up — a resize
before that can be lost — and on every SIGWINCH). Without a TTY the engine frames output
(8-byte header: stream, length): stdout and stderr go to their own descriptors; stdin is
streamed and, at its end, the connection is half-closed so the command sees EOF.

Bytes are moved with `os.read`/`os.write` and a non-blocking socket, so nothing is decoded,
and neither side can stall the other (stdin is read only while little is pending for the
engine). docker-py pitfalls avoided (see the project's notes): its hijacked "socket" is a
read-only `SocketIO` that keeps the client's timeout, and the HTTP reader may already hold
the first bytes after the 101 response — those are taken from its buffer first.
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

from dhitui.engine.client import EngineError
from dhitui.engine.specs import ExecSpec, SidecarSpec
from dhitui.errors import DhituiError, EngineUnavailable, NotFound

if TYPE_CHECKING:
    from dhitui.engine.client import Engine
    from dhitui.engine.reaper import Reaper
    from dhitui.engine.wire import Connection

CHUNK = 64 * 1024
MAX_PENDING = 256 * 1024  # bytes waiting for the engine before stdin is read again
EXIT_DEADLINE = 10.0  # seconds to learn the exit status after the stream ended
SIZE_POLL = 0.5  # seconds between terminal size checks where SIGWINCH cannot be caught
UNKNOWN_STATUS = 255
CLOSE_GRACE = 2.0  # seconds for the wait to answer by itself when a session is cut short


class SessionLost(DhituiError):
    """The stream ended without the process's exit status (its container went away)."""


class SidecarNotStarted(DhituiError):
    """The engine refused to create or start the sidecar (what `docker run` reports with
    status 125), e.g. its target stopped after the plan was made."""


class ExecNotStarted(DhituiError):
    """The engine could not start the process in the container (its message, which it
    sends in place of the process's output, is this error's message)."""


HOLDER_DEADLINE = 30.0  # seconds for a holder to say its pid
START_WINDOW = 2.0  # seconds in which output is looked at for a start failure
# What the engines send in place of the output when the runtime cannot start a process in a
# container (runc and crun, through Docker Engine and Podman, with and without a TTY); the
# exit status (126 or 127) confirms it.
START_FAILURES = (
    b"OCI runtime exec failed", b"Error: runc: exec failed", b"Error: crun:",
    b"Error: OCI runtime", b"exec failed: unable to start container process",
)
NOT_STARTED_STATUSES = (126, 127)


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


# --------------------------------------------------------------------------- hijacking


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


def _upgrade(engine: Engine, pathfmt: str, ref: str, *, body: dict[str, Any] | None = None,
             params: dict[str, Any] | None = None) -> Hijacked:
    """POST with `Connection: Upgrade` on a connection of dhitui's own, and take it over
    (`dhitui.engine.wire`: docker-py's hijacked socket is read-only and loses the bytes its
    reader already holds)."""
    conn, answer = engine.open_request("session", pathfmt, ref, body=body, params=params,
                                       upgrade=True)
    return Hijacked(conn, answer.leftover)


# --------------------------------------------------------------------------- the stream


class _Demux:
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


class _StartGate:
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


class _Pump:
    """Moves bytes between the local descriptors and the hijacked stream until the remote
    side ends. Signals reach it through a wake pipe (`w`: window resized, `i`: interrupt)."""

    def __init__(self, conn: Hijacked, *, tty: bool, streams: Streams,
                 resize: Callable[[int, int], None], controls: Controls,
                 on_interrupt: Callable[[], bool], gate: _StartGate | None = None) -> None:
        self.conn = conn
        self.tty = tty
        self.streams = streams
        self.resize = resize
        self.controls = controls
        self.on_interrupt = on_interrupt
        self.demux = _Demux(self._emit)
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


# --------------------------------------------------------------------------- sessions


def run_exec(engine: Engine, spec: ExecSpec, *, streams: Streams | None = None,
             controls: Controls | None = None, start_check: bool = False) -> int:
    """`docker exec -i [-t]` over the API; returns the process's exit status. With
    `start_check`, an engine that could not start the process raises ExecNotStarted with
    what it said, instead of writing that as the output (see _StartGate)."""
    streams = streams or Streams()
    controls = controls or Controls()
    api = engine.api
    body = spec.exec_body()
    size = terminal_size(streams.stdin) if spec.tty else None
    if size and _api_at_least(engine, "1.42"):
        body["ConsoleSize"] = list(size)
    created = engine.post_json("container", "/containers/{0}/exec", spec.container, body)
    exec_id = str(created["Id"])
    conn = _upgrade(engine, "/exec/{0}/start", exec_id, body={"Detach": False, "Tty": spec.tty})
    gate = _StartGate() if start_check else None
    pump = _Pump(conn, tty=spec.tty, streams=streams, controls=controls,
                 resize=lambda h, w: engine.call("exec", api.exec_resize, exec_id,
                                                  height=h, width=w),
                 on_interrupt=lambda: True, gate=gate)
    try:
        with raw_terminal(streams.stdin, spec.tty):
            pump.run()
    finally:
        conn.close()
    if controls.interrupted:
        return 130
    status = _exec_status(engine, exec_id)
    if gate is not None and gate.held:
        if status in NOT_STARTED_STATUSES:
            raise ExecNotStarted(gate.text.decode(errors="replace").strip())
        pump.write(gate.release())
    return status


def _exec_status(engine: Engine, exec_id: str) -> int:
    end = time.monotonic() + EXIT_DEADLINE
    while True:
        info = engine.call("exec", engine.api.exec_inspect, exec_id)
        if not info.get("Running"):
            code = info.get("ExitCode")
            if code is None:
                raise SessionLost("the session ended without an exit status (its container "
                                  "stopped)")
            return int(code)
        if time.monotonic() > end:
            raise SessionLost("the session's stream ended but its process still runs")
        time.sleep(0.05)


def run_sidecar(engine: Engine, spec: SidecarSpec, *, streams: Streams | None = None,
                controls: Controls | None = None,
                warn: Callable[[str], None] | None = None,
                reaper: Reaper | None = None) -> int:
    """`docker run --rm -i [-t]` over the API; returns the sidecar's exit status. The
    sidecar is removed however this ends (normal end, error, signal, engine lost). The
    engine's warnings about the new container go to `warn` (the CLI prints them too).
    `reaper`: the session's keeper, when the caller has one (it is then the caller's to
    end); else the sidecar gets its own."""
    from dhitui.engine.reaper import Reaper

    streams = streams or Streams()
    controls = controls or Controls()
    api = engine.api
    own = reaper is None
    keeper = reaper or Reaper(engine.endpoint)  # started first: it costs a process start

    def done() -> None:
        if own:
            keeper.done()

    try:
        created = engine.call("sidecar", api.create_container_from_config,
                               spec.create_body(), spec.name)
    except NotFound as exc:
        done()
        raise SidecarNotStarted(f"the engine could not create the sidecar: "
                                f"{exc.engine_text or f'no such image: {spec.image}'}") from None
    except EngineError as exc:
        done()
        raise SidecarNotStarted(f"the engine refused the sidecar: {exc.message}") from None
    except BaseException:
        done()
        raise
    cid = str(created["Id"])
    keeper.watch(cid, volumes=spec.volumes_from is None)
    for warning in created.get("Warnings") or ():
        if warn is not None:
            warn(str(warning))
    conn: Hijacked | None = None
    waiter: _Waiter | None = None
    try:
        conn = _upgrade(engine, "/containers/{0}/attach", cid,
                        params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        waiter = _Waiter(engine, cid, "removed" if spec.auto_remove else "next-exit")
        try:
            engine.call("container", api.start, cid)
        except (EngineError, NotFound) as exc:
            said = getattr(exc, "engine_text", None) or exc.message
            raise SidecarNotStarted(f"the engine could not start the sidecar: {said}") from None

        def interrupt() -> bool:
            # Like `docker run`'s signal proxy: Ctrl-C goes to the sidecar's process.
            interrupt_sidecar(engine, cid, spec)
            return False

        with raw_terminal(streams.stdin, spec.tty):
            _Pump(conn, tty=spec.tty, streams=streams, controls=controls,
                  resize=lambda h, w: engine.call("container", api.resize, cid,
                                                   height=h, width=w),
                  on_interrupt=interrupt).run()
        return waiter.status()
    finally:
        if conn is not None:
            conn.close()
        if waiter is None or not waiter.saw_removal:
            _remove(engine, cid, volumes=spec.volumes_from is None)
        if waiter is not None:
            waiter.close()
        done()


@dataclass
class Holder:
    """A running holder (see `InsideSpec`): its pid in the target's PID namespace."""

    engine: Engine
    id: str
    name: str
    pid: int
    conn: Hijacked

    def close(self) -> None:
        """End it: its input ends (so it exits, and AutoRemove removes it), and it is
        removed at once rather than waited for."""
        self.conn.close()
        _remove(self.engine, self.id, volumes=True)


def start_holder(engine: Engine, spec: SidecarSpec, *,
                 warn: Callable[[str], None] | None = None,
                 deadline: float = HOLDER_DEADLINE) -> Holder:
    """Create, attach and start a holder, and read the pid it prints. Raises
    SidecarNotStarted when the engine refuses it or it ends (or says nothing) first; the
    holder is removed then."""
    api = engine.api
    try:
        created = engine.call("image", api.create_container_from_config, spec.create_body(),
                               spec.name)
    except NotFound:
        raise SidecarNotStarted(f"no such image: {spec.image}") from None
    except EngineError as exc:
        raise SidecarNotStarted(f"the engine refused the holder: {exc.message}") from None
    cid = str(created["Id"])
    for warning in created.get("Warnings") or ():
        if warn is not None:
            warn(str(warning))
    conn: Hijacked | None = None
    try:
        conn = _upgrade(engine, "/containers/{0}/attach", cid,
                        params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        try:
            engine.call("container", api.start, cid)
        except (EngineError, NotFound) as exc:
            raise SidecarNotStarted(
                f"the engine could not start the holder: {exc.message}") from None
        return Holder(engine, cid, spec.name, _read_pid(conn, deadline), conn)
    except BaseException:
        if conn is not None:
            conn.close()
        _remove(engine, cid, volumes=True)
        raise


def _read_pid(conn: Hijacked, deadline: float) -> int:
    """The first line the holder writes (framed output, no TTY): its pid."""
    said: dict[int, bytes] = {1: b"", 2: b""}

    def out(stream: int, payload: bytes) -> None:
        said[2 if stream == 2 else 1] += payload

    demux = _Demux(out)
    end = time.monotonic() + deadline
    data = conn.leftover
    while True:
        if data:
            demux.feed(data)
            data = b""
            if b"\n" in said[1]:
                line = said[1].split(b"\n", 1)[0].strip()
                if line.isdigit() and int(line) > 0:
                    return int(line)
                raise SidecarNotStarted(
                    f"the holder said {line.decode(errors='replace')!r} instead of its pid")
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise SidecarNotStarted(f"the holder did not say its pid within {deadline:.0f}s")
        if not conn.pending_tls():
            readable, _, _ = select.select([conn.sock], [], [], remaining)
            if not readable:
                continue
        try:
            data = conn.sock.recv(CHUNK)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            continue
        except OSError:
            data = b""
        if not data:
            demux.flush()
            text = (said[2] or said[1]).decode(errors="replace").strip()
            raise SidecarNotStarted("the holder ended before it was ready"
                                    + (f": {text}" if text else ""))


def interrupt_sidecar(engine: Engine, container: str, spec: SidecarSpec) -> None:
    """Ctrl-C for a sidecar's command: a SIGINT to its main process, or, where that is PID 1
    of its own namespace (which ignores it), the spec's interrupt command run in it."""
    api = engine.api
    with contextlib.suppress(DhituiError):
        cmd = spec.interrupt_cmd
        if cmd is None:
            engine.call("container", api.kill, container, "SIGINT")
            return
        created = engine.call("container", api.exec_create, container, list(cmd),
                               user=spec.user or "")
        engine.call("exec", api.exec_start, created["Id"], detach=True)


def _remove(engine: Engine, cid: str, *, volumes: bool) -> None:
    """Remove the sidecar; borrowed volumes (`volumes_from`) stay with their owner."""
    with contextlib.suppress(NotFound, EngineUnavailable, DhituiError):
        engine.remove_container(cid, force=True, volumes=volumes)


class _Waiter:
    """`POST /containers/{id}/wait?condition=removed` (with AutoRemove; else `next-exit`),
    registered before `start`, so the exit status is known even when AutoRemove deletes the
    container at once. The engine
    answers the headers as soon as the wait is registered (and the body at the exit), so
    returning from the request means it is in place; a thread reads the body."""

    def __init__(self, engine: Engine, cid: str, condition: str) -> None:
        self.condition = condition
        self.code: int | None = None
        self.error: str | None = None
        self._conn, answer = engine.open_request(
            "container", "/containers/{0}/wait", cid, params={"condition": condition},
            wait=True)
        self._answer = answer
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        import json

        from dhitui.engine.wire import read_body

        try:
            answer = json.loads(read_body(self._conn, self._answer))
            self.code = int(answer.get("StatusCode", UNKNOWN_STATUS))
            err = answer.get("Error") or {}
            if isinstance(err, dict) and err.get("Message"):
                self.error = str(err["Message"])
        except Exception as exc:  # the engine went away: reported by status()
            self.error = str(exc) or type(exc).__name__

    @property
    def saw_removal(self) -> bool:
        """The engine answered a `removed` wait: AutoRemove has deleted the sidecar."""
        return self.condition == "removed" and self.code is not None and not self._thread.is_alive()

    def status(self) -> int:
        self._thread.join(timeout=EXIT_DEADLINE)
        if self.code is None:
            raise SessionLost("the sidecar ended without an exit status"
                              + (f" ({self.error})" if self.error else ""))
        return self.code

    def close(self) -> None:
        """Stop waiting: after a short grace, in which a removal already under way answers
        by itself, the connection is cut under the reading thread."""
        self._thread.join(timeout=CLOSE_GRACE)
        if self._thread.is_alive():
            self._conn.shutdown()
            self._thread.join(timeout=CLOSE_GRACE)
        if not self._thread.is_alive():
            self._conn.close()


def _api_at_least(engine: Engine, version: str) -> bool:
    from dhitui.engine.client import api_tuple

    return api_tuple(engine.api_version) >= api_tuple(version)
