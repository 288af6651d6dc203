"""The dhitui application: the container browser with its side panel.

The app owns no engine logic. A `Backend` (dhitui.live) is injected; every engine call runs
in a thread worker and comes back as a message (see messages.py). One worker follows the
engine's event stream; when the engine goes away it waits for it to return and reloads, so
the app survives daemon restarts. A slow timer re-lists as a safety net only.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from dhitui.errors import DhituiError, EngineUnavailable
from dhitui.live import Backend
from dhitui.models import ContainerSummary
from dhitui.textsafe import clean, one_line
from dhitui.ui import keys, render, typeahead
from dhitui.ui.messages import (
    CapabilitiesReady,
    Classified,
    ClassifyFinished,
    ContainerChanged,
    ContainerChecksReady,
    ContainersLoaded,
    EngineConnected,
    EngineFailed,
    EngineLost,
    HostChecksReady,
    OrphansFound,
    PlanReady,
)
from dhitui.ui.typeahead import KeyHold
from dhitui.ui.widgets.container_table import ContainerTable
from dhitui.ui.widgets.side_panel import SidePanel

if TYPE_CHECKING:
    from dhitui.sessions import SessionPlan, SessionResult

SAFETY_NET_SECONDS = 60.0
HOLD_LIMIT = typeahead.HOLD_LIMIT

F = TypeVar("F", bound=Callable[..., None])


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

DETAILS_DELAY = 0.15  # let the cursor settle before checking the selected container
TYPING_PAUSE = 0.12  # while a filter is typed, the panel follows the selection after this
# `enter` runs the plan the panel shows when it is this recent: an event about the container
# (start, stop, pause, die…) or a reconnect drops it, so within this bound it is as fresh as
# the list; older ones are made again (the toolbox image or the engine may have changed).
PLAN_REUSE_SECONDS = 30.0
# At start-up the panel's checks, the capabilities probe and the orphan check wait for the
# list's first classification (they compete with it for the interpreter and the engine), at
# most this long.
SECONDARY_MAX_WAIT = 3.0
WIDE_FROM = 120  # terminal columns from which the side panel sits beside the list


class DhituiApp(App[int]):
    """Browse containers, see which are hardened and why, debug any of them with one key."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "dhitui"
    BINDINGS = keys.bindings(keys.MAIN)
    # Below this width the side panel goes under the list (app.tcss), so that the list keeps
    # its most useful columns at 80 columns.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_FROM, "-wide")]

    def __init__(
        self,
        backend: Backend,
        *,
        show_all: bool = False,
        session_runner: Callable[[SessionPlan], SessionResult] | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.show_all = show_all
        # How a debug session runs: by default the app suspends and hands the terminal over
        # (tests observe this call; Textual's headless driver cannot suspend).
        self.session_runner = session_runner or self._run_in_terminal
        self._plans: dict[str, SessionPlan] = {}
        self._plan_made: dict[str, float] = {}  # container id -> time.monotonic() of its plan
        self._orphans_offered = False
        self._notice_text: str | None = None  # what #notice shows
        self._panel_pending = False  # the panel is to follow the selection after a frame
        self._typing_timer: Any = None  # ... or when the filter's typing pauses
        # Verdicts first: secondary work waits for the first classification of the list.
        self._list_loaded = False
        self._classify_pending = False
        self._secondary_started = False
        self._secondary_ever = False
        self._secondary_timer: Any = None
        self.engine_state = "connecting"
        self.engine_error: DhituiError | None = None
        # What last happened to the connection, for the panel ("lost at…", "back at…").
        self.engine_history: str | None = None
        self._lost_at: float | None = None  # time.monotonic() when the engine went away
        self.caps: Any = None
        self._stop = threading.Event()
        self._container_checks: dict[str, list[Any]] = {}
        self._details_timer: Any = None
        self._hold = KeyHold()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Notifications quote engine text (names, commands, errors): shown literally, never
        as markup, and without control sequences, unless a caller opts in."""
        super().notify(clean(message), title=clean(title, keep_newlines=False),
                       severity=severity, timeout=timeout, markup=markup)

    # ---- keys: typeahead (see ui/typeahead.py)
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The list's keys act on the list only: not while a modal screen is up (priority
        bindings would otherwise reach past it) nor while the filter box is being typed in
        (a `/` there is text). False also hides them from the footer meanwhile."""
        if keys.opening(keys.MAIN, action) is None or action == "command_palette":
            return True
        return self.screen is self.screen_stack[0] and not isinstance(self.focused, Input)

    async def on_event(self, event: events.Event) -> None:
        if self._hold.wants(event):
            if self._hold.expired():
                self._drop_held_keys()
            else:
                self._hold.keep(event)  # type: ignore[arg-type]
                return
        elif isinstance(event, events.Key) and not event.is_forwarded:
            self._maybe_hold_after(event.key)
        await super().on_event(event)

    def _maybe_hold_after(self, key: str) -> None:
        """Before a key that opens a screen is dispatched: hold the keys after it."""
        for entry in keys.MAIN:
            if (entry.opens == "screen" and key in entry.keys.split(",")
                    and self.check_action(entry.action, ())):
                self._hold.begin(len(self.screen_stack))
                self.set_timer(HOLD_LIMIT + 0.1, self._hold_timed_out)
                return

    async def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if not self._hold.active:
            return
        try:
            screen = event.widget.screen
        except NoScreen:
            return  # focused and gone again
        if screen in self.screen_stack and self._hold.opened(
                self.screen_stack.index(screen) + 1):
            # As if they had just arrived: one of them may open yet another screen, and
            # holds the rest again.
            for held in self._hold.end():
                await self.on_event(held)

    def _drop_held_keys(self) -> None:
        """The screen the keys were typed for did not open."""
        if self._hold.active:
            self._hold.end()

    @while_mounted
    def _hold_timed_out(self) -> None:
        if self._hold.expired():
            self._drop_held_keys()

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

    def on_mount(self) -> None:
        # The key bar comes right after the first frame: building its dozen key widgets
        # (~50 ms) would otherwise delay the list (docs/benchmarks.md).
        self.call_after_refresh(self._mount_footer)
        self.query_one("#filter", Input).display = False
        self.table.focus()
        self._show_engine()
        self._show_selected()
        self._show_notice("Connecting to the engine…")
        self.run_engine()
        self.set_interval(SAFETY_NET_SECONDS, self._safety_net)

    def on_unmount(self) -> None:
        self._stop.set()
        self.backend.stop_events()

    # ---- workers (threads; results come back as messages)
    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def run_engine(self) -> None:
        """Connect, list, then follow events until the app stops; ride out engine restarts."""
        while not self._stop.is_set():
            try:
                self.backend.connect()
                events = self.backend.open_events()
                show_all = self.show_all
                self.post_message(ContainersLoaded(self.backend.containers(all=show_all),
                                                   all=show_all))
                self.post_message(EngineConnected(self.backend.endpoint))
                self.backend.follow_events(
                    events, lambda ch: self.post_message(ContainerChanged(ch))
                )
                return  # stop_events() was called: the app is closing
            except EngineUnavailable as exc:
                if self._stop.is_set():
                    return
                self.post_message(EngineLost(exc))
                if not self.backend.wait_until_back(self._stop):
                    return
            except DhituiError as exc:
                self.post_message(EngineFailed(exc))
                return

    @work(thread=True, group="caps", exit_on_error=False)
    def probe_capabilities(self) -> None:
        try:
            self.post_message(CapabilitiesReady(self.backend.capabilities()))
        except DhituiError:
            pass  # the engine worker reports connection problems

    @work(thread=True, group="classify", exit_on_error=False)
    def classify(self, summaries: list[ContainerSummary]) -> None:
        try:
            self.backend.classify(
                summaries,
                lambda batch: self.post_message(Classified(batch)),
                on_gone=lambda cid: self.post_message(
                    ContainerChanged(_gone(cid))
                ),
            )
        except DhituiError:
            pass  # the engine worker notices and reconnects
        finally:
            self.post_message(ClassifyFinished())

    @work(thread=True, group="diagnostics", exclusive=True, exit_on_error=False)
    def run_diagnostics(self, error: DhituiError | None = None) -> None:
        checks = []
        try:
            checks += self.backend.host_checks(error)
            if error is None:
                checks += self.backend.engine_checks()
        except DhituiError:
            pass  # the engine went away meanwhile; the engine worker says so
        self.post_message(HostChecksReady(checks))

    @work(thread=True, group="confirm", exclusive=True, exit_on_error=False)
    def confirm_classification(self, container_id: str) -> None:
        """The row was classified from the list and its image: now that someone looks, read
        the container's own user (the table shows the image's until then)."""
        try:
            self.post_message(Classified([self.backend.classify_one(container_id)]))
        except DhituiError:
            pass

    @work(thread=True, group="details", exclusive=True, exit_on_error=False)
    def check_container(self, container_id: str) -> None:
        try:
            plan, checks = self.backend.container_details(container_id)
        except DhituiError:
            return
        self.post_message(ContainerChecksReady(container_id, checks, plan))

    @work(thread=True, group="plan", exclusive=True, exit_on_error=False)
    def make_plan(self, container_id: str, purpose: str, strategy: str = "auto",
                  view: str | None = None) -> None:
        try:
            plan = self.backend.plan(container_id, strategy, view)
        except DhituiError as exc:
            self.call_from_thread(self._drop_held_keys)
            self.call_from_thread(self.notify, exc.message, severity="error")
            return
        self.post_message(PlanReady(container_id, plan, purpose))  # type: ignore[arg-type]

    @work(thread=True, group="orphans", exclusive=True, exit_on_error=False)
    def look_for_orphans(self) -> None:
        try:
            orphans = self.backend.orphans()
        except DhituiError:
            return
        if orphans:
            self.post_message(OrphansFound(orphans))

    @work(thread=True, group="orphans", exclusive=True, exit_on_error=False)
    def remove_orphans(self, sidecars: list[Any]) -> None:
        try:
            results = self.backend.remove_orphans(sidecars)
        except DhituiError as exc:
            self.call_from_thread(self.notify, exc.message, severity="error")
            return
        failed = [r for r in results if not r.removed]
        done = len(results) - len(failed)
        text = f"Removed {done} orphan sidecar{'s' if done != 1 else ''}."
        if failed:
            text += f" {len(failed)} could not be removed: {failed[0].error}"
        self.call_from_thread(self.notify, text, severity="warning" if failed else "information")

    @work(thread=True, group="relist", exclusive=True, exit_on_error=False)
    def relist(self) -> None:
        try:
            show_all = self.show_all
            self.post_message(ContainersLoaded(self.backend.containers(all=show_all),
                                               all=show_all))
        except DhituiError:
            pass

    # ---- messages from workers
    @while_mounted
    def on_engine_connected(self, message: EngineConnected) -> None:
        self.engine_state = "connected"
        self.engine_error = None
        self.sub_title = message.endpoint.url
        self._show_engine()
        self._update_notice()
        self._container_checks.clear()
        self._plans.clear()
        self._secondary_started = False
        # Secondary work starts once the list is on screen: its threads would otherwise
        # compete with the first frame for the interpreter (see docs/benchmarks.md).
        self.call_after_refresh(self._after_connect)

    async def _mount_footer(self) -> None:
        await self.mount(Footer())
        # A Footer shows keys from the first bindings update after it subscribed to them;
        # focus may have settled before it was mounted.
        self.screen.refresh_bindings()

    @while_mounted
    def _after_connect(self) -> None:
        # Only at start-up, when the whole list waits for its verdicts; after a reconnect the
        # engine section (what answers now) comes first.
        if not self._secondary_ever and (self._classify_pending or not self._list_loaded):
            if self._secondary_timer is None:
                self._secondary_timer = self.set_timer(SECONDARY_MAX_WAIT,
                                                       self._start_secondary)
            return
        self._start_secondary()

    @while_mounted
    def _start_secondary(self) -> None:
        if self._secondary_timer is not None:
            self._secondary_timer.stop()
            self._secondary_timer = None
        if self._secondary_started or self.engine_state != "connected":
            return
        self._secondary_started = self._secondary_ever = True
        self._show_selected()  # the selected row's checks, held back until now
        self.probe_capabilities()
        self.run_diagnostics()
        if not self._orphans_offered:
            self._orphans_offered = True
            self.look_for_orphans()

    def _engine_back(self, before: set[str], after: set[str]) -> None:
        """The engine answers again and the list was re-read: say what changed meanwhile."""
        assert self._lost_at is not None
        away = time.monotonic() - self._lost_at
        self._lost_at = None
        self.engine_history = (
            f"back at {render.clock(time.time())} after {away:.0f}s away; the list was "
            f"re-read: {len(before & after)} kept, {len(before - after)} gone, "
            f"{len(after - before)} new")
        self._show_engine()

    @while_mounted
    def on_engine_lost(self, message: EngineLost) -> None:
        self.engine_state = "unreachable — waiting for it to come back"
        self.engine_error = message.error
        if self._lost_at is None and self.backend.freshness.as_of is not None:
            # It answered before (an engine never reached was not "lost").
            self._lost_at = time.monotonic()
            self.engine_history = (f"lost at {render.clock(time.time())}; "
                                   f"{self.table.row_count} container(s) shown as last seen")
        self._show_engine()
        seen = self.backend.freshness.as_of
        self.table.show_last_seen(seen)
        self._show_selected()
        rows = (f" The list is what the engine said at {render.clock(seen)}." if seen is not None
                and self.table.rows_by_id else "")
        self._show_notice(f"No engine: {message.error.message}. Retrying…{rows}")
        self.run_diagnostics(message.error)

    @while_mounted
    def on_engine_failed(self, message: EngineFailed) -> None:
        self.engine_state = "not configured"
        self.engine_error = message.error
        self._show_engine()
        self._show_notice(f"{message.error.message}")

    @while_mounted
    def on_capabilities_ready(self, message: CapabilitiesReady) -> None:
        self.caps = message.caps
        self._show_engine()

    @while_mounted
    def on_host_checks_ready(self, message: HostChecksReady) -> None:
        self.panel.show("diagnostics", render.checks_block(message.checks, show_ok=False))

    @while_mounted
    def on_container_checks_ready(self, message: ContainerChecksReady) -> None:
        self._container_checks[message.container_id] = message.checks
        self._plans[message.container_id] = message.plan
        self._plan_made[message.container_id] = time.monotonic()
        if message.container_id == self.table.selected_id:
            self._show_selected()

    @while_mounted
    def on_orphans_found(self, message: OrphansFound) -> None:
        from dhitui.ui.screens.orphans import OrphansScreen

        def answer(remove: bool | None) -> None:
            if remove:
                self.remove_orphans(message.sidecars)

        self.push_screen(OrphansScreen(message.sidecars), answer)

    @while_mounted
    def on_plan_ready(self, message: PlanReady) -> None:
        plan = message.plan
        if message.purpose == "copy":
            self._copy(plan)
        elif message.purpose == "pick":
            from dhitui.ui.screens.strategy_picker import StrategyPicker

            def picked(choice: str | None) -> None:
                if choice:
                    name, _, view = choice.partition(" ")
                    self.make_plan(message.container_id, "run", name, view or None)

            self.push_screen(StrategyPicker(plan), picked)
        else:
            self._start_session(message.container_id, plan)

    @while_mounted
    def on_containers_loaded(self, message: ContainersLoaded) -> None:
        if message.all != self.show_all:
            # Listed for the other view (`a` was pressed meanwhile): the list for this one
            # is on its way (relist); this one would take its stopped containers away.
            return
        before = set(self.table.rows_by_id)
        self.table.show_last_seen(None)
        fresh = self.table.replace_all(message.summaries)
        if self._lost_at is not None:
            self._engine_back(before, {s.id for s in message.summaries})
        self._update_notice()
        self._list_loaded = True
        if not fresh and self._secondary_timer is not None:
            self._start_secondary()
        if fresh:
            self._classify_pending = True
            # In display order, so the rows on screen get their verdicts first.
            order = {cid: i for i, cid in enumerate(self.table.visible_ids())}
            fresh.sort(key=lambda s: order.get(s.id, len(order)))
            self.call_after_refresh(self.classify, fresh)
        self._show_selected()

    @while_mounted
    def on_container_changed(self, message: ContainerChanged) -> None:
        change = message.change
        s = change.summary
        if s is None or (not self.show_all and not s.active):
            self.table.remove_container(change.container_id)
        else:
            self.table.upsert_container(s)
            row = self.table.rows_by_id.get(s.id)
            if change.reclassify or (row is not None and row.classification is None):
                self.classify([s])
        self._update_notice()
        self._container_checks.pop(change.container_id, None)
        self._plans.pop(change.container_id, None)
        if change.container_id == self.table.selected_id or s is None:
            self._show_selected()

    @while_mounted
    def on_classify_finished(self, message: ClassifyFinished) -> None:
        if self._classify_pending:
            self._classify_pending = False
            if self._secondary_timer is not None:
                self._start_secondary()

    @while_mounted
    def on_classified(self, message: Classified) -> None:
        self.table.set_classifications(message.results)
        selected = self.table.selected_id
        if any(c.container_id == selected for c in message.results):
            self._show_selected()

    @on(ContainerTable.Highlighted)
    @while_mounted
    def _row_highlighted(self, event: ContainerTable.Highlighted) -> None:
        # After the next frame: the list shows the key's effect first, then the panel (whose
        # update lays the screen out again) follows the selection, once for a burst of keys;
        # while a filter is typed, once the typing pauses.
        if self.query_one("#filter", Input).has_focus:
            if self._typing_timer is not None:
                self._typing_timer.stop()
            self._typing_timer = self.set_timer(TYPING_PAUSE, self._follow_selection)
        elif not self._panel_pending:
            self._panel_pending = True
            self.call_after_refresh(self._follow_selection)

    @while_mounted
    def _follow_selection(self) -> None:
        self._panel_pending = False
        self._typing_timer = None
        self._show_selected()

    @on(ContainerTable.Selected)
    def _row_selected(self, event: ContainerTable.Selected) -> None:
        self.action_debug()

    # ---- filter
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
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
        box = self.query_one("#filter", Input)
        # Only on the list's own screen: the `esc` that closes a view (logs, inspect, help)
        # leaves the filter as it was.
        if event.key == "escape" and box.display and self.screen is box.screen:
            box.value = ""
            box.display = False
            self.table.focus()
            event.stop()

    # ---- actions
    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.notify("Showing all containers" if self.show_all else "Showing running containers")
        self.relist()

    def action_refresh(self) -> None:
        """Forget what is cached and look again (a reconnect attempt if the engine is down)."""
        if self.engine_state == "connected":
            for row in self.table.rows_by_id.values():
                self.backend.classifier.facts.forget_image(row.summary.image_id)
            self.table.replace_all([])
            self.relist()
            self.probe_capabilities()
        self.notify("Refreshing…", timeout=2)

    def action_toggle_panel(self) -> None:
        panel = self.panel
        panel.display = not panel.display
        if not panel.display:
            self.notify("Side panel hidden: p brings it back", timeout=3)

    def action_help(self) -> None:
        from dhitui.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_inspect(self) -> None:
        row = self.table.selected
        if row is not None:
            self._inspect(row.summary.id, row.summary.name)
        else:
            self._drop_held_keys()

    @work(thread=True, group="view", exclusive=True, exit_on_error=False)
    def _inspect(self, container_id: str, name: str) -> None:
        import json

        try:
            data = self.backend.inspect(container_id)
        except DhituiError as exc:
            self.call_from_thread(self._drop_held_keys)
            self.call_from_thread(self.notify, exc.message, severity="error")
            return
        self.call_from_thread(self._view, f"inspect {name}", json.dumps(data, indent=2))

    def action_logs(self) -> None:
        row = self.table.selected
        if row is None:
            self._drop_held_keys()
            return
        from dhitui.ui.screens.logs import LogsScreen

        self.push_screen(LogsScreen(self.backend, row.summary.id, row.summary.name))

    def _view(self, title: str, text: str) -> None:
        from dhitui.ui.screens.text_view import TextViewScreen

        self.push_screen(TextViewScreen(title, text))

    # ---- debug sessions
    def action_debug(self) -> None:
        """Debug the selected container with the best strategy: the plan the panel shows
        when it is recent (see PLAN_REUSE_SECONDS), else a fresh one."""
        if (cid := self.table.selected_id) is None:
            return
        plan = self._plans.get(cid)
        made = self._plan_made.get(cid, float("-inf"))
        if (plan is not None and plan.runnable and self.engine_state == "connected"
                and time.monotonic() - made < PLAN_REUSE_SECONDS):
            self._start_session(cid, plan)
        else:
            self.make_plan(cid, "run", self.backend.strategy)

    def action_choose_strategy(self) -> None:
        if (cid := self.table.selected_id) is not None:
            self.make_plan(cid, "pick")
        else:
            self._drop_held_keys()

    def action_copy_command(self) -> None:
        cid = self.table.selected_id
        if cid is None:
            return
        plan = self._plans.get(cid)
        if plan is not None:
            self._copy(plan)
        else:
            self.make_plan(cid, "copy", self.backend.strategy)

    def _copy(self, plan: SessionPlan) -> None:
        if not plan.runnable:
            self.notify(plan.problem or "no strategy can be used", title="Nothing to copy",
                        severity="warning")
            return
        self.copy_to_clipboard(plan.command_line)
        self.notify(one_line(plan.command_line), title="Copied the debug command", timeout=8)

    def _start_session(self, container_id: str, plan: SessionPlan) -> None:
        if not plan.runnable:
            self.notify(plan.problem or "no strategy can be used", title="Cannot debug",
                        severity="error", timeout=10)
            return
        try:
            result = self.session_runner(plan)
        except DhituiError as exc:
            self.notify(exc.message, title="Debug session failed", severity="error")
            return
        clean_end = result.exit_status in (0, 130) and not result.cleanup_error
        self.notify(result.message, title=f"{result.strategy} session",
                    severity="information" if clean_end else "warning", timeout=10)
        self._container_checks.pop(container_id, None)
        self._plans.pop(container_id, None)
        self.relist()
        self._show_selected()

    def _run_in_terminal(self, plan: SessionPlan) -> SessionResult:
        """Hand the terminal to the session: say what runs, run it, come back (the runner
        says the exact command once it is known)."""
        from dhitui.sessions import describe_start

        with self.suspend():
            _say(describe_start(plan))
            result = self.backend.run_session(plan, progress=_say)
            _say(result.message)
        return result

    # ---- command palette
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for entry in keys.MAIN:
            if entry.title:
                yield SystemCommand(entry.title, _first_upper(entry.description),
                                    getattr(self, f"action_{entry.action}"))

    # ---- view helpers
    @while_mounted
    def _safety_net(self) -> None:
        if self.engine_state == "connected":
            self.relist()

    def _show_engine(self) -> None:
        endpoint = None
        try:
            endpoint = self.backend.endpoint
        except DhituiError:
            pass
        err = self.engine_error
        self.panel.show("engine", render.engine_section(
            endpoint, self.caps, state=self.engine_state,
            error=err.message if err else None, hint=err.hint if err else None,
            history=self.engine_history,
        ))

    def _show_selected(self) -> None:
        row = self.table.selected
        if row is None:
            self.panel.show("container", render.txt("No container selected.", "dim"))
            return
        cid = row.summary.id
        checks = self._container_checks.get(cid)
        self.panel.show("container", render.container_section(
            row.summary, row.classification, checks, self._plans.get(cid),
            last_seen=self.table.last_seen))
        c = row.classification
        unconfirmed = c is not None and not c.inspected
        if (checks is None or unconfirmed) and self.engine_state == "connected":
            if self._details_timer is not None:
                self._details_timer.stop()
            self._details_timer = self.set_timer(DETAILS_DELAY, self._check_selected)

    @while_mounted
    def _check_selected(self) -> None:
        row = self.table.selected
        if row is None or not self._secondary_started:
            return  # _start_secondary shows the selection again
        cid, c = row.summary.id, row.classification
        if c is not None and not c.inspected:
            self.confirm_classification(cid)
        if cid not in self._container_checks:
            self.check_container(cid)

    def _show_notice(self, text: str) -> None:
        if text == self._notice_text:
            return  # an update would lay the screen out again for nothing
        self._notice_text = text
        notice = self.query_one("#notice", Static)
        notice.update(text)
        notice.display = bool(text)

    def _update_notice(self) -> None:
        t = self.table
        if self.engine_state != "connected":
            return
        if not t.rows_by_id:
            self._show_notice("No containers are running." if not self.show_all
                              else "No containers.")
        elif t.row_count == 0:
            self._show_notice(f"No container matches {t.filter_text!r}.")
        else:
            self._show_notice("")


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _say(text: str) -> None:
    try:
        sys.stderr.write(f"dhitui: {clean(text, keep_newlines=False)}\n")
        sys.stderr.flush()
    except OSError:
        pass  # the terminal hung up: the session's own end is reported in the app


def _gone(container_id: str) -> Any:
    from dhitui.live import ContainerChange

    return ContainerChange(container_id, None, reclassify=False)
