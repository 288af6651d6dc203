"""What README promises and no other test checked: the TUI's `i`, `l`, `r`, `?` and `ctrl+p`
keys, `--version`, exit status 125 when `docker run` cannot start a sidecar, and config.toml's
`toolbox` and `strategy` being honoured."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Log

from dhitui import __version__
from dhitui.live import EngineSession
from dhitui.ui.app import DhituiApp
from dhitui.ui.screens.help import HelpScreen
from dhitui.ui.screens.logs import LogsScreen
from dhitui.ui.screens.text_view import TextViewScreen

from conftest import (
    ABSOLUTE_LINKS_TOOLBOX,
    HARDENED_IMAGE,
    STANDARD_IMAGE,
    EngineUnderTest,
    cli_env,
    command_shown,
    docker,
    run_dhitui,
    run_json,
)
from uitools import ids, select_alone, session, verdict_of, wait_for

SIZE = (150, 45)


def viewer_text(app: DhituiApp) -> str:
    assert isinstance(app.screen, (TextViewScreen, LogsScreen))
    return "\n".join(app.screen.query_one(Log).lines)


@pytest.mark.engine
async def test_keys_i_l_r_help_and_palette(engine28: EngineUnderTest,
                                           containers: Callable[..., str]) -> None:
    tag = uuid.uuid4().hex[:8]
    cid = containers(engine28, STANDARD_IMAGE, name=f"dhitui-test-keys-{tag}",
                     command=["sh", "-c", f"echo log-line-{tag}; exec sleep 600"])
    app = DhituiApp(EngineSession(host=engine28.host, env=cli_env()))
    async with app.run_test(size=SIZE) as pilot:
        await select_alone(pilot, app, tag, cid)
        # i: the inspect JSON of the selected container, shown literally.
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, TextViewScreen), "inspect view")
        await wait_for(pilot, lambda: f'"Id": "{cid}"' in viewer_text(app), "its JSON")
        await pilot.press("escape")
        # l: its logs (followed; tests/test_logs_follow.py checks the following).
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), "logs view")
        await wait_for(pilot, lambda: f"log-line-{tag}" in viewer_text(app), "its log line")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LogsScreen), "closed")
        # The esc that closed the views left the list's filter alone.
        assert app.table.filter_text == tag and ids(app.table) == [cid]
        # r: cached probes are forgotten and the image is probed again.
        before = session(app).classifier.facts.path_stats
        await pilot.press("r")
        await wait_for(pilot, lambda: session(app).classifier.facts.path_stats > before
                       and verdict_of(app, cid) == "○ standard", "a fresh probe")
        # ?: the help screen, which lists the keys.
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")
        # ctrl+p: the command palette runs the same actions (here: the logs).
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
        await pilot.press(*"follow the container")
        await wait_for(pilot, lambda: _first_match(app) == "Follow the container's logs",
                       "the match")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), "logs view")
        await wait_for(pilot, lambda: f"log-line-{tag}" in viewer_text(app), "the log line")


def _first_match(app: DhituiApp) -> str | None:
    if not isinstance(app.screen, CommandPalette):
        return None
    results = app.screen.query_one(CommandList)
    if results.option_count == 0:
        return None
    prompt = results.get_option_at_index(0).prompt
    return prompt.plain.split("\n")[0] if hasattr(prompt, "plain") else str(prompt)


def test_version() -> None:
    proc = run_dhitui("--version")
    assert proc.returncode == 0 and proc.stdout == f"dhitui {__version__}\n"


@pytest.mark.engine
def test_exit_status_125_when_docker_run_cannot_start_the_sidecar(
        engine28: EngineUnderTest, containers: Callable[..., str]) -> None:
    """The target stops between planning and `docker run`: the sidecar cannot join its PID
    namespace, `docker run` exits 125, and that is the session's status, its message shown."""
    from dhitui.engine.capabilities import probe_capabilities
    from dhitui.engine.client import connect
    from dhitui.engine.endpoint import resolve_endpoint
    from dhitui.sessions import plan_session, run_session

    cid = containers(engine28, HARDENED_IMAGE)
    eng = connect(resolve_endpoint(host=engine28.host))
    try:
        env = cli_env()
        plan = plan_session(eng, probe_capabilities(eng, "busybox", env), cid,
                            command=["true"], tty=False)
        assert plan.chosen is not None and plan.chosen.name == "image-mount"
        docker(engine28, "stop", "-t", "1", cid)
        result = run_session(plan, eng, env=env)
    finally:
        eng.close()
    assert result.exit_status == 125, result
    assert result.sidecar == plan.chosen.sidecar
    assert docker(engine28, "ps", "-aq", "--filter", f"label=dhitui.target={cid}"
                  ).stdout.strip() == ""


@pytest.mark.engine
def test_config_toml_toolbox_and_strategy_are_honoured(
        engine28: EngineUnderTest, containers: Callable[..., str], tmp_path: Path) -> None:
    cid = containers(engine28, HARDENED_IMAGE)
    (tmp_path / "dhitui").mkdir()
    (tmp_path / "dhitui" / "config.toml").write_text(
        f'toolbox = "{ABSOLUTE_LINKS_TOOLBOX}"\nstrategy = "toolbox"\n')
    env = cli_env({"XDG_CONFIG_HOME": str(tmp_path)})
    code, data = run_json("debug", "-H", engine28.host, cid, "--print", "--json", env=env)
    assert code == 0 and isinstance(data, dict)
    assert data["requested"] == "toolbox" and data["strategy"] == "toolbox"
    assert data["toolbox"]["ref"] == ABSOLUTE_LINKS_TOOLBOX
    proc = run_dhitui("debug", "-H", engine28.host, cid, "--", "ls", "/proc/1/root/app",
                      env=env, input="")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["app"] and "toolbox session into" in proc.stderr
    assert ABSOLUTE_LINKS_TOOLBOX in command_shown(proc.stderr)
    # The command line wins over the file.
    code, data = run_json("debug", "-H", engine28.host, cid, "-s", "image-mount",
                          "--toolbox", "busybox", "--print", "--json", env=env)
    assert code == 0 and isinstance(data, dict)
    assert data["strategy"] == "image-mount" and data["toolbox"]["ref"] == "busybox"
