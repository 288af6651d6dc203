"""Running a planned session over its transport, signals, and the sidecar never outliving
the session.

Two transports run the same plan (`plan.transport`): `api`, where dhitui itself drives the
Engine API (`dhitui.engine.attach`: raw terminal, resize, exit status; the sidecar created,
attached, started, waited for and removed by dhitui), and `cli`, where the terminal is handed
to the docker CLI running the plan's argv. What follows describes the CLI transport; over the
API the same guarantees hold with dhitui in the CLI's place: Ctrl-C without a TTY is sent to
a sidecar as SIGINT (an exec, which the API cannot signal, is left, like `docker exec` does),
SIGTERM/SIGHUP end the session and remove the sidecar, and after a `kill -9` of dhitui the
sidecar's keeper process (`dhitui.engine.reaper`) removes it: nothing else would, since the
engine keeps a TTY container running when its attached client goes.

`run_session(plan, engine)` is what `dhitui debug` calls, and what the TUI calls after
suspending itself (no Textual here). It blocks until the session ends, and returns a
`SessionResult` with the exit status.

How a sidecar is kept from outliving its session (each seen on the real engines):

- normal exit: `docker run --rm` removes it, and the CLI returns only once it is gone;
  dhitui then checks by name and removes anything left (bounded by a deadline). On engines
  where `--rm` loses the exit status (Podman before 4.6) sidecars run without it and this
  removal is the plan, not a leftover;
- Ctrl-C: in an interactive session the TTY is raw, so Ctrl-C is a keystroke for the
  session's shell; without a TTY (`-- CMD`) the terminal's SIGINT reaches both dhitui and the
  docker CLI, which forwards it to the command. dhitui ignores it either way: Ctrl-C belongs
  to the session, whose end dhitui waits for and reports (130);
- SIGTERM / SIGHUP to dhitui: forwarded to the CLI, the sidecar is removed (which ends the
  CLI's attach), the CLI gets a deadline and then SIGKILL;
- the target dies: the sidecar is in the target's PID namespace, and the kernel kills every
  process in a PID namespace when its PID 1 exits, so the sidecar exits and `--rm` removes it;
- `kill -9` of dhitui: the CLI is not killed with it (deliberately no PR_SET_PDEATHSIG). It
  keeps the terminal and the session, and `--rm` still cleans up when the shell exits;
  killing the CLI instead would strand the sidecar (a container with a TTY does not end when
  its client goes). Only if both die is a sidecar orphaned; `dhitui debug --cleanup` finds
  it by label (see `orphans`).

Inside sessions (see `inside`) first start their holder over the API (whatever the
transport: the CLI has no way to say a container's pid) and learn its pid; the session is
then an exec in the target, over the API or as `docker exec` through the CLI, and the holder
is removed after it. The holder needs no keeper: it ends with its input, which ends when
dhitui closes it or dies. If the engine cannot start the session inside the target (it says
so in place of the output, with status 126/127), a session whose view was chosen
automatically opens beside the target instead, saying why; one asked to be inside ends with
that status and the engine's words.

Snapshot sessions (stopped and crash-looping containers, see `snapshot`) first make an image
of the container; Ctrl-C, SIGTERM and SIGHUP while it is being made end there, and the image
is removed. Their sidecar runs without `--rm` (it borrows the container's volumes) and is
removed here, keeping the volumes, at every end; then the image is removed.

Signal handlers can only be installed from the main thread; called from another thread,
`run_session` runs the session without them (the cleanup after it still happens).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhitui.engine.client import Engine, EngineError
from dhitui.engine.specs import ExecSpec, InsideSpec, SidecarSpec
from dhitui.errors import DhituiError, EngineUnavailable, NotFound, Unavailable
from dhitui.sessions.banner import describe_command, describe_holder
from dhitui.sessions.snapshot import Progress, Snapshot
from dhitui.sessions.strategies import SessionPlan, Strategy
from dhitui.sessions.targets import ContainerTarget
from dhitui.sessions.terminal import SavedTerminal, SignalGuard, Stop
from dhitui.strategy_registry import BESIDE

if TYPE_CHECKING:
    from dhitui.engine.reaper import Reaper

LOST_STATUS = 255  # the session's status when it could not be learnt (like ssh's)
NOT_STARTED_STATUS = 125  # the sidecar could not be started (as `docker run` says it)
NOT_STARTED_EXEC_STATUS = 126  # the session's process could not be started in the target
STOP_GRACE = 10.0  # seconds the CLI gets to end after dhitui was told to stop
REMOVE_DEADLINE = 20.0  # seconds to see a sidecar gone
POLL = 0.1


@dataclass(frozen=True)
class SessionResult:
    """How a session ended."""

    strategy: str
    exit_status: int  # the session's (the shell's, the command's), 128+N for signal N
    duration: float
    stopped_by: str | None = None  # the signal that made dhitui end it (SIGTERM, SIGHUP)
    sidecar: str | None = None
    leftover_removed: bool = False  # the sidecar was still there and dhitui removed it
    cleanup_error: str | None = None  # the sidecar could not be checked or removed
    target_running: bool | None = None  # container targets: still running afterwards?
    lost: str | None = None  # the session ended without an exit status, and why
    transport: str = "cli"
    view: str | None = None  # where it stood: inside | beside (strategies that have views)

    @property
    def message(self) -> str:
        """One line for the user, e.g. `session ended (exit status 0)`."""
        parts = [f"session ended (exit status {self.exit_status})"]
        if self.lost:
            parts = [f"session lost: {self.lost}"]
        if self.stopped_by:
            parts.append(f"ended by {self.stopped_by}")
        if self.target_running is False:
            parts.append("the target is no longer running")
        if self.leftover_removed:
            parts.append(f"removed the leftover sidecar {self.sidecar}")
        if self.cleanup_error:
            parts.append(self.cleanup_error)
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy, "exit_status": self.exit_status,
            "duration": round(self.duration, 3), "stopped_by": self.stopped_by,
            "sidecar": self.sidecar, "leftover_removed": self.leftover_removed,
            "cleanup_error": self.cleanup_error, "target_running": self.target_running,
            "lost": self.lost, "transport": self.transport, "view": self.view,
        }


def exit_status(returncode: int) -> int:
    """A process's status as a shell reports it (128+N when killed by signal N)."""
    return 128 - returncode if returncode < 0 else returncode


