"""Sessions over the Engine API with no docker CLI anywhere on PATH: real engines, real ptys.

Each test runs dhitui as a subprocess whose PATH holds no `docker` (an empty directory), so
the plan must choose the API transport by itself, and checks what a user would see: the
prompt, resize, Ctrl-C, exit status, stdout/stderr, bytes, and no sidecar left behind.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import (
    HARDENED_IMAGE,
    REPO,
    STANDARD_IMAGE,
    EngineUnderTest,
    cli_env,
    docker,
)
from polling import poll
from ptytools import Terminal

pytestmark = pytest.mark.engine

# The hardened fixture gets a sidecar (image-mount on 28, toolbox on 20.10); the standard one
# gets `exec` of its own shell: both API paths (attach to a created container, exec start).
TARGETS = {"sidecar": HARDENED_IMAGE, "exec": STANDARD_IMAGE}
PROMPT = {"sidecar": b"[dhitui inside] /", "exec": b"# "}


@pytest.fixture
def no_docker_env(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = cli_env({"PATH": str(empty), "TERM": "xterm", "HOME": str(tmp_path)})
    env.pop("DOCKER_CONFIG", None)
    return env


def dhitui(engine: EngineUnderTest, env: dict[str, str], *args: str,
           input: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "dhitui", "-H", engine.host, *args],
                          input=input, capture_output=True, env=env, timeout=timeout,
                          cwd=str(REPO))


def sidecars_of(engine: EngineUnderTest, cid: str) -> str:
    return docker(engine, "ps", "-aq", "--filter", "label=dhitui.sidecar",
                  "--filter", f"label=dhitui.target={cid}").stdout.strip()


def test_no_docker_on_that_path(no_docker_env: dict[str, str]) -> None:
    """The premise of this file: the environment really has no docker CLI."""
    import shutil

    assert shutil.which("docker", path=no_docker_env["PATH"]) is None


@pytest.mark.parametrize("kind", ["sidecar", "exec"])
def test_interactive_session_on_a_pty(engine: EngineUnderTest, kind: str,
                                      containers: Callable[..., str],
                                      no_docker_env: dict[str, str]) -> None:
    cid = containers(engine, TARGETS[kind])
    term = Terminal([sys.executable, "-m", "dhitui", "-H", engine.host, "debug", cid],
                    env=no_docker_env, cols=100, rows=30, cwd=str(REPO))
    try:
        term.wait_for_output(b"over the Engine API")
        term.wait_for_output(PROMPT[kind])
        term.send("echo $((6*7))\r")
        term.wait_for_output(b"\r\n42\r\n")
        term.child.setwinsize(33, 111)  # SIGWINCH to dhitui, which resizes the remote TTY
        term.send("stty size\r")
        term.wait_for_output(b"33 111")
        # Ctrl-C is a byte for the remote TTY: it ends the foreground sleep (by SIGINT: the
        # shell's $? is 128+2), not the session.
        term.send("echo sleeping-$((2+3)); sleep 100\r")
        term.wait_for_output(b"sleeping-5")
        term.send("\x03")
        term.send("echo interrupted-$?\r")
        term.wait_for_output(b"interrupted-130", timeout=30)
        term.send("exit 5\r")
        assert term.wait_exit() == 5
        assert b"session ended (exit status 5)" in term.transcript
    finally:
        term.close()
    assert sidecars_of(engine, cid) == ""


@pytest.mark.parametrize("kind", ["sidecar", "exec"])
def test_command_keeps_stdout_and_stderr_apart_and_passes_exit_codes(
        engine: EngineUnderTest, kind: str, containers: Callable[..., str],
        no_docker_env: dict[str, str]) -> None:
    cid = containers(engine, TARGETS[kind])
    proc = dhitui(engine, no_docker_env, "debug", "-q", cid, "--",
                  "sh", "-c", "echo to-out; echo to-err >&2; exit 1")
    assert (proc.returncode, proc.stdout) == (1, b"to-out\n")
    # stderr: the command's, after the engine's warnings about the sidecar (as with the CLI).
    assert [line for line in proc.stderr.splitlines()
            if not line.startswith(b"WARNING: ")] == [b"to-err"]
    assert dhitui(engine, no_docker_env, "debug", "-q", cid, "--", "true").returncode == 0
    # A command nobody has: even for the target with a shell the plan runs it in a toolbox
    # sidecar (the target lacks it), whose shell says so and exits 127.
    missing = dhitui(engine, no_docker_env, "debug", "-q", cid, "--", "no-such-command-x")
    assert missing.returncode == 127
    assert b"no-such-command-x" in missing.stderr and missing.stdout == b""
    assert sidecars_of(engine, cid) == ""


@pytest.mark.parametrize("kind", ["sidecar", "exec"])
def test_piped_stdin_reaches_the_command_and_ends(engine: EngineUnderTest, kind: str,
                                                  containers: Callable[..., str],
                                                  no_docker_env: dict[str, str]) -> None:
    cid = containers(engine, TARGETS[kind])
    proc = dhitui(engine, no_docker_env, "debug", "-q", cid, "--", "cat", input=b"a\nb\n")
    assert (proc.returncode, proc.stdout) == (0, b"a\nb\n"), proc.stderr


def test_closed_stdin_is_an_empty_one(engine28: EngineUnderTest,
                                     containers: Callable[..., str],
                                     no_docker_env: dict[str, str]) -> None:
    """`dhitui debug C -- CMD <&-`: the command sees an empty stdin (not dhitui's engine
    socket, which would otherwise take descriptor 0)."""
    cid = containers(engine28, HARDENED_IMAGE)
    proc = subprocess.run(
        [sys.executable, "-m", "dhitui", "-H", engine28.host, "debug", "-q", cid, "--",
         "sh", "-c", "cat; echo end"],
        stdin=subprocess.DEVNULL, capture_output=True, env=no_docker_env, timeout=120,
        cwd=str(REPO), preexec_fn=lambda: os.close(0))
    assert (proc.returncode, proc.stdout) == (0, b"end\n"), proc.stderr


def test_every_byte_value_through_cat(engine: EngineUnderTest, containers: Callable[..., str],
                                      no_docker_env: dict[str, str]) -> None:
    cid = containers(engine, HARDENED_IMAGE)
    data = bytes(range(256)) * 64
    proc = dhitui(engine, no_docker_env, "debug", "-q", cid, "--", "cat", input=data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == data


def test_ten_megabytes_each_way_without_loss(engine28: EngineUnderTest,
                                             containers: Callable[..., str],
                                             no_docker_env: dict[str, str]) -> None:
    cid = containers(engine28, HARDENED_IMAGE)
    size = 10 * 1024 * 1024
    # Out only: generated in the container.
    out = dhitui(engine28, no_docker_env, "debug", "-q", cid, "--",
                 "sh", "-c", f"yes 0123456789abcdef | head -c {size}")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (b"0123456789abcdef\n" * (size // 17 + 1))[:size]
    # Both ways at once (stdin is read while output flows back): random bytes through cat.
    data = os.urandom(size)
    both = dhitui(engine28, no_docker_env, "debug", "-q", cid, "--", "cat", input=data)
    assert both.returncode == 0, both.stderr
    assert len(both.stdout) == size
    assert hashlib.sha256(both.stdout).digest() == hashlib.sha256(data).digest()


def test_target_killed_mid_session(engine: EngineUnderTest, containers: Callable[..., str],
                                   no_docker_env: dict[str, str]) -> None:
    cid = containers(engine, HARDENED_IMAGE)
    term = Terminal([sys.executable, "-m", "dhitui", "-H", engine.host, "debug", cid],
                    env=no_docker_env, cols=100, rows=30, cwd=str(REPO))
    try:
        term.wait_for_output(PROMPT["sidecar"])
        assert sidecars_of(engine, cid) != ""  # the session's sidecar is up
        docker(engine, "kill", cid)
        status = term.wait_exit(timeout=60)
        assert status != 0
        assert b"the target is no longer running" in term.transcript or \
            b"stopped during the session" in term.transcript
    finally:
        term.close()
    assert sidecars_of(engine, cid) == ""


def test_kill_9_of_dhitui_still_removes_the_sidecar(engine: EngineUnderTest,
                                                    containers: Callable[..., str],
                                                    no_docker_env: dict[str, str]) -> None:
    """No CLI is left holding the session, and the engine keeps a TTY sidecar running when
    its client goes: the keeper process dhitui started with the session removes it. The pty
    stays open meanwhile, so no hang-up helps."""
    import signal

    cid = containers(engine, HARDENED_IMAGE)
    term = Terminal([sys.executable, "-m", "dhitui", "-H", engine.host, "debug", cid],
                    env=no_docker_env, cols=100, rows=30, cwd=str(REPO))
    try:
        term.wait_for_output(PROMPT["sidecar"])
        assert sidecars_of(engine, cid) != ""
        os.kill(term.child.pid, signal.SIGKILL)
        poll("the keeper to remove the sidecar", lambda: sidecars_of(engine, cid) == "", 30,
             show=lambda: sidecars_of(engine, cid))
    finally:
        term.close()


def _cooked(term: Terminal) -> bool:
    """The pty is back in cooked mode (canonical input, echo): what dhitui found."""
    import termios

    lflag = termios.tcgetattr(term.child.child_fd)[3]
    return bool(lflag & termios.ICANON) and bool(lflag & termios.ECHO)


@pytest.mark.parametrize("how", ["exit", "SIGTERM", "SIGHUP"])
def test_the_terminal_is_restored_and_the_sidecar_removed_however_it_ends(
        engine28: EngineUnderTest, how: str, containers: Callable[..., str],
        no_docker_env: dict[str, str]) -> None:
    import signal

    cid = containers(engine28, HARDENED_IMAGE)
    term = Terminal([sys.executable, "-m", "dhitui", "-H", engine28.host, "debug", cid],
                    env=no_docker_env, cols=100, rows=30, cwd=str(REPO))
    try:
        term.wait_for_output(PROMPT["sidecar"])
        assert not _cooked(term)  # raw while the session runs
        if how == "exit":
            term.send("exit\r")
            expected = 0
        else:
            sig = getattr(signal, how)
            os.kill(term.child.pid, sig)
            expected = 128 + sig
        try:
            status = term.wait_exit(timeout=60)
        except AssertionError:
            raise AssertionError("dhitui did not exit; it wrote:\n"
                                 + term.transcript[-2000:].decode(errors="replace")) from None
        assert status == expected
        assert _cooked(term)
    finally:
        term.close()
    assert sidecars_of(engine28, cid) == ""


def test_print_shows_the_equivalent_command_and_the_api_transport(
        engine28: EngineUnderTest, containers: Callable[..., str],
        no_docker_env: dict[str, str]) -> None:
    cid = containers(engine28, HARDENED_IMAGE)
    proc = dhitui(engine28, no_docker_env, "debug", "--print", cid)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    assert "runs over the Engine API" in text
    assert text.splitlines()[-1].startswith("docker -H ")
    # Asking for the CLI where there is none: a clear refusal, no traceback.
    cli = dhitui(engine28, no_docker_env, "--transport", "cli", "debug", cid, "--", "true")
    assert cli.returncode == 6
    assert b"no docker CLI on PATH" in cli.stderr and b"Traceback" not in cli.stderr


def test_api_and_cli_transports_run_the_same_session(engine28: EngineUnderTest,
                                                     containers: Callable[..., str]) -> None:
    """Fidelity: the same command over both transports gives the same bytes and status."""
    cid = containers(engine28, HARDENED_IMAGE)
    # PATH holds the holder's pid, which differs from one session to the next.
    script = ("id -u; echo $PATH | sed 's,/proc/[0-9]*/,/proc/N/,g'; ls /proc/1/root/app; "
              "echo e >&2; exit 3")
    results = {}
    for transport in ("api", "cli"):
        proc = dhitui(engine28, cli_env(), "--transport", transport, "debug", "-q", cid, "--",
                      "sh", "-c", script)
        results[transport] = (proc.returncode, proc.stdout, proc.stderr)
    assert results["api"] == results["cli"]
    assert results["api"][0] == 3


def test_dhitui_inside_a_container_with_only_the_socket(
        engine28: EngineUnderTest, containers: Callable[..., str], tmp_path: Path) -> None:
    """dhitui run from a container that has the engine's socket mounted and nothing else:
    no docker CLI, no network. Its image is built here from this machine's Python and this
    checkout (no registry)."""
    from bundle import build_dhitui_image

    tag = f"dhitui-test/in-container-{uuid.uuid4().hex[:8]}:1"
    build_dhitui_image(engine28, tag, tmp_path)
    try:
        cid = containers(engine28, HARDENED_IMAGE)
        proc = subprocess.run(
            [*docker_argv(engine28), "run", "--rm", "-i", "--network", "none",
             "-v", f"{engine28.socket}:/var/run/docker.sock", tag,
             "debug", "-q", cid, "--", "sh", "-c", "cat; echo to-err >&2; exit 7"],
            input=b"through the socket\n", capture_output=True, timeout=180)
        assert proc.returncode == 7, proc.stderr
        assert proc.stdout == b"through the socket\n"
        assert proc.stderr.endswith(b"to-err\n")
        assert sidecars_of(engine28, cid) == ""
    finally:
        docker(engine28, "rmi", "-f", tag, check=False)


def docker_argv(engine: EngineUnderTest) -> list[str]:
    from conftest import docker_cli_path

    return [docker_cli_path(), "-H", engine.host]


def test_demux_keeps_streams_apart_and_passes_unframed_errors_through() -> None:
    """The engine's framing, split anywhere; and an error the engine writes unframed after
    the upgrade (moby writes a failed exec start's `OCI runtime exec failed: ...` straight
    to the hijacked connection) reaches stderr as text instead of being taken for frames."""
    import struct

    from dhitui.engine.pump import Demux as _Demux

    out: list[tuple[int, bytes]] = []
    demux = _Demux(lambda stream, data: out.append((stream, data)))
    frames = (struct.pack(">BxxxL", 1, 3) + b"abc" + struct.pack(">BxxxL", 2, 2) + b"\x00\xff")
    for i in range(len(frames)):  # one byte at a time
        demux.feed(frames[i:i + 1])
    demux.flush()
    assert out == [(1, b"abc"), (2, b"\x00\xff")]
    out.clear()
    raw = _Demux(lambda stream, data: out.append((stream, data)))
    raw.feed(b"OCI runtime exec failed: exec failed: ")
    raw.feed(b"executable file not found in $PATH\r\n")
    raw.flush()
    assert b"".join(d for _, d in out) == (b"OCI runtime exec failed: exec failed: executable "
                                           b"file not found in $PATH\r\n")
    assert {stream for stream, _ in out} == {2}


def test_a_sidecar_that_borrows_volumes_is_removed_without_them(
        engine: EngineUnderTest, containers: Callable[..., str], tmp_path: Path) -> None:
    """The form snapshot sessions need (`--volumes-from`, no `--rm`), over the API:
    the sidecar sees the target's volume, its status comes back, it is removed, and the
    volume stays with its owner."""
    from dhitui.engine.attach import Streams, run_sidecar
    from dhitui.engine.client import connect
    from dhitui.engine.endpoint import Endpoint
    from dhitui.engine.specs import SidecarSpec

    cid = containers(engine, HARDENED_IMAGE, "-v", "/data")
    volume = docker(engine, "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", cid).stdout
    name = f"dhitui-test-borrow-{uuid.uuid4().hex[:8]}"
    spec = SidecarSpec(image="busybox", name=name, labels={"dhitui.test": "1"}, tty=False,
                       entrypoint="/bin/sh", args=("-c", "ls -d /data && exit 4"),
                       volumes_from=cid, auto_remove=False)
    out = tmp_path / "out"
    with open(out, "wb") as sink, open(os.devnull, "rb") as empty:
        eng = connect(Endpoint(engine.host, "flag", "test"))
        try:
            status = run_sidecar(eng, spec, streams=Streams(empty.fileno(), sink.fileno(),
                                                            sink.fileno()))
        finally:
            eng.close()
    assert status == 4
    assert out.read_bytes().splitlines()[-1] == b"/data"
    assert docker(engine, "ps", "-aq", "--filter", f"name={name}").stdout.strip() == ""
    assert docker(engine, "volume", "inspect", volume.strip(), check=False).returncode == 0


@pytest.mark.parametrize("view", ["inside", "beside"])
def test_cleanup_leaves_a_live_api_session_alone(engine: EngineUnderTest, view: str,
                                                 containers: Callable[..., str],
                                                 no_docker_env: dict[str, str]) -> None:
    """Over the API no process's command line names the session: the sidecar (or the
    holder) is live while the dhitui process that runs it is, and `--cleanup` keeps it."""
    import json
    import signal

    cid = containers(engine, HARDENED_IMAGE)
    session = subprocess.Popen(
        [sys.executable, "-m", "dhitui", "-H", engine.host, "--view", view, "debug", "-q",
         cid, "--", "sleep", "300"], env=no_docker_env, cwd=str(REPO),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        name = poll("the session's container", lambda: sidecars_of(engine, cid))
        cleanup = dhitui(engine, no_docker_env, "debug", "--cleanup", "--json")
        listed = json.loads(cleanup.stdout)
        assert [(s["status"], s["removed"]) for s in listed] == [("live", False)], listed
        assert str(session.pid) in listed[0]["reason"]
        assert sidecars_of(engine, cid) == name  # still there, the session still runs
        assert session.poll() is None
    finally:
        session.send_signal(signal.SIGTERM)
        session.wait(timeout=60)
    assert sidecars_of(engine, cid) == ""
