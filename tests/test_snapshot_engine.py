"""Containers that will not stay up, on the real engines: sessions into exited and
crash-looping containers through a snapshot (what the session sees, that nothing is left
behind at any end), why they stopped, and the entrypoint check agreeing with reality."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from test_sessions_engine import (
    DEADLINE,
    cleanup_json,
    debug,
    host_cmd,
    no_traceback,
    running_sidecar,
    session_says,
    shell_in_pty,
    sidecars,
)

from conftest import (
    CLI_TIMEOUT,
    ENGINE_VARS,
    HARDENED_IMAGE,
    SCRIPT_IMAGE,
    STANDARD_IMAGE,
    TEST_LABEL,
    EngineUnderTest,
    cli_env,
    docker,
    docker_cli_path,
    engines_to_check,
    import_rootfs,
    run_dhitui,
    run_json,
    skip_or_fail,
)
from polling import poll

pytestmark = pytest.mark.engine


def session_objects(engine: EngineUnderTest) -> set[str]:
    """Every container and image a dhitui session labelled, on `engine`."""
    label = "label=dhitui.session"
    return {*docker(engine, "ps", "-aq", "--no-trunc", "--filter", label).stdout.split(),
            *docker(engine, "images", "-q", "--no-trunc", "--filter", label).stdout.split()}


@pytest.fixture(autouse=True)
def nothing_of_a_session_left() -> Iterator[None]:
    """After every test: nothing labelled with a session that was not there before it. What
    is found fails this test and is removed, so that the tests after it start clean (one
    leftover snapshot would otherwise fail every orphan count that follows)."""
    engines = engines_to_check(list(ENGINE_VARS))
    before = {eng.name: session_objects(eng) for eng in engines}
    yield
    leftovers = {}
    for eng in engines:
        try:
            left = session_objects(eng) - before[eng.name]
        except AssertionError:  # Podman can fail a list while it deletes an image
            left = session_objects(eng) - before[eng.name]
        if left:
            leftovers[eng.name] = sorted(left)
            docker(eng, "rm", "-f", *left, check=False)
            for _ in range(2):  # a base image goes once its child has gone
                docker(eng, "rmi", "-f", *left, check=False)
    assert not leftovers, f"left behind by sessions: {leftovers}"


WRITTEN = "written before dying"


def crashed(engine: EngineUnderTest, containers: Callable[..., str], *run_args: str,
            path: str = "/tmp/FILE", code: int = 3, looping: bool = False) -> str:
    """A hardened app that writes `path` and exits with `code` (again and again, with
    `looping`), once it has done so at least once."""
    extra = ["--restart", "always"] if looping else []
    cid = containers(engine, HARDENED_IMAGE, *extra, *run_args,
                     command=["--crash", path, WRITTEN, str(code)])

    def settled() -> bool:
        state = inspect(engine, cid)
        if looping:
            return bool(inspect(engine, cid)["RestartCount"] >= 1)
        return bool(state["State"]["Status"] == "exited")
    poll("the app to crash", settled)
    return cid


def inspect(engine: EngineUnderTest, ref: str) -> dict[str, Any]:
    return dict(json.loads(docker(engine, "inspect", ref).stdout)[0])


def engine_objects(engine: EngineUnderTest) -> tuple[set[str], set[str], set[str]]:
    """Every container, image (intermediate ones included) and volume on the engine."""
    ps = docker(engine, "ps", "-aq", "--no-trunc").stdout.split()
    images = docker(engine, "images", "-aq", "--no-trunc").stdout.split()
    volumes = docker(engine, "volume", "ls", "-q").stdout.split()
    return set(ps), set(images), set(volumes)


@pytest.fixture
def unchanged(engine: EngineUnderTest) -> Iterator[Callable[[], None]]:
    """Call it once the fixture containers exist; after the test the engine must hold exactly
    what it held then."""
    before: list[tuple[set[str], set[str], set[str]]] = []

    def mark() -> None:
        before.append(engine_objects(engine))

    yield mark
    assert before, "the test never marked the engine's state"
    assert engine_objects(engine) == before[0]


@pytest.mark.parametrize("looping", [False, True], ids=["exited", "crash-looping"])
def test_session_sees_the_file_the_app_wrote_before_dying(
        engine: EngineUnderTest, containers: Callable[..., str],
        unchanged: Callable[[], None], looping: bool) -> None:
    cid = crashed(engine, containers, looping=looping)
    unchanged()
    proc = debug(engine, cid, "--", "cat", "/tmp/FILE")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == WRITTEN + "\n"
    assert "dhitui: taking a snapshot of" in proc.stderr
    assert ("copying the toolbox" in proc.stderr) is (not engine.image_mounts)
    after = inspect(engine, cid)
    if looping:
        # Its restart policy was left alone: still always, still restarting.
        assert after["HostConfig"]["RestartPolicy"]["Name"] == "always"
        n = after["RestartCount"]
        poll("another restart", lambda: inspect(engine, cid)["RestartCount"] > n)
    else:
        assert after["State"]["Status"] == "exited"


def test_volumes_bind_mounts_env_workdir_user_and_no_network(
        engine: EngineUnderTest, containers: Callable[..., str], tmp_path: Path) -> None:
    volume = f"dhitui-test-{uuid.uuid4().hex[:10]}"
    docker(engine, "volume", "create", volume)
    bind = tmp_path / "bind"
    bind.mkdir()
    (bind / "bound.txt").write_text("from the host\n")
    cid = ""
    try:
        docker(engine, "run", "--rm", "--network", "none", "-v", f"{volume}:/data", "busybox",
               "sh", "-c", "echo in the volume > /data/VFILE")
        cid = crashed(engine, containers, "-v", f"{volume}:/data", "-v", f"{bind}:/bind:ro",
                      "-v", "/anon", "-e", "APP_MODE=canary", "-w", "/data")
        before = engine_objects(engine)
        script = ('cat /tmp/FILE /data/VFILE /bind/bound.txt; echo "mode=$APP_MODE"; pwd; '
                  'id -u; ls /sys/class/net; ls -d /anon')
        proc = debug(engine, cid, "--", "sh", "-c", script)
        no_traceback(proc)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == [WRITTEN, "in the volume", "from the host",
                                            "mode=canary", "/data", "65532", "lo", "/anon"]
        # --root runs as root, the rest the same.
        root = debug(engine, cid, "--root", "--", "id", "-u")
        assert (root.returncode, root.stdout) == (0, "0\n"), root.stderr
        # Nothing added, nothing taken: the named and the anonymous volume are still there.
        assert engine_objects(engine) == before
    finally:
        if cid:
            docker(engine, "rm", "-f", cid, check=False)
        docker(engine, "volume", "rm", volume, check=False)


def test_print_shows_why_and_every_step(engine: EngineUnderTest,
                                        containers: Callable[..., str]) -> None:
    cid = crashed(engine, containers, code=3)
    proc = debug(engine, cid, "--print")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "why         exited with 3: the app's own exit code" in out
    assert "| fixture-app: fatal: config missing, exiting with 3" in out
    assert "\x1b" not in out
    assert "strategy    snapshot (auto: the best available here)" in out
    assert " commit --pause=false " in out and "rmi dhitui-snapshot:" in out
    assert ("cp - COPY:/dbg" in out) is (not engine.image_mounts)
    assert out.splitlines()[-1].split()[1:4] == ["-H", engine.host, "run"]
    code, data = run_json("debug", "-H", engine.host, cid, "--print", "--json")
    assert code == 0 and isinstance(data, dict)
    reason = data["target"]["exit"]
    assert reason["exit_code"] == 3 and reason["state"] == "exited"
    assert data["strategies"][1]["snapshot"]["container"] == cid


def test_a_crash_loop_read_between_restarts_is_an_engine_error(
    engine: EngineUnderTest, containers: Callable[..., str]
) -> None:
    """Reading a file of a container that keeps restarting: the engine may answer with an
    error, or (Podman 4.3, ~1 read in 10 here) 200 and an empty archive. Either way the
    reader says EngineError (probes then fail softly), never a tar error or a traceback."""
    import time

    from dhitui.engine.client import EngineError, connect
    from dhitui.engine.endpoint import resolve_endpoint

    looping = crashed(engine, containers, code=4, looping=True)
    api = connect(resolve_endpoint(host=engine.host))
    outcomes: dict[str, int] = {}
    end = time.monotonic() + 10
    try:
        while time.monotonic() < end:
            try:
                got = api.read_file(looping, "/etc/group")
                kind = "read" if got else "none"
            except EngineError:
                kind = "engine error"
            outcomes[kind] = outcomes.get(kind, 0) + 1
    finally:
        api.close()
    assert outcomes.get("read", 0) > 0, outcomes  # between the errors, the file is there


def test_exit_reasons_in_ls_json(engine: EngineUnderTest, containers: Callable[..., str]) -> None:
    exited = crashed(engine, containers, code=3)
    looping = crashed(engine, containers, code=4, looping=True)
    script = containers(engine, SCRIPT_IMAGE)
    poll("the script container to fail",
         lambda: inspect(engine, script)["State"]["Status"] == "exited")
    running = containers(engine, HARDENED_IMAGE)

    def listed() -> dict[str, Any] | None:
        proc = run_dhitui("ls", "-H", engine.host, "--all", "--json")
        assert proc.returncode == 0, proc.stderr
        rows = {c["id"]: c for c in json.loads(proc.stdout)}
        # A crash loop is up for moments between restarts: list it while it is down.
        loop = rows[looping]["exit"]
        return rows if loop and loop["state"] == "restarting" else None
    # Between restarts only for moments, and each `ls` takes seconds on a loaded machine
    # (CI once saw no listing catch it within 60 s on Podman): a longer poll, same claim.
    rows = poll("the crash loop listed while restarting", listed, timeout=180)
    e = rows[exited]["exit"]
    assert (e["state"], e["exit_code"], e["oom_killed"], e["restart_count"],
            e["restart_policy"], e["crash_looping"]) == ("exited", 3, False, 0, "no", False)
    assert e["finished_at"] == inspect(engine, exited)["State"]["FinishedAt"]
    assert e["last_logs"][-2:] == ["fixture-app: wrote /tmp/FILE",
                                   "fixture-app: fatal: config missing, exiting with 3"]
    assert rows[exited]["crash_looping"] is False
    lo = rows[looping]["exit"]
    assert lo["exit_code"] == 4 and lo["restart_policy"] == "always"
    assert lo["restart_count"] >= 1 and rows[looping]["crash_looping"] is True
    s = rows[script]["exit"]
    assert s["exit_code"] == inspect(engine, script)["State"]["ExitCode"] != 0
    assert "/app/start.sh" in s["meaning"] + s["error"] + " ".join(s["last_logs"])
    assert rows[running]["exit"] is None and rows[running]["crash_looping"] is False


def start_session(engine: EngineUnderTest, target: str, *command: str,
                  transport: str = "auto") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dhitui", "--transport", transport, "debug", "-H", engine.host,
         target, "--", *command],
        env=cli_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_hangup_or_term_leaves_nothing(engine: EngineUnderTest, containers: Callable[..., str],
                                       unchanged: Callable[[], None], sig: int) -> None:
    cid = crashed(engine, containers)
    unchanged()
    proc = start_session(engine, cid, "sleep", "300")
    running_sidecar(engine)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 128 + sig, err
    assert f"ended by {signal.Signals(sig).name}" in err and "Traceback" not in err
    assert sidecars(engine) == []


def test_ctrl_c_leaves_nothing(engine: EngineUnderTest, containers: Callable[..., str],
                               unchanged: Callable[[], None], tmp_path: Path) -> None:
    cid = crashed(engine, containers)
    unchanged()
    ctrl_c_ends_the_session(engine, tmp_path, cid)


def ctrl_c_ends_the_session(engine: EngineUnderTest, tmp_path: Path, *target: str) -> None:
    """`dhitui debug TARGET -- sleep 300` on a real terminal: Ctrl-C ends the command, the
    session reports 130, and its sidecar is gone."""
    child = shell_in_pty(tmp_path)
    try:
        child.sendline(f"{sys.executable} -m dhitui debug -H {engine.host} {' '.join(target)} "
                       "-- sleep 300")
        running_sidecar(engine)
        child.sendcontrol("c")
        child.expect_exact("dhitui: session ended (exit status 130)")
        child.expect_exact("HOST$ ")
        assert "Traceback" not in child.before
    finally:
        child.close(force=True)
    assert sidecars(engine) == []


@pytest.mark.parametrize("how", ["cli", "image"])
def test_ctrl_c_reaches_a_command_that_has_its_own_pid_namespace(
        engine: EngineUnderTest, containers: Callable[..., str], tmp_path: Path,
        how: str) -> None:
    """No init binary: the toolbox's shell is PID 1 and the command its child, and Ctrl-C
    reaches the command (a `kill -INT -1` run in the sidecar), through the docker CLI (whose
    signal proxy would only reach PID 1) and for an image explored with no container."""
    if how == "image" and not engine.image_mounts:
        target = ["--image", STANDARD_IMAGE]  # its own shell: no toolbox needed
    elif how == "image":
        target = ["--image", HARDENED_IMAGE]
    else:
        target = ["--transport", "cli", crashed(engine, containers)]
    ctrl_c_ends_the_session(engine, tmp_path, *target)


def settled(engine: EngineUnderTest, expected: tuple[set[str], set[str], set[str]],
            deadline: float = 120.0) -> None:
    """Poll until the engine holds exactly `expected` again (the keeper works on its own
    time: it may also wait out a commit under way)."""
    def difference() -> dict[str, dict[str, list[str]]]:
        now = engine_objects(engine)
        return {kind: {"added": sorted(n - e), "gone": sorted(e - n)}
                for kind, n, e in zip(("containers", "images", "volumes"), now, expected,
                                      strict=True)}
    def as_it_was() -> bool:
        try:
            return engine_objects(engine) == expected
        except AssertionError:  # Podman can fail a list while it deletes an image: again
            return False
    poll("the engine as it was", as_it_was, deadline, show=difference)


class CommitWatch:
    """The engine's `commit` events for one container from now on, followed live (`docker
    events`): Engine 20.10, 28 and Podman each send one when a commit is done. Followed, not
    looked up afterwards: the Podman test engine rotates its event log early, as long-lived
    hosts do, and a past event may be gone by then."""

    def __init__(self, engine: EngineUnderTest, cid: str) -> None:
        self.proc = subprocess.Popen(
            [docker_cli_path(), "-H", engine.host, "events", "--since", f"{time.time():.3f}",
             "--filter", f"container={cid}",
             "--filter", "event=commit", "--format", "{{.Action}}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def next_commit(self, deadline: float = DEADLINE) -> bool:
        import select

        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], deadline)
        return bool(ready) and self.proc.stdout.readline().strip() == "commit"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def keeper_of(pid: int) -> psutil.Process:
    """The keeper process a dhitui process started for its session (in its own session, so
    a signal to dhitui's process group does not reach it)."""
    def find() -> psutil.Process | None:
        for child in psutil.Process(pid).children():
            if any("keeper.py" in part for part in child.cmdline()):
                return child
        return None
    return poll("the session's keeper", find)


def test_kill_9_through_the_cli_leaves_the_session_then_nothing(
        engine: EngineUnderTest, containers: Callable[..., str],
        unchanged: Callable[[], None]) -> None:
    """Through the docker CLI, which outlives dhitui and keeps the session: live while it
    runs; once it ends the keeper removes the sidecar and the images."""
    cid = crashed(engine, containers)
    unchanged()
    before = engine_objects(engine)
    proc = start_session(engine, cid, "sleep", "300", transport="cli")
    running_sidecar(engine)
    cli = poll("the docker CLI child", lambda: [c for c in psutil.Process(proc.pid).children()
                                               if "keeper.py" not in " ".join(c.cmdline())])[0]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=DEADLINE)
    live = cleanup_json(engine)
    assert {(s["kind"], s["status"], s["removed"]) for s in live} == {
        ("container", "live", False), ("image", "live", False)}
    cli.kill()
    cli.wait(timeout=DEADLINE)
    settled(engine, before)


@pytest.mark.parametrize("when", ["commit", "session"])
def test_kill_9_over_the_api_leaves_nothing(engine: EngineUnderTest,
                                            containers: Callable[..., str],
                                            unchanged: Callable[[], None], when: str) -> None:
    """dhitui killed while the engine commits a large writable layer (the engine finishes a
    commit whose client has gone: its image comes after dhitui died), or during the session:
    the keeper removes the sidecar, the helpers and the images."""
    if when == "commit":  # a writable layer that takes a while to commit
        cid = containers(engine, "busybox", command=[
            "sh", "-c", "dd if=/dev/urandom of=/big bs=1M count=200 2>/dev/null; exit 2"])
        poll("the writer", lambda: inspect(engine, cid)["State"]["Status"] == "exited",
             DEADLINE * 2)
    else:
        cid = crashed(engine, containers)
    unchanged()
    before = engine_objects(engine)
    proc = start_session(engine, cid, "sleep", "300")
    keeper = keeper_of(proc.pid)
    assert proc.stderr is not None
    if when == "commit":
        line = proc.stderr.readline()
        while "taking a snapshot" not in line:
            assert line, "dhitui ended before it took the snapshot"
            line = proc.stderr.readline()
    else:
        running_sidecar(engine)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=DEADLINE)
    # It ends once done; after a kill during the commit it looks out a while longer for the
    # image the commit adds (reaper.LATE_IMAGES). Judged once it has ended: before, a
    # commit still under way has not added its image yet, and the engine looks as it was.
    keeper.wait(timeout=DEADLINE + (60 if when == "commit" else 0))
    settled(engine, before)


def test_ctrl_c_during_the_commit_stops_it_and_removes_what_was_made(
        engine: EngineUnderTest, containers: Callable[..., str],
        unchanged: Callable[[], None]) -> None:
    """README: a large writable layer takes a while to commit "(Ctrl-C stops it and removes
    what was made)". The terminal's SIGINT (to dhitui's process group) as soon as dhitui says
    it takes the snapshot; dhitui says it was stopped while taking it, and the engine holds
    what it held before."""
    cid = containers(engine, "busybox", command=[
        "sh", "-c", "dd if=/dev/urandom of=/big bs=1M count=400 2>/dev/null; exit 2"])
    poll("the writer", lambda: inspect(engine, cid)["State"]["Status"] == "exited",
         DEADLINE * 2)
    unchanged()
    before = engine_objects(engine)
    commits = CommitWatch(engine, cid)
    try:
        proc = start_session(engine, cid, "sleep", "300")
        assert proc.stderr is not None
        said = proc.stderr.readline()
        while "taking a snapshot" not in said:
            assert said, "dhitui ended before it took the snapshot"
            said = proc.stderr.readline()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=DEADLINE)
        assert proc.returncode == 130, err
        assert "ended by SIGINT while taking the snapshot" in err, err
        assert "Traceback" not in err
        # Either the commit's request had gone (dhitui says it waits for it; the engine has
        # finished it by now), or it never went (then no image can come later).
        if "waiting for the engine to finish the commit under way" in err:
            assert commits.next_commit(), "dhitui said it waited for a commit the engine " \
                                          "did not finish"
        settled(engine, before)
    finally:
        commits.close()


def libpod_create(engine: EngineUnderTest, spec: dict[str, Any]) -> str:
    """`POST /libpod/containers/create` on Podman's own API (the same socket): what the
    compatible API cannot ask for, such as a container on an exploded root filesystem."""
    import http.client
    import socket

    class UnixConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(CLI_TIMEOUT)
            self.sock.connect(engine.socket)

    conn = UnixConnection("localhost")
    try:
        conn.request("POST", "/v4.0.0/libpod/containers/create", body=json.dumps(spec),
                     headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        body = answer.read().decode()
    finally:
        conn.close()
    assert answer.status == 201, body
    return str(json.loads(body)["Id"])


def test_a_commit_the_engine_refuses_is_exit_6_with_the_alternative(
        podman_engine: EngineUnderTest, tmp_path: Path) -> None:
    """README: "an engine that refuses the commit is `the engine refused to take a snapshot
    of X: …` with the alternative (exit 6)". Podman refuses to commit a container that runs
    on an exploded root filesystem (`--rootfs`): a real refusal, and nothing is left."""
    busybox = Path("/bin/busybox")  # busybox-static, which scripts/test-engines installs
    if not busybox.exists():
        skip_or_fail("no static binary at /bin/busybox (apt-get install busybox-static)")
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2(busybox, rootfs / "bin" / "busybox")
    engine = podman_engine
    name = f"dhitui-test-rootfs-{uuid.uuid4().hex[:8]}"
    before = engine_objects(engine)
    cid = libpod_create(engine, {
        "name": name, "rootfs": str(rootfs), "command": ["/bin/busybox", "sh", "-c", "exit 3"],
        "labels": {TEST_LABEL: "1"}, "netns": {"nsmode": "none"}})
    try:
        docker(engine, "start", cid)
        assert docker(engine, "wait", cid).stdout.strip() == "3"
        proc = run_dhitui("debug", "-H", engine.host, cid, "--", "true", input="")
        assert proc.returncode == 6, proc.stderr
        assert f"dhitui: error: the engine refused to take a snapshot of {name}: " in proc.stderr
        assert "exploded rootfs" in proc.stderr  # the engine's own words
        assert "`dhitui debug --image` explores the container's image" in proc.stderr
        no_traceback(proc)
    finally:
        docker(engine, "rm", "-f", cid, check=False)
    settled(engine, before)


def test_kill_9_of_dhitui_and_its_keeper_leaves_orphans_that_cleanup_finds(
        engine: EngineUnderTest, containers: Callable[..., str],
        unchanged: Callable[[], None]) -> None:
    """Both gone (the machine's OOM killer, say): what is left carries dhitui's labels, and
    `--cleanup` names each kind and removes it."""
    cid = crashed(engine, containers)
    unchanged()
    proc = start_session(engine, cid, "sleep", "300")
    name = running_sidecar(engine)
    keeper = keeper_of(proc.pid)
    keeper.kill()
    os.kill(proc.pid, signal.SIGKILL)  # first the keeper: it must never run its reaper
    proc.wait(timeout=DEADLINE)
    keeper.wait(timeout=DEADLINE)
    # doctor names each kind as what it is.
    _, report = run_json("doctor", "--json", "-H", engine.host)
    assert isinstance(report, dict)
    summary = next(c["summary"] for c in report["checks"] if c["id"] == "engine.sidecars")
    images = 1 if engine.image_mounts else 2  # 20.10: also the commit the copy is built on
    assert summary == ("left behind by debug sessions that died: 1 snapshot sidecar, "
                       f"{images} snapshot image{'s' if images > 1 else ''}"), summary
    gone = cleanup_json(engine)
    kinds = sorted((s["kind"], s["what"], s["status"], s["removed"]) for s in gone)
    assert kinds == ([("container", "snapshot sidecar", "orphan", True)]
                     + [("image", "snapshot image", "orphan", True)] * images)
    assert name in {s["name"] for s in gone}
    assert all(s["target_id"] == cid for s in gone)


def test_container_removed_before_the_snapshot(engine: EngineUnderTest,
                                               containers: Callable[..., str]) -> None:
    """Planned, then the container goes: a clear message, exit 5, nothing left."""
    from dhitui.engine.capabilities import probe_capabilities
    from dhitui.engine.client import connect
    from dhitui.engine.endpoint import Endpoint
    from dhitui.errors import NotFound
    from dhitui.sessions import plan_session, run_session

    cid = crashed(engine, containers)
    eng = connect(Endpoint(url=engine.host, source="flag", reason="--host"))
    try:
        caps = probe_capabilities(eng, "busybox", cli_env())
        plan = plan_session(eng, caps, cid, tty=False, command=["true"])
        before = engine_objects(engine)
        docker(engine, "rm", "-f", cid)
        with pytest.raises(NotFound) as err:
            run_session(plan, eng, env=cli_env())
        assert str(err.value) == (f"container {plan.target.label} was removed while dhitui was "
                                  "taking its snapshot")
        ps, images, volumes = engine_objects(engine)
        assert (ps | {cid}, images, volumes) == before
    finally:
        eng.close()


# --------------------------------------------------------------------------- entrypoint check


def start_check(engine: EngineUnderTest, ref: str) -> dict[str, Any]:
    _, data = run_json("doctor", "-H", engine.host, ref, "--json")
    assert isinstance(data, dict)
    found = [c for c in data["checks"] if c["id"] == "container.start"]
    assert len(found) == 1, data
    return dict(found[0])


def test_entrypoint_check_agrees_with_what_the_engine_did(
        engine: EngineUnderTest, containers: Callable[..., str]) -> None:
    # A #!/bin/sh script in an image with no /bin/sh: the check says so, and it did fail.
    script = containers(engine, SCRIPT_IMAGE)
    poll("the script container to fail",
         lambda: inspect(engine, script)["State"]["Status"] == "exited")
    assert inspect(engine, script)["State"]["ExitCode"] != 0
    c = start_check(engine, script)
    assert c["status"] == "fail"
    assert c["summary"] == "/app/start.sh starts with `#!/bin/sh`, and this image has no /bin/sh"
    assert c["data"]["missing"] == "/bin/sh" and c["data"]["kind"] == "script"
    assert "exec form" in c["fix"]
    # The static app: fine, and it runs.
    app = containers(engine, HARDENED_IMAGE)
    assert inspect(engine, app)["State"]["Running"]
    ok = start_check(engine, app)
    assert (ok["status"], ok["summary"]) == ("ok", "/app/app is a static program")
    # A standard image's CMD found through PATH (`/app/app` via an absolute path here) and a
    # shell script in an image that has sh: fine, and it runs.
    std = containers(engine, STANDARD_IMAGE, command=["sh", "-c", "sleep 300"])
    assert inspect(engine, std)["State"]["Running"]
    assert start_check(engine, std)["status"] == "ok"
    # A missing program, never started (created containers are checked too).
    missing = containers(engine, HARDENED_IMAGE, "--entrypoint", "/app/nope", start=False)
    m = start_check(engine, missing)
    assert m["status"] == "fail" and m["summary"] == "/app/nope does not exist in the container"
    started = docker(engine, "start", missing, check=False)
    assert started.returncode != 0  # the engine agrees