def run_session(
    plan: SessionPlan, engine: Engine, *, env: dict[str, str] | None = None, stdin_fd: int = 0,
    progress: Progress | None = None,
) -> SessionResult:
    """Run the plan's chosen strategy with the terminal inherited; return how it ended.
    `progress` hears what happens before the session starts (a snapshot being taken, the
    exact command once it is known).
    Raises Unavailable when the plan cannot run, and for a snapshot session the errors of
    taking it (NotFound: the container went away; Unavailable: the engine refused)."""
    if not plan.runnable or plan.chosen is None:
        raise Unavailable(plan.problem or "nothing to run")
    strategy = plan.chosen
    snapshot = Snapshot(engine, strategy.snapshot) if strategy.snapshot else None
    keeper: Reaper | None = None
    if strategy.snapshot is not None:
        # Before anything is made: if dhitui dies from here on (during the commit too), the
        # keeper removes what is labelled with the session, images included.
        from dhitui.engine.reaper import Reaper

        keeper = Reaper(engine.endpoint)
        keeper.watch_session(strategy.snapshot.session, images=True, pending=True)
    started = time.monotonic()
    try:
        return _run_session(plan, engine, env, stdin_fd, progress, snapshot, keeper, started)
    finally:
        if keeper is not None:
            if snapshot is not None and snapshot.committing():
                keeper.hand_over()  # it looks out for the image the commit will add
            else:
                keeper.done()


