"""The app's frame: the widgets (filter box, notice, list, side panel), the filter, the
notice line and notifications. No engine here: `dhitui.ui.engine_link` builds on it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.widgets import Footer, Header, Input, Static

from dhitui.textsafe import clean
from dhitui.ui import keys
from dhitui.ui.widgets.container_table import ContainerTable
from dhitui.ui.widgets.side_panel import SidePanel

F = TypeVar("F", bound=Callable[..., None])

WIDE_FROM = 120  # terminal columns from which the side panel sits beside the list


def while_mounted(handler: F) -> F:
    """For handlers of worker messages: a message that arrives while the app is shutting
    down (its widgets already gone) is dropped instead of failing the shutdown."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            handler(*args, **kwargs)
        except NoMatches:
            pass

    return wrapper  # type: ignore[return-value]


class AppShell(App[int]):
    """The widgets and what only they are about."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "dhitui"
    BINDINGS = keys.bindings(keys.MAIN)
    # Below this width the side panel goes under the list (app.tcss), so that the list keeps
    # its most useful columns at 80 columns.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_FROM, "-wide")]

    def __init__(self) -> None:
        super().__init__()
        self._notice_text: str | None = None  # what #notice shows

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Notifications quote engine text (names, commands, errors): shown literally, never
        as markup, and without control sequences, unless a caller opts in."""
        super().notify(clean(message), title=clean(title, keep_newlines=False),
                       severity=severity, timeout=timeout, markup=markup)

    # ---- layout
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield Input(placeholder="filter: name, image, verdict, user…", id="filter")
                yield Static("", id="notice", markup=False)
                yield ContainerTable(id="containers")
            yield SidePanel(id="panel")

    @property
    def table(self) -> ContainerTable:
        return self.query_one(ContainerTable)

    @property
    def panel(self) -> SidePanel:
        return self.query_one(SidePanel)

    @property
    def filter_box(self) -> Input:
        return self.query_one("#filter", Input)

    def on_mount(self) -> None:
        # The key bar comes right after the first frame: building its dozen key widgets
        # would otherwise delay the list (docs/benchmarks.md).
        self.call_after_refresh(self._mount_footer)
        self.filter_box.display = False
        self.table.focus()

    async def _mount_footer(self) -> None:
        await self.mount(Footer())
        # A Footer shows keys from the first bindings update after it subscribed to them;
        # focus may have settled before it was mounted.
        self.screen.refresh_bindings()

    # ---- filter
    def action_filter(self) -> None:
        box = self.filter_box
        box.display = True
        # A priority binding: the key after "/" is dispatched after this returns, and finds
        # the box focused (ui/typeahead.py).
        self.screen.set_focus(box)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # The table tells of a change of selection itself (ContainerTable.Highlighted): the
        # panel, whose update lays out the screen again, is not redrawn for every keystroke.
        self.table.set_filter(event.value)
        self._update_notice()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def on_key(self, event: Any) -> None:
        box = self.filter_box
        # Only on the list's own screen: the `esc` that closes a view (logs, inspect, help)
        # leaves the filter as it was.
        if event.key == "escape" and box.display and self.screen is box.screen:
            box.value = ""
            box.display = False
            self.table.focus()
            event.stop()

    # ---- the notice line
    def _show_notice(self, text: str) -> None:
        if text == self._notice_text:
            return  # an update would lay the screen out again for nothing
        self._notice_text = text
        notice = self.query_one("#notice", Static)
        notice.update(text)
        notice.display = bool(text)

    def _update_notice(self) -> None:
        """What the list holds, when it has nothing to show (engine_link says more)."""
