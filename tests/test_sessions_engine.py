"""Debug sessions against the real engines: every strategy end to end, the printed command
being the one that runs, real ptys, cleanup (normal exit, Ctrl-C, SIGTERM, the target
dying, `kill -9` + `--cleanup`), and bad input."""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import psutil
import pytest
from conftest import (
    HARDENED_IMAGE,
    STANDARD_IMAGE,
    TOOLBOX_IMAGE,
    EngineUnderTest,
    _ping,
    cli_env,
    docker,
    docker_cli_path,
    run_dhitui,
    run_json,
)

pytestmark = pytest.mark.engine

SIDECAR_LABEL = "dhitui.sidecar=1"
DEADLINE = 60.0


def sidecars(engine: EngineUnderTest) -> list[str]:
    out = docker(engine, "ps", "-a", "--filter", f"label={SIDECAR_LABEL}", "--format",
                 "{{.Names}}").stdout
    return out.split()


def wait_for(what: str, check: Callable[[], Any], deadline: float = DEADLINE) -> Any:
    """Poll until `check()` is truthy; fail with `what` after the deadline."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline:.0f}s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def no_sidecar_left_behind() -> Iterator[None]:
    """After every test: no container with dhitui's sidecar label on either engine."""
    yield
    leftovers = {}
    for var in ("DHITUI_TEST_ENGINE_20", "DHITUI_TEST_ENGINE_28"):
        host = os.environ.get(var)
        if not host or not _ping(host):
            continue
        eng = EngineUnderTest(var, host)
        names = sidecars(eng)
        if names:
            leftovers[var] = names
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
    line = next(ln for ln in stderr.splitlines() if ln.startswith("dhitui: running: "))
    return shlex.split(line[len("dhitui: running: "):])


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
    shim_dir = tmp_path / "bin"
    shim_dir.mkdir()
    shim = shim_dir / "docker"
    log = tmp_path / "calls.jsonl"
    shim.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps({'argv': sys.argv, 'env': sorted(k for k in os.environ\n"
        "                        if k.startswith('DOCKER'))}) + '\\n')\n"
        f"os.execv({docker_cli_path()!r}, [{docker_cli_path()!r}, *sys.argv[1:]])\n"
    )
    shim.chmod(0o755)
    env = cli_env({"PATH": f"{shim_dir}:{os.environ['PATH']}", "DOCKER_CONFIG": str(tmp_path)})
    env["DOCKER_HOST"] = engine.host  # resolved by dhitui, then passed as -H, not inherited
    cid = hardened(engine, containers)
    shell = containers(engine, STANDARD_IMAGE)
    cases = [(cid, "toolbox"), (shell, "exec")]
    if engine.image_mounts:
        cases.append((cid, "image-mount"))
    for target, strategy in cases:
        log.unlink(missing_ok=True)
        printed = run_dhitui("debug", target, "-s", strategy, "--print", "--json", "--", "ls",
                             "/", env=env, input="")
        planned = json.loads(printed.stdout)["argv"]
        proc = run_dhitui("debug", target, "-s", strategy, "--", "ls", "/", env=env, input="")
        assert proc.returncode == 0, proc.stderr
        ran = [c for c in map(json.loads, log.read_text().splitlines())
               if c["argv"][1:2] != ["--version"]]
        assert len(ran) == 1, ran
        assert running_line(proc.stderr) == ran[0]["argv"]  # exactly what ran
        assert ran[0]["argv"][:3] == [str(shim), "-H", engine.host]
        assert ran[0]["argv"][-2:] == ["ls", "/"]
        assert "DOCKER_HOST" not in ran[0]["env"] and "DOCKER_CONFIG" in ran[0]["env"]
        # --print shows the same command, but for its own session id and sidecar name.
        assert same_but_session(planned, ran[0]["argv"]), (planned, ran[0]["argv"])


def same_but_session(a: list[str], b: list[str]) -> bool:
    def normal(argv: list[str]) -> list[str]:
        return ["<session>" if x.startswith(("dhitui.session=", "dhitui-debug-")) else x
                for x in argv]
    return len(a) == len(b) and normal(a) == normal(b)