def _run_session(plan: SessionPlan, engine: Engine, env: dict[str, str] | None, stdin_fd: int,
                 progress: Progress | None, snapshot: Snapshot | None, keeper: Reaper | None,
                 started: float) -> SessionResult:
    strategy = plan.chosen
    assert strategy is not None
    if snapshot is not None:
        try:
            with SignalGuard(interrupt=True):
                snapshot.take(progress)
            if keeper is not None and strategy.snapshot is not None:
                keeper.watch_session(strategy.snapshot.session, images=True, pending=False)
        except Stop as stop:
            if snapshot.committing():
                _say(progress, "waiting for the engine to finish the commit under way (it "
                               "goes on without dhitui), to remove the image it makes")
            problems = snapshot.discard()
            return SessionResult(
                strategy=strategy.name, exit_status=128 + stop.signum,
                duration=time.monotonic() - started,
                stopped_by=signal.Signals(stop.signum).name + " while taking the snapshot",
                cleanup_error="; ".join(problems) or None,
            )
        except BaseException:
            snapshot.discard()
            raise
    try:
        if strategy.transport == "api":
            return _run_over_api(plan, engine, stdin_fd=stdin_fd, started=started,
                                 progress=progress, keeper=keeper)
        return _run_child(plan, engine, env, stdin_fd, started, progress, keeper)
    finally:
        if snapshot is not None:
            problems = snapshot.discard()
            if problems and progress is not None:
                progress("; ".join(problems))


def _say(progress: Progress | None, text: str) -> None:
    if progress is not None:
        progress(text)


def _run_child(plan: SessionPlan, engine: Engine, env: dict[str, str] | None, stdin_fd: int,
               started: float, progress: Progress | None,
               keeper: Reaper | None = None) -> SessionResult:
    from dhitui.engine.attach import Holder, SidecarNotStarted, start_holder

    assert plan.chosen is not None
    strategy = plan.chosen
    argv = list(strategy.argv)
    child_env = plan.child_env(os.environ if env is None else env)
    terminal = SavedTerminal(stdin_fd)
    stopped_by: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    holder: Holder | None = None
    # A snapshot's sidecar borrowed its target's volumes: remove it without them.
    volumes = strategy.snapshot is None
    spec = strategy.spec

    def interrupt() -> None:
        # The CLI proxies Ctrl-C to the sidecar's main process; where that is PID 1 of its
        # own namespace, which ignores it, dhitui delivers it (see SidecarSpec.interrupt_cmd).
        from dhitui.engine.attach import interrupt_sidecar

        if isinstance(spec, SidecarSpec) and spec.interrupt_cmd and strategy.sidecar:
            interrupt_sidecar(engine, strategy.sidecar, spec)

    try:
        with SignalGuard(on_sigint=interrupt):
            try:
                if isinstance(strategy.spec, InsideSpec):
                    # The CLI cannot say a container's pid: the holder is started over the API.
                    holder = start_holder(engine, strategy.spec.holder, warn=_engine_warning)
                    _say(progress, describe_holder(strategy.holder_argv, holder.pid))
                    argv = strategy.spec.exec_spec(holder.pid).argv(plan.prefix)
                _say(progress, describe_command(plan, argv))
                proc = subprocess.Popen(argv, env=child_env)
                if keeper is not None:
                    # Killed, dhitui leaves the CLI the session: reap only after it ends.
                    keeper.wait_for(proc.pid)
                returncode = proc.wait()
            except SidecarNotStarted as exc:
                _engine_warning(exc.message, prefix="dhitui: error: ")
                returncode = NOT_STARTED_STATUS
            except OSError as exc:
                raise Unavailable(f"cannot run {argv[0]}: {exc.strerror}") from None
            except Stop as stop:
                stopped_by = signal.Signals(stop.signum).name
                if proc is not None:
                    _stop_child(proc, stop.signum, strategy.sidecar, engine, volumes)
                returncode = -stop.signum
    finally:
        terminal.restore()
        if holder is not None:
            holder.close()
    duration = time.monotonic() - started
    leftover, cleanup_error = _clean_up_sidecar(strategy, engine)
    return SessionResult(
        strategy=strategy.name,
        exit_status=exit_status(returncode),
        duration=duration,
        stopped_by=stopped_by,
        sidecar=strategy.sidecar,
        leftover_removed=leftover,
        cleanup_error=cleanup_error,
        # A snapshot's target was not running to begin with: nothing to report.
        target_running=None if strategy.snapshot else _target_running(plan, engine),
        view=strategy.view,
    )