def test_entrypoint_check_finds_a_missing_loader(engine: EngineUnderTest,
                                                 containers: Callable[..., str]) -> None:
    """A dynamically linked program (this machine's own /bin/true) in an image without its
    C library: present and executable, yet it cannot start."""
    tag = import_rootfs(engine, {"bin": None, "bin/true": Path("/bin/true").read_bytes(),
                                 "tmp": None}, 'ENTRYPOINT ["/bin/true"]')
    try:
        cid = containers(engine, tag, start=False)
        c = start_check(engine, cid)
        assert c["status"] == "fail" and "dynamically linked" in c["summary"]
        assert c["data"]["missing"].startswith("/lib")
        started = docker(engine, "start", cid, check=False)
        code = inspect(engine, cid)["State"]["ExitCode"]
        assert started.returncode != 0 or code != 0  # the engine agrees
        docker(engine, "rm", "-f", cid)
    finally:
        docker(engine, "rmi", tag, check=False)


def test_unknown_network_and_image_targets_are_clear(engine28: EngineUnderTest,
                                                      containers: Callable[..., str]) -> None:
    running = containers(engine28, HARDENED_IMAGE)
    proc = run_dhitui("debug", "-H", engine28.host, running, "--network", "bridge", "--print")
    assert proc.returncode == 2 and "--network is for snapshot sessions" in proc.stderr
    no_traceback(proc)


