"""End to end through a real pty: the TUI as a person meets it."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable

import pytest

from conftest import HARDENED_IMAGE, REPO, EngineUnderTest, cli_env, docker
from ptytools import Terminal

pytestmark = pytest.mark.engine


def test_tui_starts_lists_and_quits(engine28: EngineUnderTest,
                                    containers: Callable[..., str]) -> None:
    name = f"dhitui-test-pty-{uuid.uuid4().hex[:6]}"
    containers(engine28, HARDENED_IMAGE, name=name)
    term = Terminal([sys.executable, "-m", "dhitui", "-H", engine28.host],
                    env=cli_env({"TERM": "xterm-256color"}), cwd=str(REPO))
    try:
        term.wait_for(name)
        term.wait_for("● hardened")
        term.send("q")
        assert term.wait_exit() == 0
    finally:
        term.close()


def test_keys_typed_in_one_write_after_slash_all_reach_the_filter(
    engine28: EngineUnderTest, containers: Callable[..., str]
) -> None:
    """`/` and a name in one write (a paste, an expect script, a fast typist): every key
    reaches the filter, in order, and the list shows only the matching rows."""
    tag = uuid.uuid4().hex[:6]
    wanted = f"dhitui-test-ahead-{tag}-wanted"
    other = f"dhitui-test-ahead-{tag}-other"
    containers(engine28, HARDENED_IMAGE, name=wanted)
    containers(engine28, HARDENED_IMAGE, name=other)
    term = Terminal([sys.executable, "-m", "dhitui", "-H", engine28.host],
                    env=cli_env({"TERM": "xterm-256color"}), cwd=str(REPO))
    try:
        term.wait_for(wanted)
        term.wait_for(other)
        term.send(f"/{tag}-wanted")
        term.wait_for_absent(other)
        screen = term.text()
        assert f"{tag}-wanted" in screen.split(wanted)[0]  # the box shows all of it
        assert wanted in screen
        term.send("\r")  # back to the list; its keys work again
        term.wait_for("Strategy…")
        term.send("q")
        assert term.wait_exit() == 0
    finally:
        term.close()


def test_one_key_debug_session_through_a_real_terminal(
    engine: EngineUnderTest, containers: Callable[..., str]
) -> None:
    """Launch dhitui, select the hardened fixture, press enter, run a command in the session,
    exit, see the list again — and no sidecar is left behind."""
    tag = uuid.uuid4().hex[:6]
    name = f"dhitui-test-e2e-{tag}"
    # Another hardened container of the same image, listed first: a session opened on the
    # wrong one would look the same from inside but for its hostname.
    containers(engine, HARDENED_IMAGE, name=f"dhitui-test-e2d-decoy-{tag}")
    cid = containers(engine, HARDENED_IMAGE, name=name)
    docker(engine, "cp", "-", f"{cid}:/app", input=_tar("copied-in",
                                                        f"copied after the start {tag}\n"))
    term = Terminal([sys.executable, "-m", "dhitui", "-H", engine.host],
                    env=cli_env({"TERM": "xterm-256color"}), cwd=str(REPO))
    try:
        term.wait_for(name)
        term.send("/")
        term.wait_for("filter")  # the filter box has the focus before we type into it
        term.send(name)  # the decoy's name does not contain it
        term.wait_for("● hardened")
        # The panel shows the plan. Podman 4.3's API has been seen to take over 30 s for the
        # plan's requests (and the diagnostics') in a full run on a loaded machine, then
        # answer: the deadline allows for that, it does not wait for a fixed time.
        term.wait_for("enter → ", timeout=90)
        # While the filter box has the focus the footer offers only the filter (it is
        # redrawn a frame after the focus moves)...
        term.wait_for_absent("Strategy…", timeout=10.0)
        term.send("\r")  # leave the filter box
        term.wait_for("Strategy…")  # ...and the list's keys are back once the table has it
        term.send("\r")  # debug
        term.wait_for("[dhitui inside] /")  # the session's prompt: inside the target
        term.send("ls /app; ps\r")
        term.wait_for("/app/app --serve")  # the target is PID 1 in the session
        # ...its live files are at /, a file copied in after its start too...
        term.send("cat /app/copied-in\r")
        term.wait_for(f"copied after the start {tag}")
        # ...and it is the selected container: its hostname is its id's first 12 characters
        # (shown transposed to letters, a form nothing else on screen has).
        term.send("tr 0-9a-f g-v < /etc/hostname\r")
        term.wait_for(cid[:12].translate(str.maketrans("0123456789abcdef",
                                                       "ghijklmnopqrstuv")))
        term.send("exit\r")
        term.wait_for("session ended (exit status 0)")
        term.wait_for(name)  # the list is back
        assert docker(engine, "ps", "-aq", "--filter", "label=dhitui.sidecar",
                      "--filter", f"label=dhitui.target={cid}").stdout.strip() == ""
        term.send("q")
        assert term.wait_exit() == 0
    finally:
        term.close()


def _tar(name: str, text: str) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        data = text.encode()
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
