"""The measurements: one TUI session through a pty, CLI wall times, Engine API request counts.

Every time is taken with `time.monotonic()` (CLOCK_MONOTONIC, the same clock in every process
on the machine, so dhitui's own milestones line up with what the terminal received).
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.fleet import Fleet
from bench.term import ROW_NAME_COLUMN, Terminal, highlighted, name_pattern, names_on

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
FLOOR = Path(__file__).with_name("floor.py")
# Apps and CLIs run from an empty directory: `python -m dhitui` puts the working directory
# first on sys.path, which from the repo root would shadow PYTHONPATH (--baseline).
NEUTRAL_CWD = tempfile.mkdtemp(prefix="dhitui-bench-cwd-")
COLS, ROWS = 160, 48
PAINT_TIMEOUT = 60.0
CLASSIFY_TIMEOUT = 300.0
KEY_TIMEOUT = 10.0


def dhitui_argv(host: str) -> list[str]:
    """dhitui as the console script runs it (`python -m dhitui` honours PYTHONPATH, which
    is how --baseline runs another checkout of the package)."""
    return [sys.executable, "-m", "dhitui", "-H", host]


def floor_argv(host: str) -> list[str]:
    return [sys.executable, str(FLOOR), host]


@dataclass
class Session:
    """What one launch of a TUI showed, in seconds from spawn (None: not measured)."""

    app: str
    first_paint: float | None = None
    classified: float | None = None
    classified_model: float | None = None
    idle_cpu: float | None = None
    idle_frames: int | None = None
    peak_rss_mb: float | None = None
    cursor_ms: list[float] = field(default_factory=list)
    cursor_settled_ms: list[float] = field(default_factory=list)
    filter_ms: list[float] = field(default_factory=list)
    filter_settled_ms: list[float] = field(default_factory=list)


def proc_tree_rss_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of the process plus its live children, in MB."""
    total = 0
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for p in procs:
        try:
            for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)


def _milestones(path: Path) -> list[tuple[float, str, int]]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        t, event, n = line.split()
        out.append((float(t), event, int(n)))
    return out