def _run_over_api(plan: SessionPlan, engine: Engine, *, stdin_fd: int,
                  started: float, progress: Progress | None,
                  keeper: Reaper | None = None) -> SessionResult:
    from dhitui.engine.attach import (
        Controls,
        ExecNotStarted,
        SessionLost,
        SidecarNotStarted,
        Streams,
        run_exec,
        run_sidecar,
    )

    strategy = plan.chosen
    assert strategy is not None and strategy.spec is not None
    spec = strategy.spec
    controls = Controls()
    stopped_by: str | None = None
    lost: str | None = None
    view = strategy.view
    streams = Streams(stdin=stdin_fd)
    try:
        with SignalGuard(on_sigint=controls.interrupt):
            if isinstance(spec, ExecSpec):
                _say(progress, describe_command(plan))
                status = run_exec(engine, spec, streams=streams, controls=controls)
            elif isinstance(spec, SidecarSpec):
                _say(progress, describe_command(plan))
                status = run_sidecar(engine, spec, streams=streams, controls=controls,
                                     warn=_engine_warning, reaper=keeper)
            elif isinstance(spec, InsideSpec):
                status, view = _inside_over_api(plan, engine, spec, streams, controls,
                                                progress)
            else:
                raise Unavailable(f"{strategy.name} runs only through the docker CLI")
    except Stop as stop:
        stopped_by = signal.Signals(stop.signum).name
        status = 128 + stop.signum
    except SessionLost as exc:
        lost, status = exc.message, LOST_STATUS
    except SidecarNotStarted as exc:
        # As `docker run` does: its message, and 125.
        _engine_warning(exc.message, prefix="dhitui: error: ")
        status = NOT_STARTED_STATUS
    except ExecNotStarted as exc:
        _engine_warning(f"the session could not be started inside {plan.target.label}: "
                        f"{exc.message} (--view beside opens the sidecar's own view)",
                        prefix="dhitui: error: ")
        status = NOT_STARTED_EXEC_STATUS
    except EngineUnavailable as exc:
        lost, status = f"the engine stopped answering ({exc.message})", LOST_STATUS
    duration = time.monotonic() - started
    leftover, cleanup_error = _clean_up_sidecar(strategy, engine)
    # A snapshot's target was not running to begin with: nothing to report.
    target_running = None if strategy.snapshot else _target_running(plan, engine)
    if lost and target_running is False:
        lost = f"the target {plan.target.label} stopped during the session"
    return SessionResult(
        strategy=strategy.name, exit_status=status, duration=duration, stopped_by=stopped_by,
        sidecar=strategy.sidecar, leftover_removed=leftover, cleanup_error=cleanup_error,
        target_running=target_running, lost=lost, transport="api", view=view,
    )


