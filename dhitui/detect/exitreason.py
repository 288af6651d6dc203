"""Why a container stopped (or keeps restarting): its exit code and what it means, the
engine's error text, OOM, restarts, when it finished, and its last log lines.

`exit_reason(inspect, logs)` is pure; `read_exit_reason(engine, id)` adds the engine calls
(one inspect, one logs request). Log lines are kept as the engine gave them, decoded; they
are cleaned of control sequences where they are shown (`ExitReason.log_lines`).
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dhitui.engine.client import Engine, EngineError
from dhitui.errors import EngineUnavailable
from dhitui.textsafe import one_line

LOG_LINES = 10
NEVER = "0001-01-01T00:00:00Z"
# Restarted within this many seconds of the last start: still in a crash loop.
LOOP_WINDOW = 60.0

_SIGNAL_MEANINGS = {
    signal.SIGHUP: "hung up (SIGHUP)",
    signal.SIGINT: "interrupted (SIGINT, Ctrl-C)",
    signal.SIGQUIT: "quit (SIGQUIT)",
    signal.SIGILL: "illegal instruction (SIGILL): a binary built for another CPU?",
    signal.SIGABRT: "aborted (SIGABRT): an assertion or abort() in the app or its runtime",
    signal.SIGBUS: "bus error (SIGBUS)",
    signal.SIGFPE: "arithmetic fault (SIGFPE)",
    signal.SIGSEGV: "segmentation fault (SIGSEGV): a crash in native code",
    signal.SIGPIPE: "broken pipe (SIGPIPE)",
    signal.SIGTERM: "terminated (SIGTERM): `docker stop`, or the host shutting down",
}


def exit_code_meaning(code: int | None, *, oom_killed: bool = False) -> str:
    """What an exit code says, as far as convention and the engine tell."""
    if code is None:
        return "unknown"
    if oom_killed:
        return ("killed by the kernel's OOM killer: the container ran out of memory (raise its "
                "--memory limit, or find what grows)")
    if code == 0:
        return "success: the app exited on its own without an error"
    if code == 1:
        return "the app's own failure (general error): its last log lines usually say why"
    if code == 2:
        return "the app rejected its arguments or configuration (by convention)"
    if code == 125:
        return "the container runtime failed before the app ran"
    if code == 126:
        return ("the entrypoint could not be executed: permission denied, or not a program "
                "(a missing execute bit, a directory)")
    if code == 127:
        return ("the entrypoint was not found: no such file, or its #! interpreter or "
                "dynamic loader is missing from the image")
    if code == 137:
        return ("killed (SIGKILL): `docker kill`, `docker stop` after its grace period, or an "
                "out-of-memory kill the engine did not record")
    if 128 < code < 128 + 65:
        try:
            sig = signal.Signals(code - 128)
        except ValueError:
            return f"killed by signal {code - 128}"
        return "killed: " + _SIGNAL_MEANINGS.get(sig, f"{sig.name}")
    if code == 255:
        return "exit status 255: often exit(-1), or a failure the app could not classify"
    return "the app's own exit code (its documentation or logs say what it means)"


@dataclass(frozen=True)
class ExitReason:
    """Why a container is not running, or keeps restarting."""

    state: str
    exit_code: int | None
    meaning: str
    oom_killed: bool
    error: str  # the engine's State.Error ("" when none)
    restart_count: int
    restart_policy: str  # "no", "always", "unless-stopped", "on-failure:3"
    crash_looping: bool
    started_at: str | None  # RFC 3339 as the engine gave it; None: never
    finished_at: str | None
    logs: tuple[str, ...]  # the last lines, as logged (clean them to show them)
    logs_problem: str | None = None  # why no logs could be read

    @property
    def log_lines(self) -> tuple[str, ...]:
        """The last lines, safe to show: control sequences stripped, literal otherwise."""
        return tuple(one_line(line) for line in self.logs)

    @property
    def headline(self) -> str:
        """One line: `exited with 127 (the entrypoint was not found …)`."""
        if self.state == "created" and self.started_at is None:
            head = "created, never started"
            if self.error:
                head += f": {one_line(self.error)}"
            return head
        if self.state == "running":
            return f"{'crash-looping' if self.crash_looping else 'running'}, " \
                   f"{self.restart_count} restarts"
        verb = {"restarting": "crash-looping, last exit",
                "dead": "dead, exit", "exited": "exited with"}.get(self.state, "exited with")
        head = f"{verb} {self.exit_code}" if self.exit_code is not None else self.state
        if self.oom_killed:
            head += ", OOM-killed"
        return head

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state, "exit_code": self.exit_code, "meaning": self.meaning,
            "oom_killed": self.oom_killed, "error": self.error,
            "restart_count": self.restart_count, "restart_policy": self.restart_policy,
            "crash_looping": self.crash_looping, "started_at": self.started_at,
            "finished_at": self.finished_at, "last_logs": list(self.log_lines),
            "logs_problem": self.logs_problem,
        }


def _time(value: object) -> str | None:
    text = str(value or "")
    return None if not text or text.startswith("0001-01-01") else text


def parse_time(text: str | None) -> datetime | None:
    """An engine timestamp (RFC 3339 with nanoseconds) as an aware datetime."""
    if not text:
        return None
    main, _, rest = text.partition(".")
    zone = ""
    if rest:
        digits = rest.rstrip("Z").split("+")[0].split("-")[0]
        zone = rest[len(digits):]
        main += "." + digits[:6]
    else:
        main, zone = (main[:-1], "Z") if main.endswith("Z") else (main, "")
    zone = "+00:00" if zone in ("Z", "") else zone
    try:
        return datetime.fromisoformat(main + zone)
    except ValueError:
        return None


def restart_policy(host_config: Mapping[str, Any]) -> str:
    policy = host_config.get("RestartPolicy") or {}
    name = str(policy.get("Name") or "no")
    if name == "on-failure" and policy.get("MaximumRetryCount"):
        return f"on-failure:{policy['MaximumRetryCount']}"
    return name


def needs_reason(inspect: Mapping[str, Any]) -> bool:
    """Has this container a reason worth showing: not running, or restarted at all."""
    state = inspect.get("State") or {}
    return (not state.get("Running") or bool(state.get("Restarting"))
            or int(inspect.get("RestartCount") or 0) > 0)


def exit_reason(inspect: Mapping[str, Any], logs: bytes | None, *,
                logs_problem: str | None = None, now: datetime | None = None) -> ExitReason:
    """The reason from an inspect and the tail of the logs (pure)."""
    state = inspect.get("State") or {}
    status = "restarting" if state.get("Restarting") else str(state.get("Status") or "unknown")
    code = state.get("ExitCode")
    code = int(code) if isinstance(code, int) else None
    oom = bool(state.get("OOMKilled"))
    restarts = int(inspect.get("RestartCount") or 0)
    started = _time(state.get("StartedAt"))
    finished = _time(state.get("FinishedAt"))
    looping = status == "restarting"
    if status == "running" and restarts > 0:
        since = parse_time(started)
        now = now or datetime.now(UTC)
        looping = since is not None and (now - since).total_seconds() < LOOP_WINDOW
    lines: tuple[str, ...] = ()
    if logs:
        text = logs.decode("utf-8", errors="replace").replace("\r\n", "\n")
        lines = tuple(text.rstrip("\n").split("\n")[-LOG_LINES:])
    meaning = ("never started" if status == "created" and not started
               else exit_code_meaning(code, oom_killed=oom))
    if status == "running":
        # The engine resets ExitCode when it starts the container again.
        code = None
        meaning = ("up again for a moment between restarts; the engine does not keep the "
                   "last exit code while it runs (its logs say why it died)"
                   if looping else "running; it has restarted before")
    failed_exec = _exec_failure(lines, str(state.get("Error") or ""))
    if failed_exec and not oom:
        meaning = failed_exec
    return ExitReason(
        state=status, exit_code=code if (finished or status != "created") else None,
        meaning=meaning,
        oom_killed=oom, error=str(state.get("Error") or ""), restart_count=restarts,
        restart_policy=restart_policy(inspect.get("HostConfig") or {}), crash_looping=looping,
        started_at=started, finished_at=finished, logs=lines, logs_problem=logs_problem,
    )


_EXEC_FAILED = re.compile(r"exec:? \"?(?P<path>[^\s\":]+)\"?: (?P<why>no such file or directory|"
                          r"permission denied|exec format error)")


def _exec_failure(lines: tuple[str, ...], error: str) -> str | None:
    """The runtime's own words when the entrypoint could not be executed (runc logs
    `exec /app/start.sh: no such file or directory`, or the engine's State.Error has it)."""
    for text in (error, *reversed(lines[-3:])):
        m = _EXEC_FAILED.search(text)
        if m is None:
            continue
        path, why = m.group("path"), m.group("why")
        if why == "no such file or directory":
            return (f"the entrypoint {path} could not be started: no such file or directory "
                    "(the file, its #! interpreter or its loader is missing; see the "
                    "entrypoint check)")
        if why == "permission denied":
            return f"the entrypoint {path} could not be started: permission denied (not executable)"
        return f"the entrypoint {path} is not a program for this machine (exec format error)"
    return None


def read_exit_reason(engine: Engine, container: str | Mapping[str, Any]) -> ExitReason:
    """The reason for a container (an id or name, or its inspect): one logs request, plus
    an inspect when not given. Raises NotFound when it is gone."""
    inspect = engine.inspect_container(container) if isinstance(container, str) else container
    logs: bytes | None = None
    problem = None
    try:
        logs = engine.logs(str(inspect["Id"]), tail=LOG_LINES)
    except EngineError as exc:
        # e.g. `--log-driver none`: the engine keeps no logs to read.
        problem = f"no logs: {exc}"
    except EngineUnavailable as exc:
        problem = f"no logs: {exc}"
    return exit_reason(inspect, logs, logs_problem=problem)
