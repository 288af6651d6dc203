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

The bytes are moved by `dhitui.engine.pump`, over a connection dhitui opens itself
(`dhitui.engine.wire`).
"""

from __future__ import annotations

import contextlib
import select
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhitui.engine.client import EngineError
from dhitui.engine.pump import (
    CHUNK,
    Controls,
    Demux,
    Hijacked,
    Pump,
    StartGate,
    Streams,
    raw_terminal,
    terminal_size,
)
from dhitui.engine.specs import ExecSpec, SidecarSpec
from dhitui.errors import DhituiError, EngineUnavailable, NotFound

if TYPE_CHECKING:
    from dhitui.engine.client import Engine
    from dhitui.engine.reaper import Reaper

__all__ = [
    "Controls", "ExecNotStarted", "Holder", "SessionLost", "SidecarNotStarted", "Streams",
    "interrupt_sidecar", "raw_terminal", "run_exec", "run_sidecar", "start_holder",
    "terminal_size",
]

EXIT_DEADLINE = 10.0  # seconds to learn the exit status after the stream ended
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
# The exit statuses that confirm a start failure (`pump.START_FAILURES`).
NOT_STARTED_STATUSES = (126, 127)


def _upgrade(engine: Engine, pathfmt: str, ref: str, *, body: dict[str, Any] | None = None,
             params: dict[str, Any] | None = None) -> Hijacked:
    """POST with `Connection: Upgrade` on a connection of dhitui's own, and take it over
    (`dhitui.engine.wire`: docker-py's hijacked socket is read-only and loses the bytes its
    reader already holds)."""
    conn, answer = engine.open_request("session", pathfmt, ref, body=body, params=params,
                                       upgrade=True)
    return Hijacked(conn, answer.leftover)


# --------------------------------------------------------------------------- sessions


def run_exec(engine: Engine, spec: ExecSpec, *, streams: Streams | None = None,
             controls: Controls | None = None, start_check: bool = False) -> int:
    """`docker exec -i [-t]` over the API; returns the process's exit status. With
    `start_check`, an engine that could not start the process raises ExecNotStarted with
    what it said, instead of writing that as the output (see StartGate)."""
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
    gate = StartGate() if start_check else None
    pump = Pump(conn, tty=spec.tty, streams=streams, controls=controls,
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
            Pump(conn, tty=spec.tty, streams=streams, controls=controls,
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

    demux = Demux(out)
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
