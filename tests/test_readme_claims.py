"""What README promises and no other test checked: the TUI's `i`, `l`, `r`, `?` and `ctrl+p`
keys, `--version`, exit status 125 when `docker run` cannot start a sidecar, config.toml's
`toolbox` and `strategy` being honoured, exit status 255 when a session's status is lost,
`--cleanup --force`, the `sha256:` lookup of a bare 64-hex id, and a second click on a row
debugging it. (The logs view's `g`/`G` and "OOM killed" are in tests/test_logs_follow.py;
Ctrl-C during a commit and a refused commit in tests/test_snapshot_engine.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sockproxy import SocketProxy
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
    CLI_TIMEOUT,
    HARDENED_IMAGE,
    STANDARD_IMAGE,
    EngineUnderTest,
    cli_env,
    command_shown,
    docker,
    run_dhitui,
    run_json,
)
from polling import poll
from uitools import ids, panel_text, select_alone, selected_id, session, verdict_of, wait_for

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


def sidecars_of(engine: EngineUnderTest, cid: str) -> list[str]:
    return docker(engine, "ps", "-aq", "--filter", "label=dhitui.sidecar",
                  "--filter", f"label=dhitui.target={cid}").stdout.split()


@pytest.mark.engine
def test_exit_255_when_the_sessions_status_is_lost(engine28: EngineUnderTest,
                                                    containers: Callable[..., str],
                                                    tmp_path: Path) -> None:
    """README: "Over the API, a session whose status cannot be learnt (the engine went away)
    ends with 255 and says why." The engine's connection drops mid-session (a forwarder in
    front of the real engine is cut; the engine and the sidecar keep running)."""
    cid = containers(engine28, HARDENED_IMAGE)
    proxy = SocketProxy(str(tmp_path / "engine.sock"), engine28.socket)
    proxy.start()
    session = subprocess.Popen(
        [sys.executable, "-m", "dhitui", "-H", proxy.host, "--transport", "api", "debug", cid,
         "--", "sleep", "300"], env=cli_env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        poll("the session's sidecar", lambda: sidecars_of(engine28, cid))
        proxy.cut()
        _, err = session.communicate(timeout=CLI_TIMEOUT)
        assert session.returncode == 255, err
        assert "dhitui: session lost: the engine stopped answering (" in err, err  # why
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()
        proxy.start()  # the keeper reaches the engine again and removes the sidecar
    poll("the sidecar removed", lambda: not sidecars_of(engine28, cid),
         show=lambda: sidecars_of(engine28, cid))


@pytest.mark.engine
def test_cleanup_force_also_removes_what_another_machine_started(
        engine28: EngineUnderTest, containers: Callable[..., str]) -> None:
    """README: `--cleanup` removes what is no longer in use, "live sessions are never
    touched; `--force` also removes what was started from another machine". A sidecar
    labelled as another machine's session, its target running: kept, then removed."""
    from dhitui.sessions import labels as L

    cid = containers(engine28, HARDENED_IMAGE)
    far = L.Machine(host="another-machine.example", boot=uuid.uuid4().hex)
    labels = L.session_labels(session=L.new_session_id(), strategy="toolbox", machine=far,
                              target_id=cid, target_name="payments-api")
    name = f"dhitui-debug-far-{uuid.uuid4().hex[:8]}"
    docker(engine28, "create", *(f"--label={k}={v}" for k, v in labels.items()),
           "--name", name, "--network", "none", "busybox", "true")
    try:
        def entry(*flags: str) -> dict[str, object]:
            code, listed = run_json("debug", "-H", engine28.host, "--cleanup", *flags, "--json")
            assert code == 0 and isinstance(listed, list), listed
            ours = [s for s in listed if s["name"] == name]
            assert len(ours) == 1, listed
            return ours[0]  # type: ignore[no-any-return]

        kept = entry()
        assert (kept["status"], kept["removed"]) == ("unknown", False), kept
        assert "another-machine.example" in str(kept["reason"])
        assert docker(engine28, "ps", "-aq", "--filter", f"name={name}").stdout.strip()
        forced = entry("--force")
        assert (forced["status"], forced["removed"]) == ("unknown", True), forced
        assert not docker(engine28, "ps", "-aq", "--filter", f"name={name}").stdout.strip()
    finally:
        docker(engine28, "rm", "-f", name, check=False)


@pytest.mark.engine
def test_a_bare_64_hex_id_is_looked_up_as_an_image(engine: EngineUnderTest) -> None:
    """README: "A bare 64-hex id that is no container is looked up as `sha256:<id>`, because
    Podman 4.3 answers a 64-hex image name with an error rather than 'not found'": an image's
    id explores the image, and one that is neither is "no such container" (exit 5), on every
    engine."""
    image_id = docker(engine, "image", "inspect", "-f", "{{.Id}}", HARDENED_IMAGE).stdout.strip()
    hex_id = image_id.removeprefix("sha256:")
    assert len(hex_id) == 64
    proc = run_dhitui("debug", "-H", engine.host, hex_id, "--print", "--json")
    # Exploring this shell-less image needs image mounts: Engine 20.10 says so (exit 6).
    assert proc.returncode == (0 if engine.image_mounts else 6), proc.stderr
    assert f"no container named {hex_id}; exploring the local image" in proc.stderr
    target = json.loads(proc.stdout)["target"]
    assert (target["kind"], target["ref"], target["image_id"]) == ("image", hex_id, image_id)
    nothing = "e" * 64
    proc = run_dhitui("debug", "-H", engine.host, nothing, "--print")
    assert proc.returncode == 5, proc.stderr
    assert proc.stderr.startswith(f"dhitui: error: no such container: {nothing}\n")


@pytest.mark.engine
async def test_a_click_puts_the_cursor_on_a_row_and_a_second_click_debugs_it(
        engine28: EngineUnderTest, containers: Callable[..., str]) -> None:
    """README: "a click puts it on a row and a second click on that row debugs it, as
    `enter` does"."""
    from dhitui.sessions import SessionResult
    from dhitui.ui.widgets.container_table import ContainerTable

    tag = uuid.uuid4().hex[:8]
    first = containers(engine28, HARDENED_IMAGE, name=f"dhitui-test-click-{tag}-a")
    second = containers(engine28, HARDENED_IMAGE, name=f"dhitui-test-click-{tag}-b")
    started: list[str] = []

    def record(plan: Any) -> SessionResult:
        started.append(plan.target.id)
        return SessionResult(strategy=plan.chosen.name, exit_status=0, duration=0.0)

    app = DhituiApp(EngineSession(host=engine28.host, env=cli_env()), session_runner=record)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *tag, "enter")
        await wait_for(pilot, lambda: sorted(ids(app.table)) == sorted([first, second]),
                       "the two rows")
        await wait_for(pilot, lambda: selected_id(app.table) is not None, "the cursor")
        cursor = selected_id(app.table)
        other = second if cursor == first else first
        row = ids(app.table).index(other)
        # The header is the table's first line, then one line per row.
        await pilot.click(ContainerTable, offset=(3, 1 + row))
        await wait_for(pilot, lambda: selected_id(app.table) == other, "the cursor on the row")
        await wait_for(pilot, lambda: "enter → " in panel_text(app, "container"), "its plan")
        assert started == []  # the first click only moved the cursor
        await pilot.click(ContainerTable, offset=(3, 1 + row))
        await wait_for(pilot, lambda: started, "a session")
        assert started == [other]
