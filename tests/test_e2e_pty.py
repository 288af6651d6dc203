"""End to end through a real pty: the TUI as a person meets it."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable

import pytest

from conftest import HARDENED_IMAGE, REPO, EngineUnderTest, cli_env
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