def wait_milestone(path: Path, event: str, at_least: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for t, ev, n in _milestones(path):
            if ev == event and n >= at_least:
                return t
        time.sleep(0.02)
    raise TimeoutError(f"milestone {event} >= {at_least} not logged within {timeout:.0f}s")


def tui_session(app: str, host: str, fleet: Fleet, *, idle_seconds: float,
                keys: bool, pythonpath: str | None = None) -> Session:
    """Launch `app` ("floor", or dhitui under any other name, from `pythonpath` if given)
    on a pty and measure what the user sees."""
    pattern = name_pattern(fleet.prefix)
    want = min(fleet.n, 10)
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    log = Path(tempfile.mkstemp(prefix="dhitui-bench-", suffix=".log")[1])
    env["DHITUI_BENCH_LOG"] = str(log)
    is_floor = app == "floor"
    argv = floor_argv(host) if is_floor else dhitui_argv(host)
    s = Session(app)

    def painted(screen: Any) -> bool:
        return len(set(names_on(screen, pattern))) >= want

    term = Terminal(argv, cols=COLS, rows=ROWS, env=env, cwd=NEUTRAL_CWD)
    try:
        first = term.expect(painted)
        s.first_paint = term.wait(first, PAINT_TIMEOUT, f"{app}: first painted list") \
            - term.spawned_at
        if not is_floor:
            tc = wait_milestone(log, "classified", fleet.n, CLASSIFY_TIMEOUT)
            s.classified_model = tc - term.spawned_at

            def all_badges(screen: Any) -> bool:
                return painted(screen) and not any(
                    "probing" in ln for ln in screen.display
                    if pattern.match(ln, ROW_NAME_COLUMN))

            # The UI may lag behind the classifier (results queued as messages): wait for
            # the frame after `tc` that shows no "probing" row. If none comes before the app
            # goes idle, the last results were off screen, the visible rows were classified
            # already, and the list is complete at `tc`.
            badges = term.expect(all_badges, not_before=tc)
            _settled(term, tc, timeout=CLASSIFY_TIMEOUT)  # returns once the app is idle
            if badges.event.is_set():
                assert badges.at is not None
                t = badges.at
            elif all_badges(term.screen):
                t = tc
            else:
                raise TimeoutError(f"{app}: rows still probing after classification ended")
            s.classified = t - term.spawned_at
        term.quiet(1.0)
        if idle_seconds > 0:
            frames0, cpu0 = term.frames, cpu_seconds(term.pid)
            time.sleep(idle_seconds)
            s.idle_cpu = cpu_seconds(term.pid) - cpu0
            s.idle_frames = term.frames - frames0
        if keys:
            _cursor_keys(term, pattern, s)
            if not is_floor:
                _filter_keys(term, pattern, fleet, s)
        s.peak_rss_mb = proc_tree_rss_mb(term.pid)
    finally:
        term.close("ctrl+q" if is_floor else "q")
        log.unlink(missing_ok=True)
    return s


def _settled(term: Terminal, after: float, timeout: float = 10.0) -> float:
    """When the frames caused by a key ended: the last frame before the app went idle (no
    output and no CPU for 200 ms). Waiting for output alone is not enough: a long update
    writes nothing until it is done."""
    proc = psutil.Process(term.pid)
    deadline = time.monotonic() + timeout
    cpu = cpu_seconds(term.pid)
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now_cpu = cpu_seconds(term.pid) if proc.is_running() else cpu
        now = time.monotonic()
        if now_cpu - cpu > 0.002 or now - term.last_output < 0.2:
            still_since = now
        cpu = now_cpu
        if now - still_since >= 0.2:
            break
    with term._lock:
        times = [f for f in term.frame_times if f > after]
    return max(times) if times else after


def _cursor_keys(term: Terminal, pattern: Any, s: Session, presses: int = 15) -> None:
    """Cursor down, one key at a time: key write -> the frame with the cursor on the next
    row (and -> the last frame caused by the key, e.g. dhitui's side panel)."""
    for _ in range(presses):
        screen_names = names_on(term.screen, pattern)
        cur = highlighted(term.screen, pattern)
        if cur is None or cur not in screen_names:
            raise RuntimeError("cannot see the cursor row:\n" + "\n".join(term.text()[:10]))
        i = screen_names.index(cur)
        if i + 1 >= len(screen_names):
            break
        nxt = screen_names[i + 1]
        w = term.expect(lambda sc, n=nxt: highlighted(sc, pattern) == n)
        t0 = term.send("down")
        w.not_before = t0
        t = term.wait(w, KEY_TIMEOUT, f"cursor on {nxt}")
        s.cursor_ms.append((t - t0) * 1000)
        s.cursor_settled_ms.append((_settled(term, t0) - t0) * 1000)


def _filter_keys(term: Terminal, pattern: Any, fleet: Fleet, s: Session) -> None:
    """Filter as you type: '/', the name prefix, then digits narrowing 2,000 rows to 1, then
    backspaces widening them again. Key write -> the first frame showing exactly the
    matching rows (those that fit on screen), and -> the last frame the key caused."""
    names = sorted(fleet.names)
    term.send("/")
    term.quiet(0.3)
    term.send(fleet.prefix)
    term.quiet(0.5)
    capacity = len(names_on(term.screen, pattern))  # rows that fit with the filter box open
    target = f"{fleet.n * 617 // 1000:04d}"  # a container in the middle
    typed = fleet.prefix
    steps: list[str] = [*target, *(["backspace"] * len(target))]
    for key in steps:
        typed = typed[:-1] if key == "backspace" else typed + key
        expected = [n for n in names if typed in n]

        def shows(screen: Any, expected: list[str] = expected) -> bool:
            # The rows that fit, as a contiguous run of the matches in order (the table
            # may be scrolled to keep the cursor's row in view).
            on = names_on(screen, pattern)
            if len(on) != min(len(expected), capacity) or not on or on[0] not in expected:
                return False
            i = expected.index(on[0])
            return on == expected[i:i + len(on)]

        # Widening the filter around the cursor's row can leave the visible rows as they
        # were (only the scrollbar changes): then no frame tells the new list from the
        # old one, and only the settled time is taken.
        ambiguous = shows(term.screen)
        w = term.expect(shows)
        t0 = term.send(key)
        w.not_before = t0
        if not ambiguous:
            t = term.wait(w, KEY_TIMEOUT, f"filter {typed!r}")
            s.filter_ms.append((t - t0) * 1000)
        settled = _settled(term, t0)
        if not shows(term.screen):
            raise RuntimeError(f"filter {typed!r}: the list on screen is not the filtered one")
        s.filter_settled_ms.append((settled - t0) * 1000)
    term.send("escape")
    term.quiet(0.3)


# ---- the CLI and the raw API
def wall(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of a command run to completion, output discarded."""
    t0 = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=300, env=env,
                   cwd=NEUTRAL_CWD)
    return time.monotonic() - t0


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=60)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(60)
        sock.connect(self._path)
        self.sock = sock


def raw_list(host: str) -> float:
    """`GET /containers/json` over a fresh unix-socket connection, body read."""
    t0 = time.monotonic()
    conn = _UnixHTTPConnection(host.removeprefix("unix://"))
    try:
        conn.request("GET", "/containers/json")
        body = conn.getresponse().read()
    finally:
        conn.close()
    assert body.startswith(b"[")
    return time.monotonic() - t0


def count_classify_requests(host: str) -> dict[str, Any]:
    """Requests a cold Classifier sends to classify every running container, per kind."""
    import docker.transport.unixconn as unixconn

    from dhitui.detect import Classifier, list_summaries
    from dhitui.engine.client import connect
    from dhitui.engine.endpoint import resolve_endpoint

    connects = 0
    unix_connect = unixconn.UnixHTTPConnection.connect

    def counting_connect(self: Any) -> None:
        nonlocal connects
        connects += 1
        unix_connect(self)

    unixconn.UnixHTTPConnection.connect = counting_connect  # type: ignore[method-assign]
    engine = connect(resolve_endpoint(host=host))
    counts: Counter[str] = Counter()
    send = engine.api.send

    def counting_send(request: Any, **kwargs: Any) -> Any:
        path = request.path_url.split("?")[0]
        parts = path.split("/")[2:]  # drop "" and "v1.51"
        kind = {
            ("GET", "containers", "json"): "container list",
            ("GET", "containers", "*", "json"): "container inspect",
            ("GET", "images", "*", "json"): "image inspect",
            ("HEAD", "containers", "*", "archive"): "path stat",
            ("GET", "containers", "*", "archive"): "archive read",
        }.get((request.method, *("*" if len(p) >= 32 or ":" in p or "sha256" in p
                                 else p for p in parts)), f"{request.method} {path}")
        counts[kind] += 1
        return send(request, **kwargs)

    engine.api.send = counting_send
    try:
        t0 = time.monotonic()
        summaries = list_summaries(engine)
        results = list(Classifier(engine).classify_many(summaries))
        seconds = time.monotonic() - t0
    finally:
        engine.close()
        unixconn.UnixHTTPConnection.connect = unix_connect  # type: ignore[method-assign]
    images = {s.image_id for s in summaries}
    return {"containers": len(summaries), "images": len(images), "seconds": seconds,
            "classified": len(results), "total": sum(counts.values()), "by_kind": dict(counts),
            "connections": connects}


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


# ---- time to a shell
def session_env(docker_cli: str, pythonpath: str | None = None) -> dict[str, str]:
    """The environment a session needs: the docker CLI on PATH (sessions run it)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(docker_cli).parent}:{env.get('PATH', '')}"
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def bare_run_argv(docker_cli: str, host: str, target: str) -> list[str]:
    """The least a debug sidecar can cost: the docker CLI starting busybox in the target's
    PID namespace as the hardened images' nonroot user, and removing it."""
    return [docker_cli, "-H", host, "run", "--rm", "--pid", f"container:{target}",
            "--user", "65532:65532", "busybox", "true"]


def debug_true_argv(host: str, target: str) -> list[str]:
    return [*dhitui_argv(host), "debug", "-q", target, "--", "true"]


def enter_to_prompt(host: str, fleet: Fleet, docker_cli: str, *,
                    pythonpath: str | None = None) -> float:
    """In the TUI: filter to one container, then `enter` -> the debug shell's prompt on
    screen (dhitui's sessions set PS1 to "[dhitui inside] …", "[dhitui beside] …").
    Seconds from the key."""
    pattern = name_pattern(fleet.prefix)
    target = fleet.name(0)
    term = Terminal(dhitui_argv(host), cols=COLS, rows=ROWS,
                    env=session_env(docker_cli, pythonpath), cwd=NEUTRAL_CWD)
    try:
        term.wait_for(lambda screen: len(names_on(screen, pattern)) >= min(fleet.n, 10),
                      PAINT_TIMEOUT, "first painted list")
        term.quiet(0.5)
        term.send("/")
        term.quiet(0.3)
        term.send(target)
        term.wait_for(lambda screen: names_on(screen, pattern) == [target], KEY_TIMEOUT,
                      "the one row")
        term.send("enter")  # leaves the filter box for the table
        term.quiet(0.5)
        # At the start of a line: the panel quotes the session's PS1 in its exact command.
        w = term.expect(lambda screen: any(ln.startswith("[dhitui ") and "] " in ln
                                           for ln in screen.display))
        t0 = term.send("enter")
        w.not_before = t0
        t = term.wait(w, 60, "the session's prompt")
        term.send("exit\r")
        term.wait_for(lambda screen: target in names_on(screen, pattern), 60,
                      "the list again after the session")
        term.quiet(0.3)
        return t - t0
    finally:
        term.close("q")
