"""The logs view: a container's last lines, then new ones as it writes them.

Thin: the following is `dhitui.logfollow.LogFollower` (domain), run in a thread worker that
posts the lines here; the follower is closed when the view closes. The view keeps the lines
it was given (up to MAX_LINES), shows them literally (control sequences were stripped by the
follower; a `Log` never parses markup), and adds pause and search. Keys: ui/keys.py LOGS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Log, Static

from dhitui.errors import DhituiError
from dhitui.textsafe import one_line
from dhitui.ui import keys

if TYPE_CHECKING:
    from dhitui.live import EngineSession
    from dhitui.logfollow import LogFollower, LogsEnd

MAX_LINES = 20_000  # kept for search and pause; older lines are forgotten
TAIL = 500  # lines of history shown first


class LogLines(Message):
    """New lines wait in the view's inbox (one message however many arrive meanwhile)."""


@dataclass
class LogsEnded(Message):
    end: LogsEnd | None
    error: str | None = None


@dataclass
class LogsRestarted(Message):
    state: str


class LogsScreen(ModalScreen[None]):
    """Follows one container's logs until closed."""

    DEFAULT_CSS = """
    LogsScreen { align: center middle; }
    LogsScreen > #frame {
        width: 96%; height: 92%;
        border: round $primary; background: $surface;
    }
    LogsScreen #title { height: 1; background: $primary 30%; padding: 0 1; text-style: bold; }
    LogsScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    LogsScreen #status.-ended { color: $warning; text-style: bold; }
    LogsScreen #search { dock: bottom; border: tall $accent; }
    LogsScreen #text { overflow-x: auto; }
    /* Small terminals: every cell for the lines. */
    LogsScreen.-narrow > #frame { width: 100%; height: 100%; border: none; }
    """
    BINDINGS = keys.bindings(keys.LOGS)
    AUTO_FOCUS = None  # on_mount focuses the log: typeahead is handed over then

    def __init__(self, backend: EngineSession, container_id: str, name: str) -> None:
        super().__init__()
        self.backend = backend
        self.container_id = container_id
        self.container_name = one_line(name)
        self.lines: list[str] = []
        self.received = 0  # every line handed over (self.lines keeps the last MAX_LINES)
        # Lines from the worker wait here until the view takes them: a container writing
        # faster than the screen can follow costs one message per screen update, not one per
        # line (which would starve the keys).
        self._inbox: list[str] = []
        self._inbox_lock = threading.Lock()
        self._announced = False
        self.paused = False
        self.waiting = 0  # lines that arrived while paused (or not matching: not counted)
        self.needle = ""
        self.state = "following"  # following | stopped: … | removed | engine error
        self._follower: LogFollower | None = None
        self._closed = False

    def compose(self) -> ComposeResult:
        with Vertical(id="frame"):
            yield Static(f"logs {self.container_name}", id="title", markup=False)
            yield Static("", id="status", markup=False)
            yield Log(id="text", highlight=False, auto_scroll=True, max_lines=MAX_LINES)
            yield Input(placeholder="show lines containing…", id="search")
        yield Footer()

    @property
    def log_widget(self) -> Log:
        return self.query_one("#text", Log)

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self._show_status()
        self.follow()
        self.log_widget.focus()

    def on_unmount(self) -> None:
        self._closed = True
        if self._follower is not None:
            self._follower.close()

    # ---- the worker
    @work(thread=True, exclusive=True, group="logs", exit_on_error=False)
    def follow(self) -> None:
        try:
            follower = self.backend.follow_logs(self.container_id, tail=TAIL)
        except DhituiError as exc:
            self.post_message(LogsEnded(None, exc.message))
            return
        self._follower = follower
        if self._closed:  # closed before the follower existed
            follower.close()
        try:
            end = follower.run(self._arrived,
                               lambda state: self.post_message(LogsRestarted(state)))
        except DhituiError as exc:
            self.post_message(LogsEnded(None, exc.message))
            return
        self.post_message(LogsEnded(end))

    def _arrived(self, lines: list[str]) -> None:
        """(worker thread) Into the inbox; tell the view unless it was told already."""
        with self._inbox_lock:
            self.received += len(lines)
            self._inbox.extend(lines)
            if len(self._inbox) > MAX_LINES:
                del self._inbox[: len(self._inbox) - MAX_LINES]
            if self._announced:
                return
            self._announced = True
        self.post_message(LogLines())

    def on_log_lines(self, message: LogLines) -> None:
        with self._inbox_lock:
            lines, self._inbox, self._announced = self._inbox, [], False
        self.lines.extend(lines)
        if len(self.lines) > MAX_LINES:
            del self.lines[: len(self.lines) - MAX_LINES]
        shown = [line for line in lines if self._matches(line)]
        if self.paused:
            self.waiting += len(shown)
            self._show_status()
        elif shown:
            self.log_widget.write_lines(shown)

    def on_logs_restarted(self, message: LogsRestarted) -> None:
        self.notify(f"The container restarted ({message.state}); following on.", timeout=4)

    def on_logs_ended(self, message: LogsEnded) -> None:
        end = message.end
        if message.error is not None:
            self.state = f"not following: {message.error}"
        elif end is not None and end.reason == "stopped":
            self.state = f"the container has stopped ({end.state}): these are its last lines"
        elif end is not None and end.reason == "gone":
            self.state = "the container was removed: these were its last lines"
        else:
            return  # closed by us
        if not self.lines:
            self.log_widget.write_line("(no output)")
        self._show_status()

    # ---- pause, search, moving
    def action_toggle_pause(self) -> None:
        self._set_paused(not self.paused)

    def _set_paused(self, paused: bool) -> None:
        if paused == self.paused:
            return
        self.paused = paused
        if not paused and self.waiting:
            self._rewrite()
        self.waiting = 0
        self._show_status()

    def action_top(self) -> None:
        self._set_paused(True)
        self.log_widget.scroll_home(animate=False)

    def action_bottom(self) -> None:
        self._set_paused(False)
        self.log_widget.scroll_end(animate=False)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        self.set_focus(box)  # priority binding: the next key finds it (ui/typeahead.py)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A "/" typed into the search box is text.
        return not (action == "search" and isinstance(self.focused, Input))

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.needle = event.value.lower()
        self._rewrite()
        self._show_status()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.log_widget.focus()

    def action_close(self) -> None:
        box = self.query_one("#search", Input)
        if box.display and (self.focused is box or box.value):
            box.value = ""
            box.display = False
            self.log_widget.focus()
            return
        self.dismiss(None)

    # ---- view
    def _matches(self, line: str) -> bool:
        return not self.needle or self.needle in line.lower()

    def _rewrite(self) -> None:
        log = self.log_widget
        log.clear()
        log.write_lines([line for line in self.lines if self._matches(line)])
        if not self.paused:
            log.scroll_end(animate=False)

    def _show_status(self) -> None:
        parts = [self.state]
        if self.paused:
            parts.append(f"paused, {self.waiting} new line{'s' if self.waiting != 1 else ''}"
                         " waiting (space resumes)")
        if self.needle:
            parts.append(f"showing lines containing {self.needle!r}")
        status = self.query_one("#status", Static)
        status.update(" · ".join(parts))
        status.set_class(self.state.startswith(("the container", "not following")), "-ended")
