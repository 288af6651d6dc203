"""The container list: a DataTable keyed by container ID, updated in place.

The table keeps a model of every known container (summary + classification) and shows the
ones matching the filter, sorted by name. Changes touch only what changed: new rows are
added, gone rows removed, changed cells updated — the cursor stays on its container.

Costs at thousands of rows (bench/ measures them): a classification batch touches only its
own rows, and a cell that does not widen its column is updated without `update_width`
(DataTable re-measures the whole column when a cell narrows). DataTable's `remove_row` is
linear in the table's size, so when a filter hides many rows at once the table is refilled
from the model instead of shrunk row by row. New rows are measured by their cells' length
(`_update_dimensions`), not by Textual's generic measuring, ~3x cheaper on idle.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowDoesNotExist, RowKey

from dhitui.models import Classification, ContainerSummary
from dhitui.ui.render import row_cells


@dataclass
class Row:
    summary: ContainerSummary
    classification: Classification | None = None
    # Derived from the two above when first needed; `update()` forgets them.
    _hay: str | None = field(default=None, repr=False, compare=False)
    _cells: list[Text] | None = field(default=None, repr=False, compare=False)
    _cells_seen: float | None = field(default=None, repr=False, compare=False)

    def update(self, *, summary: ContainerSummary | None = None,
               classification: Classification | None = None) -> None:
        if summary is not None:
            self.summary = summary
        if classification is not None:
            self.classification = classification
        self._hay = self._cells = None

    def haystack(self) -> str:
        if self._hay is None:
            s, c = self.summary, self.classification
            words = [s.name, s.image, s.state, s.id[:12]]
            if s.crash_looping:
                words.append("crash-looping")
            if c is not None:
                words += [c.verdict, c.user.display, c.shell or "no-shell", c.source,
                          c.variant or ""]
            self._hay = " ".join(words).lower()
        return self._hay

    def cells(self, last_seen: float | None = None) -> list[Text]:
        """The table cells, in ContainerTable.COLUMNS order (`last_seen`: see row_cells)."""
        if self._cells is None or self._cells_seen != last_seen:
            self._cells = row_cells(self.summary, self.classification, last_seen)
            self._cells_seen = last_seen
        return self._cells


# Refill instead of removing rows one by one when removing would touch more row entries than
# this many per row kept (remove_row is ~1 µs per row in the table, adding a row ~60 µs).
_REFILL_RATIO = 60


class ContainerTable(DataTable[Text]):
    """Containers, one row each, keyed by ID."""

    # What matters for debugging first; the long image reference last, where it may be cut.
    COLUMNS = (
        ("name", "Name"),
        ("verdict", "Verdict"),
        ("state", "State"),
        ("user", "User"),
        ("shell", "Shell"),
        ("variant", "Variant"),
        ("image", "Image"),
    )
    # Kept on screen at any width: when the table is narrower than its content, `name` and
    # `user` give up cells (ending in "…"; the panel shows them whole) so that all four fit.
    ESSENTIAL = ("name", "verdict", "state", "user")
    # The fewest cells a column that gives way keeps (the label's width at least).
    MIN_WIDTH = {"name": 12, "user": 8}
    COMFORTABLE_NAME = 16  # the name gives way down to this for shell and variant to fit

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.rows_by_id: dict[str, Row] = {}
        self._shown: set[str] = set()  # the IDs that have a row in the DataTable
        self.filter_text = ""
        # Set while the engine does not answer: rows are what was seen then (live.ListFreshness).
        self.last_seen: float | None = None

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

    def on_resize(self) -> None:
        self._update_dimensions([])
        self._clear_caches()
        self.refresh()

    # ---- queries
    @property
    def selected_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except (RowDoesNotExist, IndexError):
            return None
        return key.value

    @property
    def selected(self) -> Row | None:
        cid = self.selected_id
        return self.rows_by_id.get(cid) if cid else None

    def visible_ids(self) -> list[str]:
        """The IDs of the rows shown, in display order."""
        return [str(row.key.value) for row in self.ordered_rows]

    # ---- model changes
    def replace_all(self, summaries: list[ContainerSummary]) -> list[ContainerSummary]:
        """Make the model exactly these containers; keep what is known about the ones that
        stay. Returns the summaries that are new or whose image changed (to classify)."""
        fresh = []
        changed: set[str] = set()
        incoming = {s.id: s for s in summaries}
        for cid in list(self.rows_by_id):
            if cid not in incoming:
                del self.rows_by_id[cid]
                changed.add(cid)
        for s in summaries:
            row = self.rows_by_id.get(s.id)
            if row is None or row.summary.image_id != s.image_id:
                self.rows_by_id[s.id] = Row(s)
                fresh.append(s)
                changed.add(s.id)
            elif row.summary != s:
                row.update(summary=s)
                changed.add(s.id)
        self._sync(changed)
        return fresh

    def upsert_container(self, summary: ContainerSummary) -> None:
        row = self.rows_by_id.get(summary.id)
        if row is None:
            self.rows_by_id[summary.id] = Row(summary)
        else:
            row.update(summary=summary)
        self._sync({summary.id})

    def remove_container(self, container_id: str) -> None:
        if self.rows_by_id.pop(container_id, None) is not None:
            self._sync({container_id})

    def set_classifications(self, results: list[Classification]) -> None:
        changed = set()
        for c in results:
            row = self.rows_by_id.get(c.container_id)
            if row is not None:
                old = row.classification
                if (old is not None and old.inspected and not c.inspected
                        and old.image_id == c.image_id):
                    continue  # a container's own settings do not change: keep what it said
                row.update(classification=c)
                changed.add(c.container_id)
        self._sync(changed)

    def show_last_seen(self, as_of: float | None) -> None:
        """Mark every row as last seen at `as_of` (None: current again)."""
        if as_of == self.last_seen:
            return
        self.last_seen = as_of
        self._sync(set(self.rows_by_id))

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self._sync((), refilter=True)

    # ---- view
    def _matches(self, row: Row) -> bool:
        if not self.filter_text:
            return True
        hay = row.haystack()
        return all(term in hay for term in self.filter_text.split())

    def _sync(self, changed: Collection[str], *, refilter: bool = False) -> None:
        """Bring the table in line with the model for the `changed` containers (all of them
        when the filter changed): remove, update, add, then sort."""
        keep_selected = self.selected_id
        shown = self._shown
        candidates = (set(self.rows_by_id) | shown) if refilter else changed
        remove: list[str] = []
        update: list[str] = []
        add: list[str] = []
        for cid in candidates:
            row = self.rows_by_id.get(cid)
            want = row is not None and self._matches(row)
            if cid in shown:
                if not want:
                    remove.append(cid)
                elif cid in changed:
                    update.append(cid)
            elif want:
                add.append(cid)
        if not (remove or update or add):
            return
        with self.app.batch_update():
            if len(remove) * len(shown) > _REFILL_RATIO * (len(shown) - len(remove) + len(add)):
                self._refill(keep_selected)
                return
            for cid in remove:
                self.remove_row(cid)
                shown.discard(cid)
            resort = False
            for cid in update:
                cells = self.rows_by_id[cid].cells(self.last_seen)
                for (col, _), cell in zip(self.COLUMNS, cells, strict=True):
                    if self.get_cell(cid, col) != cell:
                        self.update_cell(cid, col, cell, update_width=self._widens(col, cell))
                        resort = resort or col == "name"
            for cid in add:
                self.add_row(*self.rows_by_id[cid].cells(self.last_seen), key=cid)
                shown.add(cid)
            if add or resort:
                self.sort("name", key=lambda cell: cell.plain.lower())
            self._restore_cursor(keep_selected)

    def _refill(self, keep_selected: str | None) -> None:
        """Clear and add the matching rows in order (cheaper than many remove_row calls)."""
        self.clear()
        rows = sorted((r for r in self.rows_by_id.values() if self._matches(r)),
                      key=lambda r: r.cells()[0].plain.lower())
        for row in rows:
            self.add_row(*row.cells(self.last_seen), key=row.summary.id)
        self._shown = {r.summary.id for r in rows}
        self._restore_cursor(keep_selected)

    def _restore_cursor(self, keep_selected: str | None) -> None:
        if keep_selected and keep_selected in self._shown:
            index = self.get_row_index(keep_selected)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Widen the columns for rows added since the last idle, cheaply.

        DataTable measures each new cell with Textual's generic `measure()` (~16 µs, mostly
        building console options): 7,000 calls, ~100 ms, when a filter brings 1,000 rows
        back. Our cells are one-line `Text` in rows of height 1 without labels, whose
        measured width is exactly `cell_len`; anything else goes to DataTable's own code,
        which also sets the scrollable size (tests/test_ui_table.py checks both agree)."""
        columns = self.ordered_columns
        rest: list[RowKey] = []
        for key in new_rows:
            try:
                cells = self.get_row(key)
            except RowDoesNotExist:
                continue  # removed before this idle
            row = self.rows.get(key)
            if (row is None or row.height != 1 or row.label is not None
                    or not all(type(c) is Text and "\n" not in c.plain for c in cells)):
                rest.append(key)
                continue
            for column, cell in zip(columns, cells, strict=False):
                if cell.cell_len > column.content_width:
                    column.content_width = cell.cell_len
        if self._fit_columns():
            self._clear_caches()
        super()._update_dimensions(rest)

    def _fit_columns(self) -> bool:
        """Cap the widths of the columns that give way so that the essential columns fit in
        the table's width and the image ends at its edge; uncap what fits again. Only render
        widths change (content widths stay measured). Returns whether any width changed."""
        available = self.scrollable_content_region.width
        if available <= 0:
            return False
        pad = 2 * self.cell_padding
        columns = {str(c.key.value): c for c in self.ordered_columns}
        want = {key: c.content_width for key, c in columns.items()}
        caps: dict[str, int] = {}

        def give_way(key: str, over: int, floor: int) -> int:
            """Narrow `key` by up to `over` cells, not below `floor`; return what is left."""
            now = caps.get(key, want.get(key, 0))
            cut = min(over, max(0, now - floor))
            if cut > 0:
                caps[key] = now - cut
            return over - cut

        def overflow(keys: Iterable[str]) -> int:
            return sum(caps.get(k, want[k]) + pad for k in keys if k in want) - available

        # 1. The essential columns fit: name, then user, give up cells down to their minimum.
        over = overflow(self.ESSENTIAL)
        for key in ("name", "user"):
            if over > 0:
                over = give_way(key, over, self.MIN_WIDTH[key])
        # 2. Shell, variant and a cell of the image fit too, if the name can keep a
        # comfortable width.
        over = overflow([k for k, _ in self.COLUMNS if k != "image"]) + pad + 1
        if over > 0:
            give_way("name", over, self.COMFORTABLE_NAME)
        # 3. The image, last, ends at the table's edge (in "…", at worst only that) rather
        # than past it; the panel shows it whole.
        rest = -overflow([k for k, _ in self.COLUMNS if k != "image"])
        if "image" in want and want["image"] + pad > rest:
            caps["image"] = max(1, rest - pad)
        changed = False
        for key, column in columns.items():
            cap = caps.get(key)
            auto = cap is None or cap >= column.content_width
            if column.auto_width != auto or (not auto and column.width != cap):
                column.auto_width = auto
                column.width = column.content_width if auto else int(cap or 0)
                changed = True
        return changed

    def _widens(self, column: str, cell: Text) -> bool:
        """Whether `cell` is wider than its column's content. Only then is the column
        measured again: a narrower cell would make DataTable re-measure every cell of the
        column (for each such update); columns keep their width instead."""
        col = self.columns.get(ColumnKey(column))
        return col is None or cell.cell_len > col.content_width