def _inside_over_api(plan: SessionPlan, engine: Engine, spec: InsideSpec, streams: Any,
                     controls: Any, progress: Progress | None) -> tuple[int, str | None]:
    """The holder, then the exec in the target; when the engine cannot start that and the
    view was the automatic choice, the beside session instead. (status, view it had)"""
    from dhitui.engine.attach import ExecNotStarted, run_exec, run_sidecar, start_holder
    from dhitui.textsafe import clean

    strategy = plan.chosen
    assert strategy is not None
    holder = start_holder(engine, spec.holder, warn=_engine_warning)
    try:
        _say(progress, describe_holder(strategy.holder_argv, holder.pid))
        inside = spec.exec_spec(holder.pid)
        _say(progress, describe_command(plan, inside.argv(plan.prefix)))
        try:
            return run_exec(engine, inside, streams=streams, controls=controls,
                            start_check=True), strategy.view
        except ExecNotStarted as exc:
            if not isinstance(strategy.fallback, SidecarSpec):
                raise
            refused = exc.message
    finally:
        holder.close()
    # The beside session takes the holder's name: it must be gone first.
    remove_sidecar(engine, holder.name)
    fallback = strategy.fallback
    where = strategy.fallback_where.removeprefix(BESIDE + ": ")
    _engine_warning(f"could not start the session inside {plan.target.label} "
                    f"({clean(refused, keep_newlines=False)}); opening it beside instead: "
                    f"{where}", prefix="dhitui: ")
    _say(progress, describe_command(plan, fallback.argv(plan.prefix)))
    return run_sidecar(engine, fallback, streams=streams, controls=controls,
                       warn=_engine_warning), BESIDE


def _engine_warning(text: str, prefix: str = "WARNING: ") -> None:
    """An engine warning (or error) about the sidecar, shown as the docker CLI shows it."""
    from dhitui.textsafe import clean

    with contextlib.suppress(OSError):
        os.write(2, f"{prefix}{clean(text, keep_newlines=False)}\n".encode())


def _stop_child(proc: subprocess.Popen[bytes], signum: int, sidecar: str | None,
                engine: Engine, volumes: bool = True) -> None:
    """End the session on dhitui's own termination: tell the CLI, remove the sidecar (which
    ends the CLI's attach), then give the CLI a deadline."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signum)
    if sidecar:
        # Checked again, and reported, after the CLI is gone.
        with contextlib.suppress(DhituiError):
            engine.remove_container(sidecar, force=True, volumes=volumes)
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def remove_sidecar(engine: Engine, name: str, deadline: float = REMOVE_DEADLINE, *,
                   volumes: bool = True) -> bool:
    """Make sure a sidecar is gone: remove it if it is still there (True when this had to
    remove it), then wait until the engine no longer knows it (an `--rm` may be finishing).
    Raises EngineUnavailable/EngineError when that cannot be established."""
    try:
        engine.inspect_container(name)
    except NotFound:
        return False  # the usual end: `--rm`/AutoRemove already removed it (one request)
    removed = engine.remove_container(name, force=True, volumes=volumes)
    end = time.monotonic() + deadline
    while True:
        try:
            engine.inspect_container(name)
        except NotFound:
            return removed
        if time.monotonic() > end:
            raise EngineError(f"{name} is still there after {deadline:.0f}s")
        time.sleep(POLL)


def _clean_up_sidecar(strategy: Strategy, engine: Engine) -> tuple[bool, str | None]:
    """Make sure the session's sidecar is gone: (whether dhitui removed a leftover, what
    went wrong). A snapshot's sidecar borrowed its target's volumes: removed without them.
    Without --rm/AutoRemove (a snapshot's sidecar; engines whose --rm loses the exit status)
    removing it is the normal end, not a leftover."""
    if not strategy.sidecar:
        return False, None
    try:
        removed = remove_sidecar(engine, strategy.sidecar,
                                 volumes=strategy.snapshot is None)
    except DhituiError as exc:
        return False, (f"could not make sure the sidecar {strategy.sidecar} is gone "
                       f"({exc}); `dhitui debug --cleanup` removes it")
    return removed and strategy.sidecar_autoremove, None


def _target_running(plan: SessionPlan, engine: Engine) -> bool | None:
    target = plan.target
    if not isinstance(target, ContainerTarget):
        return None
    try:
        state = engine.inspect_container(target.id).get("State") or {}
    except NotFound:
        return False
    except (EngineError, EngineUnavailable):
        return None
    return bool(state.get("Running"))
