"""The container table's own column measuring agrees with DataTable's (no engine needed:
the widget alone, with containers given as data)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable

from dhitui.models import ContainerSummary
from dhitui.ui.widgets.container_table import ContainerTable

# Names of different display widths: ASCII, East Asian wide characters, an emoji, a long one.
# The wide one has fewer characters than the longest ASCII name but more cells.
NAMES = ("web", "データベースサーバー", "cache-🚀", "a-longer-name-1", "x")


def _summaries() -> list[ContainerSummary]:
    return [ContainerSummary(id=f"{i:064x}", name=name, image=f"example.org/img{i}:{'9' * i}",
                             image_id=f"sha256:{i:064x}", state="running", status="Up")
            for i, name in enumerate(NAMES)]


class _Both(App[None]):
    def compose(self) -> ComposeResult:
        yield ContainerTable(id="ours")
        yield DataTable(id="stock")


def _widths(table: DataTable[Text]) -> list[int]:
    return [c.content_width for c in table.ordered_columns]


async def _assert_measured_like_datatable(app: _Both, pilot: Pilot[None],
                                          ours: ContainerTable) -> None:
    """A plain DataTable given exactly the rows `ours` shows, measured by Textual itself,
    has the same column widths and scrollable size."""
    await pilot.pause()
    stock: DataTable[Text] = app.query_one("#stock", DataTable)
    stock.clear(columns=True)
    for key, label in ContainerTable.COLUMNS:
        stock.add_column(label, key=key)
    for row in ours.ordered_rows:
        stock.add_row(*ours.get_row(row.key), key=row.key.value)
    await pilot.pause()
    assert ours.row_count == len(NAMES)
    assert _widths(ours) == _widths(stock)
    assert ours.virtual_size == stock.virtual_size


async def test_column_widths_and_size_match_datatable_measuring() -> None:
    app = _Both()
    async with app.run_test(size=(200, 40)) as pilot:
        ours = app.query_one("#ours", ContainerTable)
        ours.replace_all(_summaries())
        await _assert_measured_like_datatable(app, pilot, ours)
        # 10 wide characters are 20 cells, wider than the 15-character ASCII name.
        assert ours.ordered_columns[0].content_width == 20

        # Rows coming back after a filter are measured the same way.
        ours.set_filter("web")
        await pilot.pause()
        assert ours.row_count == 1
        ours.set_filter("")
        await _assert_measured_like_datatable(app, pilot, ours)


async def test_rows_last_seen_are_dimmed_with_the_time_until_current_again() -> None:
    import time

    from dhitui.ui.render import clock

    app = _Both()
    seen = time.time() - 42
    async with app.run_test(size=(200, 40)) as pilot:
        ours = app.query_one("#ours", ContainerTable)
        ours.replace_all(_summaries())
        first = _summaries()[0].id
        await pilot.pause()
        assert ours.get_cell(first, "state").plain == "running"
        ours.show_last_seen(seen)
        await pilot.pause()
        for cid in ours.visible_ids():
            cells = ours.get_row(cid)
            assert ours.get_cell(cid, "state").plain == f"running? seen {clock(seen)}"
            assert all(any(span.style == "dim" for span in cell.spans) for cell in cells)
        # A row that changes meanwhile (never: no events come) would still be shown as seen.
        ours.upsert_container(_summaries()[1])
        assert ours.get_cell(_summaries()[1].id, "state").plain.startswith("running? seen")
        ours.show_last_seen(None)
        await pilot.pause()
        assert ours.get_cell(first, "state").plain == "running"
        assert not any(span.style == "dim" for span in ours.get_cell(first, "name").spans)


def test_list_freshness_is_lost_with_the_engine_and_keeps_its_time() -> None:
    from dhitui.live import ListFreshness

    never = ListFreshness(False, None)
    assert never.mark_lost(100.0) == ListFreshness(False, None)  # nothing was ever seen
    current = ListFreshness(True, 50.0)
    lost = current.mark_lost(100.0)
    assert lost == ListFreshness(False, 100.0)
    assert lost.mark_lost(200.0) == lost  # losing it again does not make it newer
