"""Debug sessions against the real engines: every strategy end to end, the printed command
being the one that runs, real ptys, cleanup (normal exit, Ctrl-C, SIGTERM, the target
dying, `kill -9` + `--cleanup`), and bad input."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pexpect
import psutil
import pytest

from conftest import (
    ABSOLUTE_LINKS_TOOLBOX,
    ENGINE_VARS,
    HARDENED_IMAGE,
    PYTHON_DEV_IMAGE,
    PYTHON_IMAGE,
    SIDECAR_LABEL,
    STANDARD_IMAGE,
    TEST_LABEL,
    TOOLBOX_IMAGE,
    EngineUnderTest,
    HardLink,
    cli_env,
    command_shown,
    docker,
    docker_cli_path,
    docker_shim,
    engines_to_check,
    import_rootfs,
    run_dhitui,
    run_json,
    sidecars,
)
from polling import poll

pytestmark = pytest.mark.engine

DEADLINE = 60.0


@pytest.fixture(autouse=True)
def through_the_docker_cli(tmp_path_factory: pytest.TempPathFactory,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """This file runs sessions through the docker CLI (`transport = "cli"` in the config
    file, which is how a user pins it); tests/test_sessions_api.py runs them over the Engine
    API with no CLI at all, and compares the two. Its sidecars stand beside their targets
    (`view = "beside"`): the sidecar's own mechanics through the CLI (labels, --rm, orphans
    judged by the CLI's command line, signals) are what it tests; the inside view, over both
    transports, is tests/test_sessions_inside.py's."""
    cfg = tmp_path_factory.mktemp("xdg")
    (cfg / "dhitui").mkdir()
    (cfg / "dhitui" / "config.toml").write_text('transport = "cli"\nview = "beside"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cfg))


@pytest.fixture(autouse=True)
def no_sidecar_left_behind() -> Iterator[None]:
    """After every test: no container with dhitui's sidecar label on any engine that was
    not there before it (those found are removed, so that the next test starts clean, and
    fail this one; on engines shared with other runs, what those had is left alone)."""
    engines = engines_to_check(list(ENGINE_VARS))
    before = {eng.name: set(sidecars(eng)) for eng in engines}
    yield
    leftovers = {}
    for eng in engines:
        names = [n for n in sidecars(eng) if n not in before[eng.name]]
        if names:
            leftovers[eng.name] = names
            docker(eng, "rm", "-f", *names, check=False)
    assert not leftovers, f"sidecars left behind: {leftovers}"


def hardened(engine: EngineUnderTest, containers: Callable[..., str], *args: str) -> str:
    return containers(engine, HARDENED_IMAGE, *args)


def debug(engine: EngineUnderTest, *args: str, env: dict[str, str] | None = None,
          **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return run_dhitui("debug", "-H", engine.host, *args, env=env, input="", **kwargs)


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr


def running_line(stderr: str) -> list[str]:
    """The argv dhitui said it was running (`dhitui: running: ...` on stderr)."""
    return command_shown(stderr)


# --------------------------------------------------------------------------- choosing


def test_auto_strategy_per_engine(engine: EngineUnderTest,
                                  containers: Callable[..., str]) -> None:
    cid = hardened(engine, containers)
    code, data = run_json("debug", "-H", engine.host, cid, "--print", "--json")
    assert code == 0 and isinstance(data, dict)
    assert data["strategy"] == ("image-mount" if engine.image_mounts else "toolbox")
    assert data["target"]["id"] == cid and data["runnable"] is True
    by_name = {s["name"]: s for s in data["strategies"]}
    assert by_name["exec"]["available"] is False
    assert by_name["docker-debug"]["available"] is False
    assert by_name["toolbox"]["available"] is True
    if not engine.image_mounts:
        assert any("API 1.48" in r for r in by_name["image-mount"]["reasons"])
    shell = containers(engine, STANDARD_IMAGE)
    code, data = run_json("debug", "-H", engine.host, shell, "--print", "--json")
    assert code == 0 and isinstance(data, dict)
    assert data["strategy"] == "exec" and data["argv"][-2:] == [shell, "/bin/sh"]


def test_print_human_ends_with_the_command(engine28: EngineUnderTest,
                                           containers: Callable[..., str]) -> None:
    cid = hardened(engine28, containers)
    proc = debug(engine28, cid, "--print")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("target ") and "no shell" in lines[0]
    assert any(ln.startswith("strategy    image-mount") for ln in lines)
    argv = shlex.split(lines[-1])
    assert argv[0] == docker_cli_path() and argv[1:3] == ["-H", engine28.host]
    assert argv[3:6] == ["run", "--rm", "-i"] and "-t" not in argv  # stdin is not a TTY
    assert sidecars(engine28) == []  # --print runs nothing


def test_standin_docker_debug_is_chosen_and_gets_the_right_arguments(
    engine: EngineUnderTest, containers: Callable[..., str], standin_plugin_config: Path,
    tmp_path: Path,
) -> None:
    cid = hardened(engine, containers)
    log = tmp_path / "standin.jsonl"
    env = cli_env({"DOCKER_CONFIG": str(standin_plugin_config),
                   "DHITUI_STANDIN_LOG": str(log), "DHITUI_STANDIN_EXIT": "3"})
    proc = debug(engine, cid, "--", "ls", "-l", "/proc/1/root/app dir", env=env)
    no_traceback(proc)
    assert proc.returncode == 3  # the session's status
    assert "docker-debug session into" in proc.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 1
    assert calls[0]["global"] == ["-H", engine.host]  # the engine dhitui resolved
    assert calls[0]["debug_args"] == ["--command", "ls -l '/proc/1/root/app dir'", cid]
    assert running_line(proc.stderr)[1:] == calls[0]["argv"]


# --------------------------------------------------------------------------- running


def test_noninteractive_session_lists_the_app(engine: EngineUnderTest,
                                              containers: Callable[..., str]) -> None:
    cid = hardened(engine, containers)
    proc = debug(engine, cid, "--", "ls", "-l", "/proc/1/root/app")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "app" and "-rwx" in proc.stdout
    strategy = "image-mount" if engine.image_mounts else "toolbox"
    assert f"dhitui: {strategy} session into" in proc.stderr
    assert "dhitui: session ended (exit status 0)" in proc.stderr


def test_a_script_piped_into_a_session(engine: EngineUnderTest,
                                      containers: Callable[..., str]) -> None:
    """No `--` and stdin not a terminal: no TTY, the session's shell reads the script."""
    cid = hardened(engine, containers)
    proc = run_dhitui("debug", "-H", engine.host, cid,
                      input="cd /proc/1/root/app\nls\nexit 4\n")
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout.split() == ["app"]
    assert "-t" not in running_line(proc.stderr)


def test_ps_shows_the_target_as_pid_1(engine: EngineUnderTest,
                                      containers: Callable[..., str]) -> None:
    cid = hardened(engine, containers)
    proc = debug(engine, cid, "-q", "--", "ps", "-o", "pid,user,args")
    assert proc.returncode == 0, proc.stderr
    rows = [ln.split(None, 2) for ln in proc.stdout.strip().splitlines()[1:]]
    assert ["1", "nonroot", "/app/app --serve"] in rows
    assert proc.stderr.count("dhitui:") == 0  # -q


def test_every_strategy_on_every_engine_that_allows_it(
    engine: EngineUnderTest, containers: Callable[..., str]
) -> None:
    cid = hardened(engine, containers)
    strategies = ["toolbox", *(["image-mount"] if engine.image_mounts else [])]
    for strategy in strategies:
        proc = debug(engine, cid, "-s", strategy, "--", "sh", "-c",
                     'id -u; cat /proc/1/cmdline | tr "\\0" " "; ls /proc/1/root/app')
        assert proc.returncode == 0, (strategy, proc.stderr)
        assert proc.stdout.split() == ["65532", "/app/app", "--serve", "app"], strategy
    shell = containers(engine, STANDARD_IMAGE)
    proc = debug(engine, shell, "-s", "exec", "--", "sh", "-c", "echo in $(hostname); exit 7")
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout.strip() == f"in {shell[:12]}"
    assert "session ended (exit status 7)" in proc.stderr


def test_session_user_follows_the_target(engine: EngineUnderTest,
                                         containers: Callable[..., str]) -> None:
    """A target started with --user 1234:1234 is joined as 1234:1234 (same uid and gid is
    what the kernel wants for /proc/1/root); --root is root with CAP_SYS_PTRACE instead."""
    cid = hardened(engine, containers, "--user", "1234:1234")
    script = "id -u; id -g; ls /proc/1/root/app"
    proc = debug(engine, cid, "-q", "--", "sh", "-c", script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1234", "1234", "app"]
    proc = debug(engine, cid, "-q", "--root", "--", "sh", "-c", script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "0", "app"]


def test_the_printed_argv_is_what_actually_runs(engine: EngineUnderTest,
                                                containers: Callable[..., str],
                                                tmp_path: Path) -> None:
    """A `docker` shim first on PATH records the argv and environment it is started with,
    then runs the real CLI: what dhitui printed must be exactly what the shim saw."""
    shim = docker_shim(tmp_path)
    env = cli_env({"PATH": f"{shim.bin_dir}:{os.environ['PATH']}",
                   "DOCKER_CONFIG": str(tmp_path)})
    env["DOCKER_HOST"] = engine.host  # resolved by dhitui, then passed as -H, not inherited
    cid = hardened(engine, containers)
    shell = containers(engine, STANDARD_IMAGE)
    cases = [(cid, "toolbox"), (shell, "exec")]
    if engine.image_mounts:
        cases.append((cid, "image-mount"))
    for target, strategy in cases:
        shim.forget()
        printed = run_dhitui("debug", target, "-s", strategy, "--print", "--json", "--", "ls",
                             "/", env=env, input="")
        planned = json.loads(printed.stdout)["argv"]
        proc = run_dhitui("debug", target, "-s", strategy, "--", "ls", "/", env=env, input="")
        assert proc.returncode == 0, proc.stderr
        ran = shim.calls()
        assert len(ran) == 1, ran
        assert running_line(proc.stderr) == ran[0]["argv"]  # exactly what ran
        assert ran[0]["argv"][:3] == [str(shim.path), "-H", engine.host]
        assert ran[0]["argv"][-2:] == ["ls", "/"]
        assert "DOCKER_HOST" not in ran[0]["env"] and "DOCKER_CONFIG" in ran[0]["env"]
        # --print shows the same command, but for its own session id and sidecar name.
        assert same_but_session(planned, ran[0]["argv"]), (planned, ran[0]["argv"])


def same_but_session(a: list[str], b: list[str]) -> bool:
    def normal(argv: list[str]) -> list[str]:
        # The session id, the sidecar's name and the dhitui process that owns it.
        return ["<session>" if x.startswith(("dhitui.session=", "dhitui-debug-", "dhitui.pid=",
                                             "dhitui.pid-start=")) else x
                for x in argv]
    return len(a) == len(b) and normal(a) == normal(b)


# --------------------------------------------------------------------------- real ptys


def shell_in_pty(tmp_path: Path) -> pexpect.spawn:
    """An interactive /bin/sh in a real pty, with the test docker CLI first on PATH."""
    env = cli_env({"PS1": "HOST$ ", "TERM": "xterm", "HOME": str(tmp_path)})
    child = pexpect.spawn("/bin/sh", ["-i"], env=env, timeout=DEADLINE, encoding="utf-8",
                          dimensions=(40, 120))
    child.expect_exact("HOST$ ")
    return child


def host_cmd(child: pexpect.spawn, line: str) -> None:
    child.sendline(line)
    child.expect_exact("HOST$ ")


def session_says(child: pexpect.spawn, command: str, expected: str) -> None:
    """Type a command in the session and read its output; the marker is computed by the
    session's shell, so the typed echo of the line cannot satisfy the match."""
    child.sendline(f"{command}; echo END$((40+2))")
    child.expect(r"END42")
    assert expected in child.before, child.before


@pytest.mark.parametrize("kind", ["hardened", "shell"])
def test_interactive_session_through_a_real_pty(engine: EngineUnderTest, kind: str,
                                                containers: Callable[..., str],
                                                tmp_path: Path) -> None:
    cid = hardened(engine, containers) if kind == "hardened" else containers(engine,
                                                                             STANDARD_IMAGE)
    child = shell_in_pty(tmp_path)
    try:
        host_cmd(child, f"stty -a > {tmp_path}/before")
        child.sendline(f"{sys.executable} -m dhitui debug -H {engine.host} {cid}")
        strategy = "exec" if kind == "shell" else (
            "image-mount" if engine.image_mounts else "toolbox")
        child.expect_exact(f"dhitui: {strategy} session into")
        session_says(child, "tty", "/dev/pts/")  # a real TTY handed to the session
        if kind == "hardened":
            session_says(child, "ls /proc/1/root/app", "app")
            session_says(child, "id -un", "nonroot")
        else:
            session_says(child, "ls /app", "app")
        # Ctrl-C belongs to the session: it stops the command, not dhitui.
        child.sendline("sleep 300")
        where = cid if kind == "shell" else running_sidecar(engine)
        poll("sleep to run in the session",
             lambda: "sleep 300" in docker(engine, "top", where).stdout)
        child.sendcontrol("c")
        session_says(child, "echo still-here", "still-here")
        child.sendline("exit 5")
        child.expect_exact("dhitui: session ended (exit status 5)")
        child.expect_exact("HOST$ ")
        child.sendline(f"echo rc=$?; stty -a > {tmp_path}/after")
        child.expect_exact("rc=5")
        child.expect_exact("HOST$ ")
    finally:
        child.close(force=True)
    assert (tmp_path / "before").read_text() == (tmp_path / "after").read_text()


def test_ctrl_c_ends_a_command_session_cleanly(engine: EngineUnderTest,
                                               containers: Callable[..., str],
                                               tmp_path: Path) -> None:
    """Without a TTY (`-- CMD`), the terminal's Ctrl-C reaches dhitui and the docker CLI;
    the CLI forwards it to the command, dhitui waits, reports 130 and leaves nothing."""
    cid = hardened(engine, containers)
    child = shell_in_pty(tmp_path)
    try:
        child.sendline(f"{sys.executable} -m dhitui debug -H {engine.host} {cid} -- sleep 300")
        # Only once the session runs (a helper container may exist earlier, while planning).
        running_sidecar(engine)
        child.sendcontrol("c")
        child.expect_exact("dhitui: session ended (exit status 130)")
        child.expect_exact("HOST$ ")
        child.sendline("echo rc=$?")
        child.expect_exact("rc=130")
        assert "Traceback" not in child.before
    finally:
        child.close(force=True)
    assert sidecars(engine) == []


# --------------------------------------------------------------------------- cleanup


def start_session(engine: EngineUnderTest, target: str, *command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dhitui", "debug", "-H", engine.host, target, "--", *command],
        env=cli_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def running_sidecar(engine: EngineUnderTest) -> str:
    def check() -> str | None:
        out = docker(engine, "ps", "--filter", f"label={SIDECAR_LABEL}", "--filter",
                     "status=running", "--format", "{{.Names}}").stdout.split()
        return out[0] if out else None
    return str(poll("a running sidecar", check))


def cleanup_json(engine: EngineUnderTest) -> list[dict[str, Any]]:
    code, data = run_json("debug", "-H", engine.host, "--cleanup", "--json")
    assert code == 0 and isinstance(data, list)
    return data


def test_kill_9_then_cleanup_removes_the_orphan(engine: EngineUnderTest,
                                                containers: Callable[..., str]) -> None:
    cid = hardened(engine, containers)
    proc = start_session(engine, cid, "sleep", "300")
    name = running_sidecar(engine)
    inspect = json.loads(docker(engine, "inspect", name).stdout)[0]
    labels = inspect["Config"]["Labels"]
    assert labels["dhitui.sidecar"] == "1" and labels["dhitui.target"] == cid
    target_name = json.loads(docker(engine, "inspect", cid).stdout)[0]["Name"].lstrip("/")
    assert labels["dhitui.target-name"] == target_name and labels["dhitui.strategy"] in (
        "image-mount", "toolbox")
    assert inspect["HostConfig"]["PidMode"] == f"container:{cid}"
    assert inspect["HostConfig"]["AutoRemove"] is engine.autoremove_keeps_exit_status
    assert inspect["HostConfig"]["Privileged"] is False and not inspect["HostConfig"]["CapAdd"]
    assert inspect["HostConfig"]["LogConfig"]["Type"] == "none"
    cli = poll("the docker CLI child", lambda: psutil.Process(proc.pid).children())[0]
    # kill -9 of dhitui alone: its docker CLI keeps the session, which is live, not an orphan.
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=DEADLINE)
    kept = cleanup_json(engine)
    assert [(s["name"], s["status"], s["removed"]) for s in kept] == [(name, "live", False)]
    assert sidecars(engine) == [name]
    # Now the CLI dies too: nothing runs the session any more.
    cli.kill()
    cli.wait(timeout=DEADLINE)
    gone = cleanup_json(engine)
    assert [(s["name"], s["status"], s["removed"]) for s in gone] == [(name, "orphan", True)]
    assert "no process on this machine" in gone[0]["reason"]
    assert sidecars(engine) == []
    human = run_dhitui("debug", "-H", engine.host, "--cleanup")
    assert human.returncode == 0 and human.stdout == "no dhitui sidecars on this engine\n"


def test_sidecar_ends_when_the_target_dies(engine: EngineUnderTest,
                                           containers: Callable[..., str]) -> None:
    cid = hardened(engine, containers)
    proc = start_session(engine, cid, "sleep", "300")
    running_sidecar(engine)
    docker(engine, "stop", "-t", "1", cid)
    _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 137
    assert "session ended (exit status 137); the target is no longer running" in err
    assert sidecars(engine) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_to_dhitui_ends_the_session_and_removes_the_sidecar(
    engine: EngineUnderTest, containers: Callable[..., str], sig: signal.Signals
) -> None:
    """README: SIGTERM or SIGHUP (a closed terminal) to dhitui removes the sidecar."""
    cid = hardened(engine, containers)
    # An interactive shell ignores SIGTERM and SIGHUP: removing the sidecar is what ends it.
    proc = start_session(engine, cid, "sh", "-c",
                         "trap '' TERM HUP; sleep 300 & wait; wait")
    running_sidecar(engine)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 128 + sig, err
    assert f"ended by {sig.name}" in err and "Traceback" not in err
    assert sidecars(engine) == []


def test_cleanup_removes_an_orphan_of_a_gone_target(engine: EngineUnderTest,
                                                    containers: Callable[..., str]) -> None:
    """A sidecar left by a crash whose target is gone (simulated with the same labels)."""
    fake_target = "0" * 64
    docker(engine, "create", "--label", SIDECAR_LABEL, "--label",
           f"dhitui.target={fake_target}", "--label", "dhitui.target-name=gone-app",
           "--label", "dhitui.strategy=toolbox", "--label", f"dhitui.session={'9' * 32}",
           "--name", f"dhitui-debug-gone-{uuid.uuid4().hex[:8]}", "--network", "none",
           TOOLBOX_IMAGE, "true")
    data = cleanup_json(engine)
    assert len(data) == 1 and data[0]["status"] == "orphan" and data[0]["removed"] is True
    assert data[0]["reason"] == "its target gone-app no longer exists"


# --------------------------------------------------------------------------- images


class EventLines:
    """The lines a `docker events` process prints, read with a deadline (raw reads: a
    buffered reader could hold lines that select() no longer reports)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.proc, self.fd, self.buf = proc, proc.stdout.fileno(), b""

    def until(self, last: str, deadline: float = DEADLINE) -> list[str]:
        """The lines before the line whose first word is `last`."""
        import select

        lines: list[str] = []
        end = time.monotonic() + deadline
        while True:
            while b"\n" in self.buf:
                raw, self.buf = self.buf.split(b"\n", 1)
                line = raw.decode().strip()
                if line.split(" ", 1)[0] == last:
                    return lines
                lines.append(line)
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                self.buf = b"\n".join(x.encode() for x in lines) + (b"\n" if lines else b"") \
                    + self.buf
                raise TimeoutError(f"no event for {last} within {deadline}s (got {lines})")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise AssertionError(f"docker events ended before {last} (got {lines})")
            self.buf += chunk


def test_toolbox_is_looked_at_once_then_cached(engine: EngineUnderTest,
                                               containers: Callable[..., str],
                                               tmp_path: Path) -> None:
    """Finding the toolbox's shell takes a created-never-started helper container; the
    answer is cached on disk by image id, so the next run creates none."""
    cid = hardened(engine, containers)
    env = cli_env({"XDG_CACHE_HOME": str(tmp_path)})
    # A live event stream, not `--since/--until`: podman 4.3's answers to those come back
    # empty or partial at random. A marker container with the same label, created last,
    # says when every earlier event has arrived. Podman's file events log rotates at 1 MB
    # and a following stream then replays the new file from its start (old events, some
    # twice): only distinct containers created since the test began count.
    began = time.time_ns()
    events = subprocess.Popen(
        [docker_cli_path(), "-H", engine.host, "events", "--filter", "event=create",
         "--filter", "label=dhitui.strategy=probe", "--format", "{{.Actor.ID}} {{.TimeNano}}"],
        stdout=subprocess.PIPE)
    lines = EventLines(events)
    try:
        # The stream is open once it reports a probe-labelled create of ours (the process
        # may subscribe after the first one: try again, each with a short deadline).
        markers: list[str] = []
        for _ in range(10):
            markers.append(docker(engine, "create", "--label", "dhitui.strategy=probe",
                                  "--network", "none", TOOLBOX_IMAGE, "true").stdout.strip())
            docker(engine, "rm", markers[-1])
            try:
                lines.until(markers[-1], deadline=3)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("the event stream never reported a marker")
        for _ in range(2):
            proc = run_dhitui("debug", "-H", engine.host, cid, "--print", env=env, input="")
            assert proc.returncode == 0, proc.stderr
        marker = docker(engine, "create", "--label", "dhitui.strategy=probe", "--network",
                        "none", TOOLBOX_IMAGE, "true").stdout.strip()
        docker(engine, "rm", marker)
        created = {c for c, at in (line.split() for line in lines.until(marker))
                   if int(at) >= began and c not in markers}
    finally:
        events.kill()
        events.wait(timeout=DEADLINE)
    assert len(created) == 1
    assert (tmp_path / "dhitui" / "image-files.json").is_file()


def test_debug_an_image_with_no_container(engine: EngineUnderTest) -> None:
    proc = debug(engine, "--image", HARDENED_IMAGE, "--", "ls", "/app")
    no_traceback(proc)
    if engine.image_mounts:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["app"]
        assert f"image-mount session into {HARDENED_IMAGE}" in proc.stderr
    else:
        assert proc.returncode == 6
        assert proc.stderr.startswith(
            f"dhitui: error: cannot explore the image {HARDENED_IMAGE} here: it has no shell, "
            "and without `docker debug` that needs image mounts; Docker Engine 20.10.")
        assert "cannot mount images: that needs Docker Engine 28+ (API 1.48)\n" in proc.stderr
    # An image with its own shell can be explored anywhere.
    proc = debug(engine, "--image", STANDARD_IMAGE, "--", "ls", "/app")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["app"] and "exec session into" in proc.stderr


def test_an_image_name_in_place_of_a_container(engine28: EngineUnderTest) -> None:
    proc = debug(engine28, HARDENED_IMAGE, "--", "id", "-u")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "65532"  # the image's own USER
    assert f"no container named {HARDENED_IMAGE}; exploring the local image" in proc.stderr


def build_toolbox(engine: EngineUnderTest,
                  entries: Mapping[str, bytes | str | HardLink | None]) -> str:
    """A toolbox image: bytes are files (0755), str are symlinks, HardLink hard links, None
    dirs."""
    return import_rootfs(engine, entries, "ENV PATH=/bin", prefix="dhitui-test/toolbox")


BUSYBOX = Path("/bin/busybox").read_bytes()
# Toolbox layouts met in the wild. The flag is what mounting it at /dbg really does on Engine
# 28 (the test checks that too): it only documents the expectation.
TOOLBOX_LAYOUTS: dict[str, tuple[dict[str, bytes | str | HardLink | None], bool]] = {
    "hard links (official busybox images)": (
        {"bin": None, "bin/busybox": BUSYBOX, "bin/sh": HardLink("bin/busybox")}, True),
    "relative symlinks (bin/sh -> busybox)": (
        {"bin": None, "bin/busybox": BUSYBOX, "bin/sh": "busybox"}, True),
    "absolute symlinks (busybox --install -s, Alpine)": (
        {"bin": None, "bin/busybox": BUSYBOX, "bin/sh": "/bin/busybox"}, False),
    "relative link to an absolute one": (
        {"bin": None, "bin/busybox": BUSYBOX, "bin/sh": "ash", "bin/ash": "/bin/busybox"},
        False),
    "absolute link to a relative one": (
        {"bin": None, "bin/busybox": BUSYBOX, "bin/sh": "/bin/ash", "bin/ash": "busybox"},
        False),
    "relative link through ../": (
        {"bin": None, "usr": None, "usr/bin": None, "usr/bin/busybox": BUSYBOX,
         "bin/sh": "../usr/bin/busybox"}, True),
    "relative link climbing above the root": (
        {"bin": None, "bin/busybox": BUSYBOX, "bin/sh": "../../bin/busybox"}, False),
    "merged /usr, relative directory link (bin -> usr/bin)": (
        {"usr": None, "usr/bin": None, "usr/bin/busybox": BUSYBOX, "usr/bin/sh": "busybox",
         "bin": "usr/bin"}, True),
    "merged /usr, absolute directory link (bin -> /usr/bin)": (
        {"usr": None, "usr/bin": None, "usr/bin/busybox": BUSYBOX,
         "usr/bin/sh": HardLink("usr/bin/busybox"), "bin": "/usr/bin"}, False),
}


@pytest.mark.parametrize("layout", list(TOOLBOX_LAYOUTS))
def test_image_mount_verdict_matches_mounting_it(engine28: EngineUnderTest,
                                                 containers: Callable[..., str],
                                                 layout: str) -> None:
    """For each toolbox layout, dhitui's verdict on mounting it at /dbg agrees with mounting
    it there on Engine 28 and running its shell; the session it picks then works."""
    entries, expected = TOOLBOX_LAYOUTS[layout]
    tag = build_toolbox(engine28, entries)
    try:
        cid = hardened(engine28, containers)
        # Reality: the toolbox mounted at /dbg of a container of the hardened image (which
        # has no /bin of its own), its shell run as the entrypoint.
        real = docker(engine28, "run", "--rm", "--network", "none", "--label", TEST_LABEL,
                      "--mount", f"type=image,source={tag},destination=/dbg",
                      "--entrypoint", "/dbg/bin/sh", HARDENED_IMAGE, "-c", "echo mounted-ok",
                      check=False)
        works = real.returncode == 0 and real.stdout.strip() == "mounted-ok"
        assert works == expected, f"{layout}: the layout's expectation is wrong: {real}"
        # The verdict.
        code, data = run_json("debug", "-H", engine28.host, cid, "--toolbox", tag, "--print",
                              "--json")
        assert code == 0 and isinstance(data, dict), data
        mount = next(s for s in data["strategies"] if s["name"] == "image-mount")
        assert mount["available"] == works, (layout, mount["reasons"])
        assert data["strategy"] == ("image-mount" if works else "toolbox")
        if not works:
            assert "which would resolve inside the other root" in mount["reasons"][0]
        # The session it picks runs (a toolbox-rooted sidecar works with any layout).
        proc = debug(engine28, cid, "--toolbox", tag, "--", "sh", "-c", "echo session-ok")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "session-ok"
    finally:
        docker(engine28, "rmi", "-f", tag, check=False)


def test_toolbox_with_absolute_symlinks(engine28: EngineUnderTest,
                                        containers: Callable[..., str]) -> None:
    """Alpine's layout (/bin/sh -> /bin/busybox): fine as a sidecar's root, not at /dbg;
    the refusal names the link as written."""
    tag = build_toolbox(engine28, {"bin": None, "bin/busybox": BUSYBOX, "bin/sh": "ash",
                                   "bin/ash": "/bin/busybox", "bin/ls": "/bin/busybox"})
    try:
        cid = hardened(engine28, containers)
        code, data = run_json("debug", "-H", engine28.host, cid, "--toolbox", tag, "--print",
                              "--json")
        assert code == 0 and isinstance(data, dict)
        mount = next(s for s in data["strategies"] if s["name"] == "image-mount")
        assert not mount["available"]
        assert ("its shell /bin/sh is reached through an absolute symlink "
                "(/bin/sh -> ash, /bin/ash -> /bin/busybox)") in mount["reasons"][0]
        assert data["strategy"] == "toolbox"
        proc = debug(engine28, cid, "--toolbox", tag, "--", "ls", "/proc/1/root/app")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["app"]
    finally:
        docker(engine28, "rmi", "-f", tag, check=False)


def test_images_made_of_debian_packages(engine28: EngineUnderTest,
                                       containers: Callable[..., str]) -> None:
    """The fixtures closest to real images: a shell-less Python runtime is opened with the
    toolbox mounted; its -dev variant (bash, apt, no coreutils) gets `exec`, except for a
    command it lacks; an Alpine-style toolbox (absolute links) is refused at /dbg."""
    runtime = containers(engine28, PYTHON_IMAGE)
    proc = debug(engine28, runtime, "--", "ls", "/proc/1/root/usr/bin")
    assert proc.returncode == 0, proc.stderr
    assert "python3.11" in proc.stdout.split() and "image-mount session into" in proc.stderr
    dev = containers(engine28, PYTHON_DEV_IMAGE)
    proc = debug(engine28, dev, "--", "bash", "-c", "echo $0 ${BASH_VERSINFO[0]}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "bash 5" and "exec session into" in proc.stderr
    proc = debug(engine28, dev, "--", "cat", "/etc/os-release")
    assert proc.returncode == 0, proc.stderr
    assert 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"' in proc.stdout
    assert "chose image-mount: the container has a shell but no `cat` on its PATH" \
        in proc.stderr
    code, data = run_json("debug", "-H", engine28.host, runtime, "--toolbox",
                          ABSOLUTE_LINKS_TOOLBOX, "--print", "--json")
    assert code == 0 and isinstance(data, dict)
    mount = next(s for s in data["strategies"] if s["name"] == "image-mount")
    assert "absolute symlink (/bin/sh -> /bin/busybox)" in mount["reasons"][0]
    assert data["strategy"] == "toolbox"
    proc = debug(engine28, runtime, "--toolbox", ABSOLUTE_LINKS_TOOLBOX, "--", "ls",
                 "/proc/1/root/usr/bin")
    assert proc.returncode == 0, proc.stderr
    assert "python3.11" in proc.stdout.split() and "toolbox session into" in proc.stderr


def test_dynamically_linked_toolbox_cannot_be_mounted(engine28: EngineUnderTest,
                                                      containers: Callable[..., str]) -> None:
    dynamic = Path("/bin/dash").read_bytes()
    tag = build_toolbox(engine28, {"bin": None, "bin/sh": dynamic})
    try:
        cid = hardened(engine28, containers)
        proc = debug(engine28, cid, "--toolbox", tag, "-s", "image-mount", "--print")
        assert proc.returncode == 6
        assert "dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2)" in proc.stdout
        assert proc.stdout.strip().splitlines()[-1].startswith("command     none: strategy")
    finally:
        docker(engine28, "rmi", "-f", tag, check=False)


def test_command_the_target_lacks_runs_from_the_toolbox(engine: EngineUnderTest,
                                                        containers: Callable[..., str]) -> None:
    """A container with a shell but no `cat`: `exec` would fail with 127; the automatic
    choice takes a toolbox strategy and says why; `-s exec` is refused, naming both."""
    tag = import_rootfs(engine, {
        "bin": None, "etc": None, "bin/busybox": BUSYBOX, "bin/sh": HardLink("bin/busybox"),
        "bin/sleep": HardLink("bin/busybox"), "etc/os-release": b"ID=fixture\n",
    }, "ENV PATH=/usr/bin:/bin", 'CMD ["sleep", "600"]', prefix="dhitui-test/no-cat")
    try:
        cid = containers(engine, tag)
        sidecar_strategy = "image-mount" if engine.image_mounts else "toolbox"
        proc = debug(engine, cid, "--", "cat", "/proc/1/root/etc/os-release")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "ID=fixture\n"
        assert (f"dhitui: chose {sidecar_strategy}: the container has a shell but no `cat` on "
                "its PATH; the toolbox busybox has it (/bin/cat)\n") in proc.stderr
        proc = debug(engine, cid, "-s", "exec", "--", "cat", "/etc/os-release")
        no_traceback(proc)
        assert proc.returncode == 6
        assert ("dhitui: error: strategy exec cannot be used: `cat` is not on the container's "
                f"PATH (/usr/bin:/bin); strategy {sidecar_strategy} has it (the toolbox busybox: "
                f"/bin/cat): use -s {sidecar_strategy}") in proc.stderr
        # What it has, exec still runs.
        proc = debug(engine, cid, "--", "sleep", "0")
        assert proc.returncode == 0 and "exec session into" in proc.stderr, proc.stderr
    finally:
        docker(engine, "rmi", "-f", tag, check=False)


# --------------------------------------------------------------------------- bad input


def test_unknown_container(engine: EngineUnderTest) -> None:
    proc = debug(engine, "no-such-container-here", "--", "true")
    no_traceback(proc)
    assert proc.returncode == 5
    assert proc.stderr.startswith("dhitui: error: no such container: no-such-container-here\n")
    assert "dhitui ls --all" in proc.stderr


def test_stopped_container(engine: EngineUnderTest, containers: Callable[..., str]) -> None:
    """A container that never started opens as a snapshot (tests/test_snapshot_engine.py
    covers them in depth); asking for a strategy that must join a process says why not."""
    cid = containers(engine, HARDENED_IMAGE, start=False)
    proc = debug(engine, cid, "--", "ls", "/app")
    no_traceback(proc)
    assert (proc.returncode, proc.stdout) == (0, "app\n"), proc.stderr
    assert "dhitui: snapshot session into" in proc.stderr
    joined = debug(engine, cid, "-s", "toolbox", "--", "true")
    assert joined.returncode == 6
    assert "is not running (created): no process to join; the snapshot strategy opens its " \
           "files" in joined.stderr


def test_missing_toolbox_image(engine: EngineUnderTest, containers: Callable[..., str]) -> None:
    cid = hardened(engine, containers)
    proc = debug(engine, cid, "--toolbox", "nope/absent:1", "--", "true")
    no_traceback(proc)
    assert proc.returncode == 6
    assert "the toolbox image nope/absent:1 is not present locally (dhitui never pulls" \
        in proc.stderr


@pytest.mark.parametrize(("strategy", "says"), [
    ("exec", "the container has no shell"),
    ("docker-debug", "the `docker debug` CLI plugin is not installed"),
])
def test_strategy_not_available(engine: EngineUnderTest, containers: Callable[..., str],
                                strategy: str, says: str) -> None:
    cid = hardened(engine, containers)
    proc = debug(engine, cid, "-s", strategy, "--", "true")
    no_traceback(proc)
    assert proc.returncode == 6
    assert f"dhitui: error: strategy {strategy} cannot be used: {says}" in proc.stderr


def test_image_mount_on_engine_20(engine20: EngineUnderTest,
                                  containers: Callable[..., str]) -> None:
    cid = hardened(engine20, containers)
    proc = debug(engine20, cid, "-s", "image-mount", "--", "true")
    assert proc.returncode == 6
    assert "cannot mount images: that needs Docker Engine 28+ (API 1.48)" in proc.stderr


@pytest.mark.parametrize(("args", "says"), [
    ((), "which container?"),
    (("c", "--image", "i"), "not both"),
    (("c", "-s", "teleport"), "invalid choice: 'teleport'"),
    (("c", "--"), "nothing after `--`"),
    (("--cleanup", "c"), "--cleanup takes no container"),
    (("c", "--json"), "--json goes with --print or --cleanup"),
])
def test_usage_errors(engine28: EngineUnderTest, args: tuple[str, ...], says: str) -> None:
    proc = debug(engine28, *args)
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr


def test_command_after_dashes_only_for_debug() -> None:
    proc = run_dhitui("info", "--", "ls")
    assert proc.returncode == 2 and "only for `dhitui debug`" in proc.stderr


# --------------------------------------------------------------------------- engines, API


def test_context_endpoint_is_passed_as_context(engine28: EngineUnderTest,
                                               containers: Callable[..., str],
                                               tmp_path: Path) -> None:
    config = tmp_path / "docker-config"
    digest = hashlib.sha256(b"e28ctx").hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({
        "Name": "e28ctx", "Metadata": {},
        "Endpoints": {"docker": {"Host": engine28.host, "SkipTLSVerify": False}}}))
    (config / "config.json").write_text(json.dumps({"currentContext": "e28ctx"}))
    cid = hardened(engine28, containers)
    env = cli_env({"DOCKER_CONFIG": str(config)})
    proc = run_dhitui("debug", cid, "--", "ls", "/proc/1/root/app", env=env, input="")
    assert proc.returncode == 0, proc.stderr
    assert running_line(proc.stderr)[:3] == [docker_cli_path(), "--context", "e28ctx"]
    assert proc.stdout.split() == ["app"]


def test_run_session_from_a_worker_thread(engine28: EngineUnderTest,
                                          containers: Callable[..., str]) -> None:
    """The TUI may call run_session off the main thread: no signal handlers then, and the
    session and its cleanup still work."""
    from dhitui.engine.capabilities import probe_capabilities
    from dhitui.engine.client import connect
    from dhitui.engine.endpoint import resolve_endpoint
    from dhitui.sessions import SessionResult, plan_session, run_session

    cid = hardened(engine28, containers)
    eng = connect(resolve_endpoint(host=engine28.host))
    try:
        env = cli_env()
        caps = probe_capabilities(eng, "busybox", env)
        plan = plan_session(eng, caps, cid, command=["true"], tty=False)
        assert plan.chosen is not None and plan.chosen.name == "image-mount"
        results: list[SessionResult] = []
        worker = threading.Thread(target=lambda: results.append(run_session(plan, eng,
                                                                            env=env)))
        worker.start()
        worker.join(DEADLINE)
        assert results and results[0].exit_status == 0 and results[0].target_running is True
        assert results[0].sidecar == plan.chosen.sidecar and not results[0].leftover_removed
    finally:
        eng.close()


@pytest.mark.engine
def test_probe_helper_in_flight_is_removed_at_shutdown(engine28: EngineUnderTest) -> None:
    """A probe running in a worker thread when the app quits never reaches its own cleanup
    (its thread ends with the process); EngineSession.close() removes it through its image-facts
    cache's table of live helpers, and the probe's own exit does not try a second time."""
    import threading

    from dhitui.live import EngineSession
    from dhitui.sessions.targets import helper_labels

    backend = EngineSession(host=engine28.host, env=cli_env())
    try:
        facts = backend.classifier.facts  # what the TUI's plans look at images with
        image_id = backend.engine.inspect_image(HARDENED_IMAGE)["Id"]
        created = threading.Event()
        release = threading.Event()
        seen: list[str] = []
        errors: list[BaseException] = []

        def probe() -> None:
            try:
                with facts.helper_container(image_id, helper_labels(None)) as helper:
                    seen.append(helper)
                    created.set()
                    assert release.wait(30)
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

        worker = threading.Thread(target=probe)
        worker.start()
        assert created.wait(30)
        backend.close()
        ids = docker(engine28, "ps", "-aq", "--no-trunc", "--filter",
                     f"id={seen[0]}").stdout.split()
        assert ids == []
        release.set()
        worker.join(30)
        assert not worker.is_alive() and errors == []
        assert facts.remove_helpers() == 0
    finally:
        release.set()
        backend.close()
