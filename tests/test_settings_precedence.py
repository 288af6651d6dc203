"""Which toolbox, transport and view a command uses: the flag, else config.toml, else the
default; `debug` and `doctor` decide alike. The default toolbox is written in one place, and
the strategy, view and transport names reach the user as plain words."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from dhitui.config import DEFAULT_TOOLBOX

from conftest import HARDENED_IMAGE, REPO, EngineUnderTest, cli_env, run_dhitui


def _config(tmp_path: Path, text: str | None) -> dict[str, str]:
    if text is not None:
        (tmp_path / "dhitui").mkdir(exist_ok=True)
        (tmp_path / "dhitui/config.toml").write_text(text)
    return cli_env({"XDG_CONFIG_HOME": str(tmp_path)})


def _json(*args: str, env: dict[str, str]) -> Any:
    proc = run_dhitui(*args, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def _doctor_toolbox(engine: EngineUnderTest, cid: str, *flags: str, env: dict[str, str]) -> str:
    doc = _json("doctor", "--json", "-H", engine.host, *flags, cid, env=env)
    [check] = [c for c in doc["checks"] if c["id"] == "engine.toolbox"]
    image: str = check["data"]["image"]
    return image


@pytest.mark.engine
@pytest.mark.parametrize("config,flag,expected", [
    (None, None, DEFAULT_TOOLBOX),
    ('toolbox = "from-config:1"\n', None, "from-config:1"),
    ('toolbox = "from-config:1"\n', "from-flag:1", "from-flag:1"),
    (None, "from-flag:1", "from-flag:1"),
])
def test_debug_and_doctor_choose_the_same_toolbox(
        engine28: EngineUnderTest, containers: Any, tmp_path: Path,
        config: str | None, flag: str | None, expected: str) -> None:
    cid = containers(engine28, HARDENED_IMAGE)
    env = _config(tmp_path, config)
    flags = ("--toolbox", flag) if flag else ()
    plan = _json("debug", "-H", engine28.host, *flags, "--print", "--json", cid, env=env)
    assert plan["toolbox"]["ref"] == expected
    assert _doctor_toolbox(engine28, cid, *flags, env=env) == expected


@pytest.mark.engine
def test_doctor_with_a_broken_config_takes_the_flag_else_the_default(
        engine28: EngineUnderTest, containers: Any, tmp_path: Path) -> None:
    cid = containers(engine28, HARDENED_IMAGE)
    env = _config(tmp_path, "toolbox = 3\n")
    assert _doctor_toolbox(engine28, cid, env=env) == DEFAULT_TOOLBOX
    assert _doctor_toolbox(engine28, cid, "--toolbox", "from-flag:1", env=env) == "from-flag:1"
    doc = _json("doctor", "--json", "-H", engine28.host, cid, env=env)
    [settings] = [c for c in doc["checks"] if c["id"] == "host.settings"]
    assert f"toolbox {DEFAULT_TOOLBOX}, strategy auto" in settings["detail"]


def test_the_default_toolbox_is_written_once() -> None:
    """As a string in the code: config.DEFAULT_TOOLBOX. The one other `"busybox"` names the
    program, in an entrypoint (`busybox sh`), not the default toolbox."""
    found = []
    for path in sorted((REPO / "dhitui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value == DEFAULT_TOOLBOX:
                found.append(path.relative_to(REPO).as_posix())
    assert found == ["dhitui/config.py", "dhitui/diagnostics/containers.py"]


@pytest.mark.parametrize("option,bad", [
    ("-s", "nope"), ("--transport", "nope"), ("--view", "nope"),
])
def test_choices_are_plain_words(option: str, bad: str) -> None:
    """Names are StrEnums inside; argparse quotes the choices with repr, which must show the
    words, not the enum members."""
    proc = run_dhitui("debug", option, bad, "x")
    assert proc.returncode == 2
    choices = proc.stderr.rsplit("(choose from ", 1)[1]
    assert "'auto'" in choices and "<" not in choices, proc.stderr


def test_a_config_file_strategy_error_lists_plain_words(tmp_path: Path) -> None:
    env = _config(tmp_path, 'strategy = "nope"\n')
    doc = _json("doctor", "--json", "-H", f"unix://{tmp_path}/none.sock", env=env)
    [settings] = [c for c in doc["checks"] if c["id"] == "host.settings"]
    assert settings["data"]["error"].endswith(
        "strategy must be one of auto, docker-debug, image-mount, toolbox, exec, snapshot")
