"""The container table alone (no engine needed: the widget, with containers given as data):
it draws only the rows in view, columns as wide as the model's widest cell, a filter that
keeps the cursor on its container, and the keys and clicks that move it."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult

from dhitui.live import DEFAULT_NAME
from dhitui.models import ContainerSummary
from dhitui.ui.widgets.container_table import ContainerTable

from uitools import ids, key, selected_id

# Names of different display widths: ASCII, East Asian wide characters, an emoji, a long one.
# The wide one has fewer characters than the longest ASCII name but more cells.
NAMES = ("web", "データベースサーバー", "cache-🚀", "a-longer-name-1", "x")


def _summaries(names: tuple[str, ...] = NAMES) -> list[ContainerSummary]:
    return [ContainerSummary(id=f"{i:064x}", name=name,
                             image=f"example.org/img{i % 7}:{'9' * (i % 7)}",
                             image_id=f"sha256:{i % 7:064x}", state="running", status="Up")
            for i, name in enumerate(names)]


def _many(n: int) -> list[ContainerSummary]:
    return _summaries(tuple(f"svc-{i:04d}" for i in range(n)))


class _Table(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Any] = []

    def compose(self) -> ComposeResult:
        yield ContainerTable(id="ours")

    def on_container_table_highlighted(self, message: ContainerTable.Highlighted) -> None:
        self.messages.append(("highlighted", message.key.id if message.key else None))

    def on_container_table_selected(self, message: ContainerTable.Selected) -> None:
        self.messages.append(("selected", message.key.id))


def _screen_lines(table: ContainerTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


def _name_of(table: ContainerTable, cid: str | None) -> str | None:
    return table.rows[key(cid)].summary.name if cid else None


async def test_columns_are_as_wide_as_the_widest_cell_in_cells_not_characters() -> None:
    app = _Table()
    async with app.run_test(size=(200, 40)) as pilot:
        ours = app.query_one(ContainerTable)
        ours.replace_engine_rows(DEFAULT_NAME, _summaries())
        await pilot.pause()
        # 10 wide characters are 20 cells, wider than the 15-character ASCII name.
        assert ours.columns[0].content_width == 20
        for i, (column, label) in enumerate(ContainerTable.COLUMNS):
            assert ours.columns[i].content_width == max(
                [len(label)] + [ours.get_cell(k, column).cell_len for k in ours.rows])
        assert not any(c.capped for c in ours.columns)  # 200 columns: everything fits
        lines = _screen_lines(ours)
        assert lines[0].split() == [label for _, label in ContainerTable.COLUMNS]
        # Sorted by name; each row's cells start where the header's labels do.
        assert [line.split()[0] for line in lines[1:6]] == sorted(NAMES, key=str.lower)
        from rich.cells import cell_len

        starts = [1]
        for column in ours.columns[:-1]:
            starts.append(starts[-1] + column.width + 2)
        for (_, label), start in zip(ContainerTable.COLUMNS, starts, strict=True):
            assert cell_len(lines[0][:lines[0].index(label)]) == start
        for line in lines[1:6]:
            image = line.split()[-1]
            assert cell_len(line[:line.index(image)]) == starts[-1]


async def test_only_the_rows_in_view_are_drawn() -> None:
    """2,000 containers in a 30-line terminal: filling, filtering and scrolling draw a
    screenful of rows at most, not the model."""
    app = _Table()
    async with app.run_test(size=(160, 30)) as pilot:
        ours = app.query_one(ContainerTable)
        drawn: list[str] = []
        real = ours._strip

        def counting(cells: Any, *args: Any, **kwargs: Any) -> Any:
            drawn.append(cells[0].plain)
            return real(cells, *args, **kwargs)

        ours._strip = counting  # type: ignore[method-assign]
        ours.replace_engine_rows(DEFAULT_NAME, _many(2000))
        await pilot.pause()
        view = ours.scrollable_content_region.height
        assert ours.row_count == 2000 and 0 < len(drawn) <= view + 1
        for typed in ("s", "sv", "svc-1", "svc-12", "svc-1"):
            drawn.clear()
            ours.set_filter(typed)
            await pilot.pause()
            assert 0 < len(drawn) <= view + 1, typed
        assert ours.row_count == 1000
        drawn.clear()
        await pilot.press("end")
        await pilot.pause()
        assert _name_of(ours, selected_id(ours)) == "svc-1999"
        assert 0 < len(drawn) <= view + 1
        assert "svc-1999" in _screen_lines(ours)[-1]  # the cursor is in view, at the bottom


async def test_a_filter_keeps_the_cursor_on_its_container() -> None:
    app = _Table()
    async with app.run_test(size=(160, 30)) as pilot:
        ours = app.query_one(ContainerTable)
        ours.focus()
        ours.replace_engine_rows(DEFAULT_NAME, _many(300))
        await pilot.pause()
        target = next(cid for cid in ids(ours)
                      if ours.rows[key(cid)].summary.name == "svc-0123")
        ours.move_cursor(row=ours.get_row_index(key(target)))
        await pilot.pause()
        app.messages.clear()
        for typed in ("svc-01", "svc-012", "svc-0123", "svc-012", "svc-01", ""):
            ours.set_filter(typed)
            await pilot.pause()
            assert selected_id(ours) == target, typed
            assert any("svc-0123" in line for line in _screen_lines(ours)), typed
        assert app.messages == []  # the cursor never left it: nothing to tell the app
        ours.set_filter("svc-02")  # it does not match: the cursor goes to a row that does
        await pilot.pause()
        assert _name_of(ours, selected_id(ours)).startswith("svc-02")  # type: ignore[union-attr]
        assert app.messages == [("highlighted", selected_id(ours))]
        ours.set_filter("nothing matches this")
        await pilot.pause()
        assert ours.row_count == 0 and selected_id(ours) is None
        assert app.messages[-1] == ("highlighted", None)


async def test_keys_and_clicks_move_the_cursor_and_select() -> None:
    app = _Table()
    async with app.run_test(size=(160, 20)) as pilot:
        ours = app.query_one(ContainerTable)
        ours.focus()
        ours.replace_engine_rows(DEFAULT_NAME, _many(100))
        await pilot.pause()
        assert _name_of(ours, selected_id(ours)) == "svc-0000"
        await pilot.press("down", "down")
        assert _name_of(ours, selected_id(ours)) == "svc-0002"
        await pilot.press("pagedown")
        page = ours.cursor_row - 2
        assert page >= 10
        await pilot.press("up")
        assert ours.cursor_row == 2 + page - 1
        await pilot.press("home")
        assert ours.cursor_row == 0
        await pilot.press("end")
        assert _name_of(ours, selected_id(ours)) == "svc-0099"
        await pilot.press("enter")
        await pilot.pause()
        assert app.messages[-1] == ("selected", selected_id(ours))
        await pilot.press("home")
        await pilot.pause()
        # A click on another row moves the cursor there; a click on the cursor's row selects.
        await pilot.click(ContainerTable, offset=(3, 3))  # the header, then rows 0, 1, 2
        await pilot.pause()
        assert _name_of(ours, selected_id(ours)) == "svc-0002"
        assert app.messages[-1] == ("highlighted", selected_id(ours))
        await pilot.click(ContainerTable, offset=(3, 3))
        await pilot.pause()
        assert app.messages[-1] == ("selected", selected_id(ours))
        # The cursor's row is drawn in the cursor's style: its background differs.
        cursor_bg = ours.render_line(3)._segments[0].style.bgcolor  # type: ignore[union-attr]
        other_bg = ours.render_line(4)._segments[0].style.bgcolor  # type: ignore[union-attr]
        assert cursor_bg != other_bg


async def test_rows_last_seen_are_dimmed_with_the_time_until_current_again() -> None:
    import time

    from dhitui.ui.render import clock

    app = _Table()
    seen = time.time() - 42
    async with app.run_test(size=(200, 40)) as pilot:
        ours = app.query_one(ContainerTable)
        ours.replace_engine_rows(DEFAULT_NAME, _summaries())
        first = _summaries()[0].id
        await pilot.pause()
        assert ours.get_cell(key(first), "state").plain == "running"
        ours.show_last_seen(seen)
        await pilot.pause()
        for cid in ids(ours):
            cells = ours.get_row(key(cid))
            assert ours.get_cell(key(cid), "state").plain == f"running? seen {clock(seen)}"
            assert all(any(span.style == "dim" for span in cell.spans) for cell in cells)
        # A row that changes meanwhile (never: no events come) would still be shown as seen.
        ours.upsert_row(DEFAULT_NAME, _summaries()[1])
        assert ours.get_cell(key(_summaries()[1].id), "state").plain.startswith("running? seen")
        ours.show_last_seen(None)
        await pilot.pause()
        assert ours.get_cell(key(first), "state").plain == "running"
        assert not any(span.style == "dim" for span in ours.get_cell(key(first), "name").spans)


def test_list_freshness_is_lost_with_the_engine_and_keeps_its_time() -> None:
    from dhitui.live import ListFreshness

    never = ListFreshness(False, None)
    assert never.mark_lost(100.0) == ListFreshness(False, None)  # nothing was ever seen
    current = ListFreshness(True, 50.0)
    lost = current.mark_lost(100.0)
    assert lost == ListFreshness(False, 100.0)
    assert lost.mark_lost(200.0) == lost  # losing it again does not make it newer
