"""A fleet of engine sessions in one app: rows, plans and sessions keyed by (engine, id)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from dhitui.errors import UsageError
from dhitui.live import EngineSession, Fleet
from dhitui.models import ContainerKey
from dhitui.ui.app import DhituiApp

from conftest import HARDENED_IMAGE, STANDARD_IMAGE, EngineUnderTest, cli_env, docker
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
        assert "old" in engines and "new" in engines
        assert "20.10" in engines and "28." in engines
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
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(calls) == 1, "the session")
        plan = calls[0]
        assert plan.target.id == old  # type: ignore[attr-defined]
        assert engine20.host in plan.command_line  # type: ignore[attr-defined]
        # And the row on 28, which has a shell: an exec there.
        app.table.move_cursor(row=app.table.get_row_index(ContainerKey("new", new)))
        await wait_for(pilot, lambda: f"{tag}-new" in panel_text(app, "container")
                       and "enter → exec" in panel_text(app, "container"), "the 28 row's plan")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(calls) == 2, "the second session")
        assert calls[1].target.id == new  # type: ignore[attr-defined]
        assert engine28.host in calls[1].command_line  # type: ignore[attr-defined]
