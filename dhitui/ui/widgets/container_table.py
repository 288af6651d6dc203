"""The container list: a virtual table that draws only the rows on screen.

The model is every known container (summary + classification), keyed by `ContainerKey` (the
engine session's name and the container's ID: one table shows a fleet of engines). The view
is a list of the keys that match the filter, sorted by name; `render_line` draws the header and the
rows the viewport shows from it, nothing else. So a filter keystroke at thousands of rows is
one pass over the rows' cached search text and one sort of the matches, then a frame of a
screenful of lines: there are no widget rows to add, measure or remove. The cursor stays on
its container while rows come, go and move.

Column widths are those of the whole model, not of the matches, so columns stay put while the
user types a filter. When the table is narrower than its content, `name` and `user` give up
cells (ending in "…"; the panel shows them whole) so that the essential columns fit, and the
image, last, ends at the table's edge: there is never a horizontal scroll.

Why one module of this size: the model, the filter, the cursor and the drawing share the
display order and the drawn-line cache, which must change together; `Row` and `Column` are
the only parts that stand alone, and they are here at the top.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dhitui.models import Classification, ContainerKey, ContainerSummary
from dhitui.ui import keys
from dhitui.ui.render import engine_cell, row_cells


@dataclass
class Row:
    key: ContainerKey
    summary: ContainerSummary
    classification: Classification | None = None
    # Derived from the two above when first needed; `update()` forgets them.
    _hay: str | None = field(default=None, repr=False, compare=False)
    _order: tuple[str, str, str, str] | None = field(default=None, repr=False, compare=False)
    _lengths: tuple[int, ...] | None = field(default=None, repr=False, compare=False)
    _lengths_seen: tuple[float | None, bool] | None = field(default=None, repr=False,
                                                            compare=False)

    def update(self, *, summary: ContainerSummary | None = None,
               classification: Classification | None = None) -> None:
        if summary is not None:
            self.summary = summary
        if classification is not None:
            self.classification = classification
        self._hay = self._lengths = self._order = None

    def haystack(self) -> str:
        if self._hay is None:
            s, c = self.summary, self.classification
            words = [s.name, s.image, s.state, s.id[:12], self.key.engine]
            if s.crash_looping:
                words.append("crash-looping")
            if c is not None:
                words += [c.verdict, c.user.display, c.shell or "no-shell", c.source,
                          c.variant or ""]
            self._hay = " ".join(words).lower()
        return self._hay

    def sort_key(self) -> tuple[str, str, str, str]:
        """By name, case-insensitively (then exactly, then by engine and ID: a stable
        order)."""
        if self._order is None:
            name = self.summary.name
            self._order = (name.lower(), name, self.key.engine, self.summary.id)
        return self._order

    def cells(self, last_seen: float | None = None, engine: bool = False) -> list[Text]:
        """The table cells, in the table's column order (`last_seen`: see row_cells;
        `engine`: the Engine column is shown, second). Made when asked, not kept: the table
        keeps the lines it drew, for the rows in view."""
        cells = row_cells(self.summary, self.classification, last_seen)
        if engine:
            cells.insert(1, engine_cell(self.key.engine, dim=last_seen is not None))
        return cells

    def lengths(self, last_seen: float | None = None, engine: bool = False) -> tuple[int, ...]:
        """The cells' widths on screen (kept: every row's count for the column widths)."""
        if self._lengths is None or self._lengths_seen != (last_seen, engine):
            self._lengths = tuple(cell.cell_len for cell in self.cells(last_seen, engine))
            self._lengths_seen = (last_seen, engine)
        return self._lengths


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    content_width: int  # the widest cell of the model (or the label)
    width: int  # what it is given on screen, padding aside (less when it gives way)

    @property
    def capped(self) -> bool:
        return self.width < self.content_width


class ContainerTable(ScrollView, can_focus=True):
    """Containers, one row each, keyed by engine and ID; only the rows in view are drawn."""

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
    # Shown second when the list holds several engines' containers (`show_engines`).
    ENGINE_COLUMN = ("engine", "Engine")
    COMFORTABLE_NAME = 16  # the name gives way down to this for shell and variant to fit
    PAD = 1  # cells of space on each side of a cell

    BINDINGS: ClassVar[list[BindingType]] = keys.bindings(keys.LIST)
    COMPONENT_CLASSES: ClassVar[set[str]] = {"container-table--header",
                                             "container-table--cursor"}
    # DataTable's look: the header on $panel, a block cursor that is bright when focused.
    DEFAULT_CSS = """
    ContainerTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        &:focus {
            background-tint: $foreground 5%;
            & > .container-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .container-table--header {
                background-tint: $foreground 5%;
            }
        }
        & > .container-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .container-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .container-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class Highlighted(Message):
        """The cursor is on another container (None: the table shows none)."""

        def __init__(self, key: ContainerKey | None) -> None:
            super().__init__()
            self.key = key

    class Selected(Message):
        """`enter`, or a click on the row the cursor is on: debug this container."""

        def __init__(self, key: ContainerKey) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: dict[ContainerKey, Row] = {}
        self._order: list[ContainerKey] = []  # the keys shown, in display order
        self._index: dict[ContainerKey, int] | None = None  # key -> position in _order
        self._keys: dict[ContainerKey, tuple[str, str, str, str]] = {}  # shown: sort keys
        self._sorted: list[Row] | None = None  # every row by sort key (None: to be sorted)
        self.cursor_row = 0
        self._highlighted: ContainerKey | None = None  # what the last Highlighted named
        self.filter_text = ""
        self._terms: list[str] = []  # the filter's words: a row must contain every one
        # Set while the engine does not answer: rows are what was seen then (live.ListFreshness).
        self.last_seen: float | None = None
        self.engines_shown = False  # the Engine column (several engines in the list)
        self.shown_columns: tuple[tuple[str, str], ...] = self.COLUMNS
        self._columns: list[Column] = []
        self._widths_stale = True
        # Drawn rows, until anything changes.
        self._strips: dict[tuple[ContainerKey, bool], Strip] = {}

    # ---- queries
    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def selected_key(self) -> ContainerKey | None:
        if not self._order:
            return None
        return self._order[min(self.cursor_row, len(self._order) - 1)]

    @property
    def selected(self) -> Row | None:
        key = self.selected_key
        return self.rows.get(key) if key else None

    def visible_keys(self) -> list[ContainerKey]:
        """The keys of the rows the filter lets through, in display order."""
        return list(self._order)

    def get_row_index(self, key: ContainerKey) -> int:
        """The row's position in display order (KeyError if it is not shown)."""
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self._order)}
        return self._index[key]

    def get_row(self, key: ContainerKey) -> list[Text]:
        return self.rows[key].cells(self.last_seen, self.engines_shown)

    def get_cell(self, key: ContainerKey, column: str) -> Text:
        columns = [name for name, _ in self.shown_columns]
        return self.get_row(key)[columns.index(column)]

    @property
    def columns(self) -> list[Column]:
        """The columns as laid out for the current width."""
        self._lay_out()
        return self._columns

    # ---- model changes
    def replace_engine_rows(self, engine: str,
                            summaries: list[ContainerSummary]) -> list[ContainerSummary]:
        """Make `engine`'s rows exactly these containers (other engines' rows stay); keep
        what is known about the ones that stay. Returns the summaries that are new or whose
        image changed (to classify)."""
        fresh = []
        changed: set[ContainerKey] = set()
        incoming = {ContainerKey(engine, s.id): s for s in summaries}
        for key in [k for k in self.rows if k.engine == engine and k not in incoming]:
            del self.rows[key]
            changed.add(key)
        for key, s in incoming.items():
            row = self.rows.get(key)
            if row is None or row.summary.image_id != s.image_id:
                self.rows[key] = Row(key, s)
                fresh.append(s)
                changed.add(key)
            elif row.summary != s:
                row.update(summary=s)
                changed.add(key)
        self._sync(changed)
        return fresh

    def upsert_row(self, engine: str, summary: ContainerSummary) -> None:
        key = ContainerKey(engine, summary.id)
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = Row(key, summary)
        else:
            row.update(summary=summary)
        self._sync({key})

    def drop_row(self, key: ContainerKey) -> None:
        """Take the row out of the list (the container itself is not touched)."""
        if self.rows.pop(key, None) is not None:
            self._sync({key})

    def set_classifications(self, engine: str, results: list[Classification]) -> None:
        changed = set()
        for c in results:
            key = ContainerKey(engine, c.container_id)
            row = self.rows.get(key)
            if row is not None:
                old = row.classification
                if (old is not None and old.inspected and not c.inspected
                        and old.image_id == c.image_id):
                    continue  # a container's own settings do not change: keep what it said
                row.update(classification=c)
                changed.add(key)
        self._sync(changed)

    def show_engines(self, shown: bool) -> None:
        """Show the Engine column (the list holds several engines' rows) or not."""
        if shown != self.engines_shown:
            self.engines_shown = shown
            cols = list(self.COLUMNS)
            if shown:
                cols.insert(1, self.ENGINE_COLUMN)
            self.shown_columns = tuple(cols)
            self._widths_stale = True
            self._strips.clear()
            self.refresh()

    def show_last_seen(self, as_of: float | None) -> None:
        """Mark every row as last seen at `as_of` (None: current again)."""
        if as_of == self.last_seen:
            return
        self.last_seen = as_of
        self._sync(set(self.rows))

    def set_filter(self, text: str) -> None:
        text = text.strip().lower()
        if text != self.filter_text:
            self.filter_text = text
            self._terms = text.split()
            self._sync((), refilter=True)

    # ---- cursor
    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        """Put the cursor on display row `row` (clamped) and bring it into view."""
        self._set_cursor(row)

    def action_cursor_up(self) -> None:
        self._set_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._set_cursor(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self._set_cursor(self.cursor_row + self._page())

    def action_first(self) -> None:
        self._set_cursor(0)

    def action_last(self) -> None:
        self._set_cursor(len(self._order) - 1)

    def action_select(self) -> None:
        if (key := self.selected_key) is not None:
            self.post_message(self.Selected(key))

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _set_cursor(self, row: int) -> None:
        row = max(0, min(row, len(self._order) - 1))
        if row != self.cursor_row:
            old, self.cursor_row = self.cursor_row, row
            # Only the two rows are drawn again (a scroll, below, redraws the view).
            for index in (old, row):
                self.refresh_line(index + 1)  # the line under the header
        self._scroll_to_cursor()
        self._announce()

    def _at(self, row: int) -> ContainerKey | None:
        return self._order[row] if 0 <= row < len(self._order) else None

    def _announce(self) -> None:
        """Tell the app when the cursor is on another container than it was last told."""
        key = self.selected_key
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.Highlighted(key))

    def _scroll_to_cursor(self) -> None:
        rows = max(1, self.scrollable_content_region.height - 1)  # under the header
        top = round(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, immediate=True)

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = round(self.scroll_offset.y) + offset.y - 1
        if row >= len(self._order):
            return
        if row == self.cursor_row:
            self.action_select()
        else:
            self._set_cursor(row)

    # ---- view
    def _matches(self, row: Row) -> bool:
        hay = row.haystack()
        return all(term in hay for term in self._terms)

    def _sync(self, changed: Collection[ContainerKey], *, refilter: bool = False) -> None:
        """Bring the view in line with the model for the `changed` containers (every one
        when the filter changed). The display order is made again only when a row joins,
        leaves or is renamed; otherwise the changed rows are just drawn again."""
        if not changed and not refilter:
            return
        if changed:
            self._sorted = None  # rows came, went or were replaced
        reorder = refilter
        if not reorder:
            for key in changed:
                row = self.rows.get(key)
                want = row is not None and self._matches(row)
                shown = key in self._keys
                if want != shown or (row is not None and shown
                                     and row.sort_key() != self._keys[key]):
                    reorder = True
                    break
        if reorder:
            keep = self.selected_key
            if self._sorted is None:
                self._sorted = sorted(self.rows.values(), key=Row.sort_key)
            rows = [r for r in self._sorted if self._matches(r)] if self._terms else self._sorted
            self._order = [r.key for r in rows]
            self._keys = {r.key: r.sort_key() for r in rows}
            self._index = None
            if keep is not None and keep in self._keys:
                self.cursor_row = self.get_row_index(keep)
            else:
                self.cursor_row = max(0, min(self.cursor_row, len(self._order) - 1))
        if changed:  # a new filter alone changes neither the widths nor any row's look
            self._strips.clear()
            self._widths_stale = True
        self._lay_out()
        self.refresh()
        if self.is_mounted:
            if reorder:
                self._scroll_to_cursor()
            self._announce()

    def on_resize(self) -> None:
        self._widths_stale = True
        self._lay_out()
        self._strips.clear()
        self.refresh()
        self._scroll_to_cursor()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self._strips.clear()
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._strips.clear()
        self.refresh()

    def _lay_out(self) -> None:
        """Column widths for the model and the table's width; the virtual size."""
        if self._widths_stale:
            self._widths_stale = False
            lengths = [row.lengths(self.last_seen, self.engines_shown)
                       for row in self.rows.values()]
            labels = tuple(len(label) for _, label in self.shown_columns)
            want = [max(column) for column in zip(labels, *lengths, strict=True)]
            caps = self._fit({key: w for (key, _), w in zip(self.shown_columns, want,
                                                            strict=True)})
            self._columns = [Column(key, label, w, min(w, caps.get(key, w)))
                             for (key, label), w in zip(self.shown_columns, want,
                                                        strict=True)]
            self._strips.clear()
        width = sum(c.width + 2 * self.PAD for c in self._columns)
        size = Size(width, len(self._order) + 1)
        if size != self.virtual_size:
            self.virtual_size = size

    def _fit(self, want: dict[str, int]) -> dict[str, int]:
        """Caps on the widths of the columns that give way so that the essential columns fit
        in the table's width and the image ends at its edge (none when all fits)."""
        available = self.scrollable_content_region.width
        if available <= 0:
            return {}
        pad = 2 * self.PAD
        caps: dict[str, int] = {}

        def give_way(key: str, over: int, floor: int) -> int:
            """Narrow `key` by up to `over` cells, not below `floor`; return what is left."""
            now = caps.get(key, want[key])
            cut = min(over, max(0, now - floor))
            if cut > 0:
                caps[key] = now - cut
            return over - cut

        def overflow(keys: Iterable[str]) -> int:
            return sum(caps.get(k, want[k]) + pad for k in keys) - available

        # 1. The essential columns fit: name, then user, give up cells down to their minimum.
        over = overflow(self.ESSENTIAL)
        for key in ("name", "user"):
            if over > 0:
                over = give_way(key, over, self.MIN_WIDTH[key])
        # 2. Shell, variant and a cell of the image fit too, if the name can keep a
        # comfortable width.
        over = overflow([k for k, _ in self.shown_columns if k != "image"]) + pad + 1
        if over > 0:
            give_way("name", over, self.COMFORTABLE_NAME)
        # 3. The image, last, ends at the table's edge (in "…", at worst only that) rather
        # than past it; the panel shows it whole.
        rest = -overflow([k for k, _ in self.shown_columns if k != "image"])
        if want["image"] + pad > rest:
            caps["image"] = max(1, rest - pad)
        return caps

    def render_line(self, y: int) -> Strip:
        self._lay_out()
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("container-table--header")
            return self._strip([Text(label) for _, label in self.shown_columns], width,
                               base + header)
        row = round(self.scroll_offset.y) + y - 1
        if not 0 <= row < len(self._order):
            return Strip.blank(width, base)
        key = self._order[row]
        cursor = row == self.cursor_row
        strip = self._strips.get((key, cursor))
        if strip is None or strip.cell_length != width:
            post = self.get_component_rich_style("container-table--cursor") if cursor else None
            strip = self._strip(self.rows[key].cells(self.last_seen, self.engines_shown),
                                width, base, post)
            if len(self._strips) > 4 * max(25, self.size.height):  # a few screens' worth
                self._strips.clear()
            self._strips[(key, cursor)] = strip
        return strip

    def _strip(self, cells: list[Text], width: int, style: Style,
               post: Style | None = None) -> Strip:
        """One line of cells, each padded or cut (with "…") to its column's width."""
        console = self.app.console
        segments: list[Segment] = []
        pad = " " * self.PAD
        for column, cell in zip(self._columns, cells, strict=False):
            if cell.cell_len > column.width:
                cell = cell.copy()
                cell.truncate(column.width, overflow="ellipsis")
            # The cell's own style covers its padding too, as in DataTable (and Text.render
            # leaves a span-less text's own style out: print adds it).
            own = console.get_style(cell.style, default=None) if cell.style else None
            segments.append(Segment(pad, own))
            segments.extend(Segment.apply_style(cell.render(console, end=""), own))
            segments.append(Segment(" " * (column.width - cell.cell_len) + pad, own))
        return Strip(Segment.apply_style(segments, style, post)).adjust_cell_length(width, style)
