"""A fleet of engine sessions in one app: rows, plans and sessions keyed by (engine, id)."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input

from dhitui.errors import UsageError
from dhitui.live import EngineSession, Fleet
from dhitui.models import ContainerKey
from dhitui.ui.app import DhituiApp
from dhitui.ui.links import LinkState

from conftest import (
    CLI_TIMEOUT,
    HARDENED_IMAGE,
    STANDARD_IMAGE,
    EngineUnderTest,
    cli_env,
    docker,
    docker_cli_path,
    run_dhitui,
)
from uitools import panel_text, wait_for

SIZE = (150, 45)


def test_a_fleet_names_each_engine_once() -> None:
    with pytest.raises(UsageError, match="at least one engine"):
        Fleet([])
    one = EngineSession(name="here", host="unix:///nonexistent.sock", env={})
    with pytest.raises(UsageError, match="two engines are named 'here'"):
        Fleet([one, EngineSession(name="here", host="unix:///other.sock", env={})])
    assert Fleet.of(one).names == ["here"]
    fleet = Fleet([one, EngineSession(name="there", host="unix:///other.sock", env={})])
    assert Fleet.of(fleet) is fleet and fleet.names == ["here", "there"]
    assert fleet.session_of(ContainerKey("there", "abc")).name == "there"


@pytest.mark.engine
async def test_one_list_for_two_engines(engine20: EngineUnderTest, engine28: EngineUnderTest,
                                        containers: Callable[..., str]) -> None:
    """Two engines in one app: each row is its engine's, a change on one engine leaves the
    other's rows alone, and a row's plan and session go to its own engine."""
    from dhitui.sessions import SessionResult

    tag = uuid.uuid4().hex[:6]
    old = containers(engine20, HARDENED_IMAGE, name=f"dhitui-test-fleet-{tag}-old")
    new = containers(engine28, STANDARD_IMAGE, name=f"dhitui-test-fleet-{tag}-new")
    gone = containers(engine28, HARDENED_IMAGE, name=f"dhitui-test-fleet-{tag}-gone")
    calls: list[object] = []

    def runner(plan: object) -> SessionResult:
        calls.append(plan)
        return SessionResult(strategy=plan.chosen.name, exit_status=0,  # type: ignore[attr-defined]
                             duration=0.0)

    fleet = Fleet([EngineSession(name="old", host=engine20.host, env=cli_env()),
                   EngineSession(name="new", host=engine28.host, env=cli_env())])
    app = DhituiApp(fleet, session_runner=runner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *tag, "enter")
        want = [ContainerKey("new", gone), ContainerKey("new", new), ContainerKey("old", old)]
        await wait_for(pilot, lambda: app.table.visible_keys() == want, "the three rows")
        await wait_for(pilot, lambda: all(app.table.rows[k].classification is not None
                                          for k in want), "their verdicts")
        assert app.table.rows[ContainerKey("old", old)].classification.verdict == "hardened"  # type: ignore[union-attr]
        assert app.table.rows[ContainerKey("new", new)].classification.verdict == "standard"  # type: ignore[union-attr]
        await wait_for(pilot, lambda: all(link.connected and link.caps is not None
                                          for link in app.links.values()), "both engines")
        engines = panel_text(app, "engine")
        assert "old" in engines and "new" in engines  # each named; the selected one's in full
        assert app.sub_title == "old, new"

        # One engine's change: its row goes, the other engine's rows stay.
        docker(engine28, "rm", "-f", gone)
        await wait_for(pilot, lambda: ContainerKey("new", gone) not in app.table.rows,
                       "the removed row gone")
        assert app.table.visible_keys() == want[1:]

        # The row on 20.10 (no image mounts) is planned there: a toolbox-rooted session.
        app.table.move_cursor(row=app.table.get_row_index(ContainerKey("old", old)))
        await wait_for(pilot, lambda: "enter → toolbox" in panel_text(app, "container"),
                       "the 20.10 row's plan")
        await wait_for(pilot, lambda: "Docker Engine 20.10" in panel_text(app, "engine")
                       and "Docker Engine 28." not in panel_text(app, "engine"),
                       "the row's engine in full")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(calls) == 1, "the session")
        plan = calls[0]
        assert plan.target.id == old  # type: ignore[attr-defined]
        assert engine20.host in plan.command_line  # type: ignore[attr-defined]
        # And the row on 28, which has a shell: an exec there.
        app.table.move_cursor(row=app.table.get_row_index(ContainerKey("new", new)))
        await wait_for(pilot, lambda: f"{tag}-new" in panel_text(app, "container")
                       and "enter → exec" in panel_text(app, "container"), "the 28 row's plan")
        await wait_for(pilot, lambda: "Docker Engine 28." in panel_text(app, "engine")
                       and "Docker Engine 20.10" not in panel_text(app, "engine"),
                       "that row's engine")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(calls) == 2, "the second session")
        assert calls[1].target.id == new  # type: ignore[attr-defined]
        assert engine28.host in calls[1].command_line  # type: ignore[attr-defined]


def every_engine_env(tmp_path: Path, engines: dict[str, EngineUnderTest]) -> dict[str, str]:
    """A user's setup made with the real tools: a docker context per Docker engine
    (`docker context create`), a Podman connection (`podman system connection add`), and
    a context whose engine is gone. No DOCKER_HOST; nothing at the well-known sockets of
    this home and runtime directory."""
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)
    conf = home / "containers.conf"
    conf.touch()  # podman writes its connections into the file CONTAINERS_CONF names
    env = cli_env({"DOCKER_CONFIG": str(home / ".docker"), "HOME": str(home),
                   "XDG_CONFIG_HOME": str(home / ".config"),
                   "XDG_RUNTIME_DIR": str(home / "run"), "CONTAINERS_CONF": str(conf)})
    for name, eng in engines.items():
        if eng.name == "podman":
            made = subprocess.run(["podman", "system", "connection", "add", name,
                                   eng.host], env=env, capture_output=True, text=True,
                                  timeout=CLI_TIMEOUT)
        else:
            made = subprocess.run([docker_cli_path(), "context", "create", name, "--docker",
                                   f"host={eng.host}"], env=env, capture_output=True,
                                  text=True, timeout=CLI_TIMEOUT)
        assert made.returncode == 0, made.stderr
    gone = subprocess.run([docker_cli_path(), "context", "create", "gone", "--docker",
                           f"host=unix://{tmp_path}/no-engine.sock"], env=env,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT)
    assert gone.returncode == 0, gone.stderr
    return env


@pytest.mark.engine
def test_ls_over_every_engine_agrees_with_each_engine(
        engine20: EngineUnderTest, engine28: EngineUnderTest, podman_engine: EngineUnderTest,
        containers: Callable[..., str], tmp_path: Path) -> None:
    """`ls --json --engines all` lists each engine's containers under its name, the same
    ones `docker -H X ps -a` lists there; an engine that is down is named on stderr (exit
    4) and the others are listed all the same."""
    engines = {"blue": engine20, "green": engine28, "pm": podman_engine}
    for eng in engines.values():
        containers(eng, HARDENED_IMAGE)
    env = every_engine_env(tmp_path, engines)
    proc = run_dhitui("ls", "--json", "--all", "--engines", "all", env=env)
    assert proc.returncode == 4, proc.stderr
    assert "dhitui: engine gone: cannot reach the Docker Engine" in proc.stderr
    assert "\n  hint: " in proc.stderr  # and what to do about it, as for one engine
    assert "Traceback" not in proc.stderr
    rows = json.loads(proc.stdout)
    listed = {name: {r["id"] for r in rows if r["engine"] == name} for name in engines}
    for name, eng in engines.items():
        assert listed[name] == set(docker(eng, "ps", "-aq", "--no-trunc").stdout.split()), name
    assert {r["engine"] for r in rows} <= set(engines)
    # By name, in the order given, and the table names each row's engine.
    proc = run_dhitui("ls", "--engines", "pm,blue", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["ENGINE", "NAME"]
    shown = [line.split()[0] for line in lines[1:] if line and not line.startswith("*")]
    assert shown == sorted(shown, key=["pm", "blue"].index), shown  # pm's rows, then blue's
    # One engine: no Engine column, and the row says which engine it is.
    proc = run_dhitui("ls", "--json", "-c", "green", env=env)
    assert {r["engine"] for r in json.loads(proc.stdout)} == {"default"}
    # info: every engine, each as its own engine says it is; the one that is down, why.
    proc = run_dhitui("info", "--json", "--engines", "all", env=env)
    assert proc.returncode == 4, proc.stderr
    infos = {i["name"]: i for i in json.loads(proc.stdout)}
    assert list(infos) == ["pm", "blue", "gone", "green"]  # pm first: podman's default
    for name, eng in engines.items():
        assert infos[name]["endpoint"] == eng.host
        assert infos[name]["engine"] == eng.product
    assert infos["blue"]["engine_version"].startswith("20.10.")
    assert infos["green"]["engine_version"].startswith("28.")
    assert infos["gone"]["error"]["kind"] == "missing", infos["gone"]
    assert infos["gone"]["source"] == "context"


@pytest.mark.engine
async def test_three_engines_and_one_down_in_one_list(
        engine20: EngineUnderTest, engine28: EngineUnderTest, podman_engine: EngineUnderTest,
        containers: Callable[..., str], tmp_path: Path) -> None:
    """`dhitui --engines all`: every engine's rows with an Engine column, the filter
    matching an engine's name, an event on each engine reaching its own rows, and the
    engine that is down shown as down while the others stay live."""
    from dhitui.engine.selection import select_engines

    engines = {"blue": engine20, "green": engine28, "pm": podman_engine}
    env = every_engine_env(tmp_path, engines)
    tag = uuid.uuid4().hex[:6]
    first = {name: containers(eng, HARDENED_IMAGE, name=f"dhitui-test-all-{tag}-{name}")
             for name, eng in engines.items()}
    chosen = select_engines(engines=["all"], env=env)
    assert [n.name for n in chosen] == ["pm", "blue", "gone", "green"]  # pm: podman's default
    fleet = Fleet([EngineSession(name=n.name, endpoint=n.endpoint, env=env) for n in chosen])
    app = DhituiApp(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *tag, "enter")
        want = {ContainerKey(name, cid) for name, cid in first.items()}
        await wait_for(pilot, lambda: set(app.table.visible_keys()) == want, "three rows")
        assert [label for _, label in app.table.shown_columns][:2] == ["Name", "Engine"]
        for key in want:
            assert app.table.get_cell(key, "engine").plain == key.engine
        await wait_for(pilot, lambda: app.links["gone"].state is LinkState.UNREACHABLE,
                       "gone seen as down")
        assert all(app.links[name].connected for name in engines)
        # An event on each engine reaches its own rows.
        later = {name: containers(eng, HARDENED_IMAGE, name=f"dhitui-test-all-{tag}-{name}-2")
                 for name, eng in engines.items()}
        want |= {ContainerKey(name, cid) for name, cid in later.items()}
        await wait_for(pilot, lambda: set(app.table.visible_keys()) == want, "six rows")
        # The filter matches the engine's name.
        app.query_one("#filter", Input).value = f"{tag} pm"
        await wait_for(pilot, lambda: {k.engine for k in app.table.visible_keys()} == {"pm"},
                       "only pm's rows")
        assert len(app.table.visible_keys()) == 2
