"""The layout from 80x24 to wide screens: the list keeps name, verdict, state and user in
view, the panel goes beside the list on wide terminals and under it on narrow ones, `p` hides
and brings it back, and a long name is cut with "…" (the panel shows it whole)."""

from __future__ import annotations

import dataclasses

from textual.pilot import Pilot

from dhitui.models import ContainerSummary
from dhitui.ui.app import DhituiApp
from dhitui.ui.widgets.container_table import ContainerTable

from snapshot_backend import SUMMARIES, SnapshotSession
from uitools import ids, key, panel_text, wait_for

LONG = "orders-service-blue-green-canary-deployment-replica-0001"


class LongNames(SnapshotSession):
    """The snapshot data, one container renamed to something long."""

    def containers(self, *, all: bool = False) -> list[ContainerSummary]:
        return [dataclasses.replace(s, name=LONG) if s.name == "payments-api" else s
                for s in SUMMARIES]


def visible_columns(table: ContainerTable) -> dict[str, tuple[int, int]]:
    """Each column's [start, end) in the table's viewport, for the columns that end in it."""
    spans, x = {}, 0
    width = table.scrollable_content_region.width
    for column in table.columns:
        end = x + column.width + 2 * table.PAD
        if end <= width:
            spans[column.key] = (x, end)
        x = end
    return spans


def row_text(table: ContainerTable, container_id: str) -> str:
    """What the row shows on screen (the table's rendered line for it)."""
    y = table.get_row_index(key(container_id)) + 1  # after the header
    return table.render_line(y).text


async def loaded(pilot: Pilot[int], app: DhituiApp) -> None:
    await wait_for(pilot, lambda: len(ids(app.table)) == len(SUMMARIES), "rows")
    await wait_for(pilot, lambda: all(app.table.rows[key(c)].classification is not None
                                      for c in ids(app.table)), "verdicts")
    await pilot.pause()


async def test_80x24_panel_below_and_the_essential_columns_in_view() -> None:
    app = DhituiApp(LongNames())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        table, panel = app.table, app.panel
        assert "-narrow" in app.screen.classes
        assert panel.region.y >= table.region.bottom  # below the list
        assert panel.region.width == 80 and table.region.width == 80
        assert table.region.height >= 8  # rows to browse
        shown = visible_columns(table)
        assert {"name", "verdict", "state", "user"} <= set(shown)
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no h-scroll

        long_id = next(cid for cid in ids(table)
                       if table.rows[key(cid)].summary.name == LONG)
        line = row_text(table, long_id)
        assert LONG not in line and LONG[:12] in line and "…" in line
        assert "running" in line and "65532 (nonroot)" in line and "hardened" in line
        # The panel shows the whole name of the selected container.
        table.move_cursor(row=table.get_row_index(key(long_id)), animate=False)
        await wait_for(pilot, lambda: LONG in panel_text(app, "container"), "the full name")

        await pilot.press("p")  # hide the panel: the list takes the room
        await wait_for(pilot, lambda: not panel.display, "panel hidden")
        await pilot.pause()
        assert table.region.height >= 20
        await pilot.press("p")
        await wait_for(pilot, lambda: panel.display and panel.region.height > 0, "panel back")


async def test_200x50_panel_beside_and_the_names_whole() -> None:
    app = DhituiApp(LongNames())
    async with app.run_test(size=(200, 50)) as pilot:
        await loaded(pilot, app)
        table, panel = app.table, app.panel
        assert "-wide" in app.screen.classes
        assert panel.region.x >= table.region.right  # beside the list
        assert panel.region.y == table.region.y and panel.region.height >= table.region.height
        assert set(visible_columns(table)) == {key for key, _ in ContainerTable.COLUMNS}
        # Only the image gives way (to the 56-character name), and ends at the edge in "…".
        assert [c.key for c in table.columns if c.capped] == ["image"]
        assert table.virtual_size.width <= table.scrollable_content_region.width
        for cid in ids(table):
            s = table.rows[key(cid)].summary
            line = row_text(table, cid)
            assert s.name in line
            assert s.image in line or (s.image[:10] in line and line.rstrip().endswith("…"))


async def test_resizing_narrows_and_widens_the_columns_again() -> None:
    app = DhituiApp(SnapshotSession())
    async with app.run_test(size=(200, 50)) as pilot:
        await loaded(pilot, app)
        assert not any(c.capped for c in app.table.columns)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "-narrow" in app.screen.classes, "narrow layout")
        await wait_for(pilot, lambda: app.table.columns[-1].capped,
                       "the image column narrowed")
        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: not any(c.capped for c in app.table.columns),
                       "whole columns again")


async def test_the_panel_follows_a_selection_the_filter_moves() -> None:
    """Typing a filter that hides the selected container moves the cursor to a match; the
    panel follows it (once the typing pauses), and clearing the filter keeps it there."""
    app = DhituiApp(SnapshotSession())
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot, app)
        table = app.table
        first = ids(table)[0]
        await wait_for(pilot, lambda: table.rows[key(first)].summary.name
                       in panel_text(app, "container"), "the first row in the panel")
        await pilot.press("slash", *"static")
        await wait_for(pilot, lambda: table.row_count == 1, "the filtered list")
        await wait_for(pilot, lambda: "static-site" in panel_text(app, "container"),
                       "the panel on the match")
        assert table.selected is not None and table.selected.summary.name == "static-site"
        await pilot.press("escape")
        await wait_for(pilot, lambda: table.row_count == len(SUMMARIES), "every row again")
        assert table.selected is not None and table.selected.summary.name == "static-site"
        assert "static-site" in panel_text(app, "container")