def test_a_slow_commit_says_what_is_happening(engine28: EngineUnderTest,
                                              containers: Callable[..., str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A large writable layer: progress lines while the commit runs (the interval shortened
    so that a 64 MB layer is "large"), and the images gone after `discard()`."""
    from dhitui.engine.client import connect
    from dhitui.engine.endpoint import Endpoint
    from dhitui.sessions import labels as L
    from dhitui.sessions import snapshot

    cid = containers(engine28, "busybox", command=[
        "sh", "-c", "dd if=/dev/urandom of=/big bs=1M count=64 2>/dev/null; exit 2"])
    poll("the writer to exit", lambda: inspect(engine28, cid)["State"]["Status"] == "exited")
    monkeypatch.setattr(snapshot, "PROGRESS_EVERY", 0.001)
    session = uuid.uuid4().hex
    spec = snapshot.SnapshotSpec(
        container=cid, label="big", session=session, copy_toolbox=None, mount_point="/dbg",
        labels=L.snapshot_labels(session=session, machine=L.Machine.current(), target_id=cid,
                                 target_name="big"))
    eng = connect(Endpoint(url=engine28.host, source="flag", reason="--host"))
    said: list[str] = []
    try:
        before = engine_objects(engine28)
        snap = snapshot.Snapshot(eng, spec)
        snap.take(said.append)
        assert docker(engine28, "image", "inspect", spec.image).returncode == 0
        assert snap.discard() == []
        assert engine_objects(engine28) == before
    finally:
        eng.close()
    assert said[0].startswith("taking a snapshot of big")
    assert any(s.startswith("still taking the snapshot (") for s in said[1:]), said


def test_target_removed_during_the_session_leaves_nothing(
        engine: EngineUnderTest, containers: Callable[..., str]) -> None:
    cid = crashed(engine, containers)
    ps, images, volumes = engine_objects(engine)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhitui", "debug", "-H", engine.host, cid, "--", "head", "-n1"],
        env=cli_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    running_sidecar(engine)
    docker(engine, "rm", "-f", cid)
    out, err = proc.communicate("still here\n", timeout=DEADLINE)
    assert (proc.returncode, out) == (0, "still here\n"), err
    assert sidecars(engine) == []
    assert engine_objects(engine) == (ps - {cid}, images, volumes)


def test_interactive_snapshot_session_through_a_real_pty(
        engine: EngineUnderTest, containers: Callable[..., str],
        unchanged: Callable[[], None], tmp_path: Path) -> None:
    cid = crashed(engine, containers)
    unchanged()
    child = shell_in_pty(tmp_path)
    try:
        host_cmd(child, f"stty -a > {tmp_path}/before")
        child.sendline(f"{sys.executable} -m dhitui debug -H {engine.host} {cid}")
        child.expect_exact("dhitui: snapshot session into")
        session_says(child, "tty", "/dev/pts/")
        session_says(child, "cat /tmp/FILE", WRITTEN)
        session_says(child, "id -u", "65532")
        # Ctrl-C stops the command in the session, not the session.
        child.sendline("sleep 300")
        sidecar = running_sidecar(engine)
        poll("sleep to run in the session",
             lambda: "sleep 300" in docker(engine, "top", sidecar).stdout)
        child.sendcontrol("c")
        session_says(child, "echo still-here", "still-here")
        child.sendline("exit 4")
        child.expect_exact("dhitui: session ended (exit status 4)")
        child.expect_exact("HOST$ ")
        child.sendline(f"stty -a > {tmp_path}/after")
        child.expect_exact("HOST$ ")
    finally:
        child.close(force=True)
    assert (tmp_path / "before").read_text() == (tmp_path / "after").read_text()
    assert sidecars(engine) == []
