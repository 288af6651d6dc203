"""SVG snapshots of the main screens with deterministic data (see snapshot_backend.py).

A changed screen fails until the new SVG is reviewed and accepted with
`pytest tests/test_ui_snapshots.py --snapshot-update`."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from dhitui.ui.app import DhituiApp
from dhitui.ui.screens.strategy_picker import StrategyPicker

from snapshot_backend import SUMMARIES, SnapshotSession
from uitools import ids, key, wait_for

SIZE = (150, 45)


def by_name(name: str) -> str:
    return next(s.id for s in SUMMARIES if s.name == name)


async def show(pilot: Pilot[int], name: str) -> None:
    app = pilot.app
    assert isinstance(app, DhituiApp)
    await wait_for(pilot, lambda: len(ids(app.table)) == len(SUMMARIES), "the rows")
    cid = by_name(name)
    app.table.move_cursor(row=app.table.get_row_index(key(cid)), animate=False)
    await wait_for(pilot, lambda: app.details_of(key(cid)) is not None, "the details")
    await pilot.pause()


def test_main_screen(snap_compare: Any) -> None:
    async def before(pilot: Pilot[int]) -> None:
        await show(pilot, "payments-api")

    assert snap_compare(DhituiApp(SnapshotSession()), terminal_size=SIZE, run_before=before)


def test_failing_permission_check(snap_compare: Any) -> None:
    async def before(pilot: Pilot[int]) -> None:
        await show(pilot, "ci-runner")

    assert snap_compare(DhituiApp(SnapshotSession()), terminal_size=SIZE, run_before=before)


def test_strategy_picker(snap_compare: Any) -> None:
    async def before(pilot: Pilot[int]) -> None:
        await show(pilot, "payments-api")
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, StrategyPicker), "picker")
        await pilot.pause()

    assert snap_compare(DhituiApp(SnapshotSession()), terminal_size=SIZE, run_before=before)


def test_filtered_list(snap_compare: Any) -> None:
    async def before(pilot: Pilot[int]) -> None:
        await show(pilot, "builder")
        await pilot.press("slash", *"dhi standard")

    assert snap_compare(DhituiApp(SnapshotSession()), terminal_size=SIZE, run_before=before)


SMALL = (80, 24)


def test_main_screen_80x24(snap_compare: Any) -> None:
    async def before(pilot: Pilot[int]) -> None:
        await show(pilot, "payments-api")

    assert snap_compare(DhituiApp(SnapshotSession()), terminal_size=SMALL, run_before=before)


def test_panel_hidden_80x24(snap_compare: Any) -> None:
    async def before(pilot: Pilot[int]) -> None:
        await show(pilot, "payments-api")
        await pilot.press("p")
        await pilot.pause()

    assert snap_compare(DhituiApp(SnapshotSession()), terminal_size=SMALL, run_before=before)
