"""The container list: a DataTable keyed by container ID, updated in place.

The table keeps a model of every known container (summary + classification) and shows the
ones matching the filter, sorted by name. Changes touch only what changed: new rows are
added, gone rows removed, changed cells updated — the cursor stays on its container.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from dhitui.models import Classification, ContainerSummary
from dhitui.ui.render import row_cells


@dataclass
class Row:
    summary: ContainerSummary
    classification: Classification | None = None

    def haystack(self) -> str:
        s, c = self.summary, self.classification
        words = [s.name, s.image, s.state, s.id[:12]]
        if c is not None:
            words += [c.verdict, c.user.display, c.shell or "no-shell", c.source, c.variant or ""]
        return " ".join(words).lower()


class ContainerTable(DataTable[Text]):
    """Containers, one row each, keyed by ID."""

    # What matters for debugging first; the long image reference last, where it may be cut.
    COLUMNS = (
        ("name", "Name"),
        ("verdict", "Verdict"),
        ("user", "User"),
        ("shell", "Shell"),
        ("variant", "Variant"),
        ("state", "State"),
        ("image", "Image"),
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.rows_by_id: dict[str, Row] = {}
        self.filter_text = ""

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

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
        incoming = {s.id: s for s in summaries}
        for cid in list(self.rows_by_id):
            if cid not in incoming:
                del self.rows_by_id[cid]
        for s in summaries:
            row = self.rows_by_id.get(s.id)
            if row is None or row.summary.image_id != s.image_id:
                self.rows_by_id[s.id] = Row(s)
                fresh.append(s)
            else:
                row.summary = s
        self._sync()
        return fresh

    def upsert_container(self, summary: ContainerSummary) -> None:
        row = self.rows_by_id.get(summary.id)
        if row is None:
            self.rows_by_id[summary.id] = Row(summary)
        else:
            row.summary = summary
        self._sync()

    def remove_container(self, container_id: str) -> None:
        if self.rows_by_id.pop(container_id, None) is not None:
            self._sync()

    def set_classifications(self, results: list[Classification]) -> None:
        for c in results:
            row = self.rows_by_id.get(c.container_id)
            if row is not None:
                row.classification = c
        self._sync()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self._sync()

    # ---- view
    def _matches(self, row: Row) -> bool:
        if not self.filter_text:
            return True
        hay = row.haystack()
        return all(term in hay for term in self.filter_text.split())

    def _sync(self) -> None:
        """Bring the table in line with the model: remove, update, add, then sort."""
        keep_selected = self.selected_id
        want = {cid for cid, row in self.rows_by_id.items() if self._matches(row)}
        shown = {str(k.value) for k in self.rows}
        with self.app.batch_update():
            for cid in shown - want:
                self.remove_row(cid)
            resort = False
            for cid in shown & want:
                row = self.rows_by_id[cid]
                cells = row_cells(row.summary, row.classification)
                for (col, _), cell in zip(self.COLUMNS, cells, strict=True):
                    if self.get_cell(cid, col) != cell:
                        self.update_cell(cid, col, cell, update_width=True)
                        resort = resort or col == "name"
            added = want - shown
            for cid in added:
                row = self.rows_by_id[cid]
                self.add_row(*row_cells(row.summary, row.classification), key=cid)
            if added or resort:
                self.sort("name", key=lambda cell: cell.plain.lower())
            if keep_selected and keep_selected in want:
                index = self.get_row_index(keep_selected)
                if index != self.cursor_row:
                    self.move_cursor(row=index, animate=False)
