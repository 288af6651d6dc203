"""The app's link to its engines: one set of workers per engine session of the fleet
(connect, list, follow events, classify, checks, orphans), the messages they post, and the
side panel's view of them.

Every engine call runs in a thread worker named for its engine session and comes back as a
message naming that session (ui/messages.py). A session's event worker rides out engine
restarts: when the engine goes away it waits for it to return and re-lists, so the app
survives daemon restarts. A slow timer re-lists as a safety net only.

Why one module of this size: each worker and the handler of the message it posts are read
together, and the start-up ordering (verdicts first, then the secondary work) spans both.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Group
from textual import on

from dhitui.errors import DhituiError, EngineUnavailable
from dhitui.live import ContainerChange, EngineSession, Fleet
from dhitui.models import ContainerKey, ContainerSummary
from dhitui.ui import render
from dhitui.ui.app_shell import AppShell, while_mounted
from dhitui.ui.links import EngineLink, LinkState
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
)
from dhitui.ui.widgets.container_table import ContainerTable

if TYPE_CHECKING:
    from dhitui.sessions import Sidecar

SAFETY_NET_SECONDS = 60.0
DETAILS_DELAY = 0.15  # let the cursor settle before checking the selected container
TYPING_PAUSE = 0.12  # while a filter is typed, the panel follows the selection after this
# At start-up the panel's checks, the capabilities probe and the orphan check wait for the
# list's first classification (they compete with it for the interpreter and the engine), at
# most this long.
SECONDARY_MAX_WAIT = 3.0


class EngineLinkApp(AppShell):
    """The fleet's engines, followed; the list and the panel kept in line with them."""

    def __init__(self, fleet: Fleet | EngineSession, *, show_all: bool = False) -> None:
        super().__init__()
        self.fleet = Fleet.of(fleet)
        self.links = {s.name: EngineLink(s, self._link_changed) for s in self.fleet}
        self.show_all = show_all
        self._stop = threading.Event()
        self._panel_pending = False  # the panel is to follow the selection after a frame
        self._typing_timer: Any = None  # ... or when the filter's typing pauses
        self._engine_shown: str | None = None  # the engine the panel shows in full
        self._details_timer: Any = None

    def link_of(self, key: ContainerKey) -> EngineLink:
        return self.links[key.engine]

    def _spawn(self, engine: str, group: str, fn: Callable[..., None], *args: Any,
               exclusive: bool = True) -> None:
        """Run `fn(engine, *args)` in a thread worker of `engine`'s session (an exclusive
        group cancels its own previous worker for that session only)."""
        self.run_worker(functools.partial(fn, engine, *args), name=group,
                        group=f"{group}:{engine}", thread=True, exclusive=exclusive,
                        exit_on_error=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.show_engines(len(self.fleet) > 1)
        self._show_engine()
        self._show_selected()
        self._show_notice("Connecting to the engine…")
        for name in self.links:
            self._spawn(name, "engine", self._run_engine)
        self.set_interval(SAFETY_NET_SECONDS, self._safety_net)

    def on_unmount(self) -> None:
        self._stop.set()
        self.fleet.stop_events()

    # ---- workers (threads; results come back as messages)
    def _run_engine(self, engine: str) -> None:
        """Connect, list, then follow events until the app stops; ride out engine restarts."""
        session = self.fleet[engine]
        while not self._stop.is_set():
            try:
                session.connect()
                events = session.open_events()
                show_all = self.show_all
                self.post_message(ContainersLoaded(engine, session.containers(all=show_all),
                                                   all=show_all))
                self.post_message(EngineConnected(engine, session.endpoint))
                session.follow_events(
                    events, lambda ch: self.post_message(ContainerChanged(engine, ch)))
                return  # stop_events() was called: the app is closing
            except EngineUnavailable as exc:
                if self._stop.is_set():
                    return
                self.post_message(EngineLost(engine, exc))
                if not session.wait_until_back(self._stop):
                    return
            except DhituiError as exc:
                self.post_message(EngineFailed(engine, exc))
                return

    def _probe_capabilities(self, engine: str) -> None:
        try:
            self.post_message(CapabilitiesReady(engine, self.fleet[engine].capabilities()))
        except DhituiError:
            pass  # the engine worker reports connection problems

    def classify(self, engine: str, summaries: list[ContainerSummary]) -> None:
        self._spawn(engine, "classify", self._classify, summaries, exclusive=False)

    def _classify(self, engine: str, summaries: list[ContainerSummary]) -> None:
        try:
            self.fleet[engine].classify(
                summaries,
                lambda batch: self.post_message(Classified(engine, batch)),
                on_gone=lambda cid: self.post_message(ContainerChanged(
                    engine, ContainerChange(cid, None, reclassify=False))),
            )
        except DhituiError:
            pass  # the engine worker notices and reconnects
        finally:
            self.post_message(ClassifyFinished(engine))

    def run_diagnostics(self, engine: str, error: DhituiError | None = None) -> None:
        self._spawn(engine, "diagnostics", self._run_diagnostics, error)

    def _run_diagnostics(self, engine: str, error: DhituiError | None) -> None:
        session = self.fleet[engine]
        checks = []
        try:
            checks += session.host_checks(error)
            if error is None:
                checks += session.engine_checks()
        except DhituiError:
            pass  # the engine went away meanwhile; the engine worker says so
        self.post_message(HostChecksReady(engine, checks))

    def _confirm_classification(self, engine: str, container_id: str) -> None:
        """The row was classified from the list and its image: now that someone looks, read
        the container's own user (the table shows the image's until then)."""
        try:
            self.post_message(Classified(engine, [self.fleet[engine].classify_one(
                container_id)]))
        except DhituiError:
            pass

    def _check_container(self, engine: str, container_id: str) -> None:
        try:
            plan, checks = self.fleet[engine].container_details(container_id)
        except DhituiError:
            return
        self.post_message(ContainerChecksReady(ContainerKey(engine, container_id), checks,
                                               plan))

    def _look_for_orphans(self, engine: str) -> None:
        try:
            orphans = self.fleet[engine].orphans()
        except DhituiError:
            return
        if orphans:
            self.post_message(OrphansFound(engine, orphans))

    def remove_orphans(self, engine: str, sidecars: list[Sidecar]) -> None:
        self._spawn(engine, "orphans", self._remove_orphans, sidecars)

    def _remove_orphans(self, engine: str, sidecars: list[Sidecar]) -> None:
        try:
            results = self.fleet[engine].remove_orphans(sidecars)
        except DhituiError as exc:
            self.call_from_thread(self.notify, exc.message, severity="error")
            return
        failed = [r for r in results if not r.removed]
        done = len(results) - len(failed)
        text = f"Removed {done} orphan sidecar{'s' if done != 1 else ''}."
        if failed:
            text += f" {len(failed)} could not be removed: {failed[0].error}"
        self.call_from_thread(self.notify, text, severity="warning" if failed else "information")

    def relist(self, engine: str) -> None:
        self._spawn(engine, "relist", self._relist)

    def _relist(self, engine: str) -> None:
        try:
            show_all = self.show_all
            self.post_message(ContainersLoaded(engine, self.fleet[engine].containers(
                all=show_all), all=show_all))
        except DhituiError:
            pass

    # ---- messages from workers
    def _link_changed(self, link: EngineLink) -> None:
        """An engine's state changed: the engine section says so."""
        self._show_engine()

    @while_mounted
    def on_engine_connected(self, message: EngineConnected) -> None:
        link = self.links[message.engine]
        link.set_state(LinkState.CONNECTED)
        self.sub_title = (message.endpoint.url if len(self.links) == 1
                          else ", ".join(self.links))
        self._update_notice()
        link.session.details.clear()
        link.secondary_started = False
        # Secondary work starts once the list is on screen: its threads would otherwise
        # compete with the first frame for the interpreter (see docs/benchmarks.md).
        self.call_after_refresh(self._after_connect, message.engine)

    @while_mounted
    def _after_connect(self, engine: str) -> None:
        link = self.links[engine]
        # Only at start-up, when the whole list waits for its verdicts; after a reconnect the
        # engine section (what answers now) comes first.
        if not link.secondary_ever and (link.classify_pending or not link.list_loaded):
            if link.secondary_timer is None:
                link.secondary_timer = self.set_timer(
                    SECONDARY_MAX_WAIT, functools.partial(self._start_secondary, engine))
            return
        self._start_secondary(engine)

    @while_mounted
    def _start_secondary(self, engine: str) -> None:
        link = self.links[engine]
        if link.secondary_timer is not None:
            link.secondary_timer.stop()
            link.secondary_timer = None
        if link.secondary_started or not link.connected:
            return
        link.secondary_started = link.secondary_ever = True
        self._show_selected()  # the selected row's checks, held back until now
        self._spawn(engine, "caps", self._probe_capabilities, exclusive=False)
        self.run_diagnostics(engine)
        if not link.orphans_offered:
            link.orphans_offered = True
            self._spawn(engine, "orphans", self._look_for_orphans)

    def _engine_back(self, link: EngineLink, before: set[str], after: set[str]) -> None:
        """The engine answers again and the list was re-read: say what changed meanwhile."""
        assert link.lost_at is not None
        away = time.monotonic() - link.lost_at
        link.lost_at = None
        link.history = (
            f"back at {render.clock(time.time())} after {away:.0f}s away; the list was "
            f"re-read: {len(before & after)} kept, {len(before - after)} gone, "
            f"{len(after - before)} new")
        self._show_engine()

    @while_mounted
    def on_engine_lost(self, message: EngineLost) -> None:
        link = self.links[message.engine]
        freshness = link.session.freshness
        if link.lost_at is None and freshness.as_of is not None:
            # It answered before (an engine never reached was not "lost").
            link.lost_at = time.monotonic()
            shown = sum(1 for k in self.table.rows if k.engine == link.name)
            link.history = (f"lost at {render.clock(time.time())}; "
                            f"{shown} container(s) shown as last seen")
        link.set_state(LinkState.UNREACHABLE, message.error)
        seen = freshness.as_of
        self.table.show_last_seen(seen)
        self._show_selected()
        rows = (f" The list is what the engine said at {render.clock(seen)}." if seen is not None
                and self.table.rows else "")
        self._show_notice(f"{self._engine_words(link)}{message.error.message}. "
                          f"Retrying…{rows}")
        self.run_diagnostics(message.engine, message.error)

    @while_mounted
    def on_engine_failed(self, message: EngineFailed) -> None:
        link = self.links[message.engine]
        link.set_state(LinkState.NOT_CONFIGURED, message.error)
        self._show_notice(f"{message.error.message}")

    def _engine_words(self, link: EngineLink) -> str:
        """How the notice names an engine that is not there."""
        return "No engine: " if len(self.links) == 1 else f"No engine {link.name}: "

    @while_mounted
    def on_capabilities_ready(self, message: CapabilitiesReady) -> None:
        self.links[message.engine].caps = message.caps
        self._show_engine()

    @while_mounted
    def on_host_checks_ready(self, message: HostChecksReady) -> None:
        self.links[message.engine].checks = message.checks
        if len(self.links) == 1:
            self.panel.show("diagnostics", render.checks_block(message.checks, show_ok=False))
            return
        # Several engines: each engine's checks under its name (what passes stays folded).
        blocks = []
        for link in self.links.values():
            if link.checks:
                blocks += [render.engine_line(link.name, None, None),
                           render.checks_block(link.checks, show_ok=False)]
        self.panel.show("diagnostics", Group(*blocks))

    @while_mounted
    def on_container_checks_ready(self, message: ContainerChecksReady) -> None:
        self.fleet.session_of(message.key).details.put(message.key.id, message.plan,
                                                       message.checks)
        if message.key == self.table.selected_key:
            self._show_selected()

    @while_mounted
    def on_orphans_found(self, message: OrphansFound) -> None:
        from dhitui.ui.screens.orphans import OrphansScreen

        def answer(remove: bool | None) -> None:
            if remove:
                self.remove_orphans(message.engine, message.sidecars)

        self.push_screen(OrphansScreen(message.sidecars), answer)

    @while_mounted
    def on_containers_loaded(self, message: ContainersLoaded) -> None:
        if message.all != self.show_all:
            # Listed for the other view (`a` was pressed meanwhile): the list for this one
            # is on its way (relist); this one would take its stopped containers away.
            return
        link = self.links[message.engine]
        before = {k.id for k in self.table.rows if k.engine == link.name}
        self.table.show_last_seen(None)
        fresh = self.table.replace_engine_rows(link.name, message.summaries)
        if link.lost_at is not None:
            self._engine_back(link, before, {s.id for s in message.summaries})
        self._update_notice()
        link.list_loaded = True
        if not fresh and link.secondary_timer is not None:
            self._start_secondary(link.name)
        if fresh:
            link.classify_pending = True
            # In display order, so the rows on screen get their verdicts first.
            order = {k.id: i for i, k in enumerate(self.table.visible_keys())
                     if k.engine == link.name}
            fresh.sort(key=lambda s: order.get(s.id, len(order)))
            self.call_after_refresh(self.classify, link.name, fresh)
        self._show_selected()

    @while_mounted
    def on_container_changed(self, message: ContainerChanged) -> None:
        change = message.change
        key = ContainerKey(message.engine, change.container_id)
        s = change.summary
        if s is None or (not self.show_all and not s.active):
            self.table.drop_row(key)
        else:
            self.table.upsert_row(message.engine, s)
            row = self.table.rows.get(key)
            if change.reclassify or (row is not None and row.classification is None):
                self.classify(message.engine, [s])
        self._update_notice()
        self.fleet.session_of(key).details.drop(key.id)
        if key == self.table.selected_key or s is None:
            self._show_selected()

    @while_mounted
    def on_classify_finished(self, message: ClassifyFinished) -> None:
        link = self.links[message.engine]
        if link.classify_pending:
            link.classify_pending = False
            if link.secondary_timer is not None:
                self._start_secondary(link.name)

    @while_mounted
    def on_classified(self, message: Classified) -> None:
        self.table.set_classifications(message.engine, message.results)
        selected = self.table.selected_key
        if selected is not None and selected.engine == message.engine and any(
                c.container_id == selected.id for c in message.results):
            self._show_selected()

    # ---- the panel follows the selection
    @on(ContainerTable.Highlighted)
    @while_mounted
    def _row_highlighted(self, event: ContainerTable.Highlighted) -> None:
        # After the next frame: the list shows the key's effect first, then the panel (whose
        # update lays the screen out again) follows the selection, once for a burst of keys;
        # while a filter is typed, once the typing pauses.
        if self.filter_box.has_focus:
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
        key = self.table.selected_key
        if len(self.links) > 1 and key is not None and key.engine != self._engine_shown:
            self._show_engine()  # the selected row's engine, in full

    @while_mounted
    def _safety_net(self) -> None:
        for link in self.links.values():
            if link.connected:
                self.relist(link.name)

    def _show_engine(self) -> None:
        """The engine section: in full for the selected row's engine (the first engine when
        no row is selected); with several engines, one line for each of the others."""
        key = self.table.selected_key
        shown = key.engine if key is not None and key.engine in self.links else \
            next(iter(self.links))
        self._engine_shown = shown
        link = self.links[shown]
        endpoint = None
        try:
            endpoint = link.session.endpoint
        except DhituiError:
            pass
        err = link.error
        section = render.engine_section(
            endpoint, link.caps, state=link.state.label,
            error=err.message if err else None, hint=err.hint if err else None,
            history=link.history,
        )
        if len(self.links) == 1:
            self.panel.show("engine", section)
            return
        others = [render.engine_line(other.name, other.state.label,
                                     other.error.message if other.error else None)
                  for other in self.links.values() if other.name != shown]
        self.panel.show("engine", Group(render.engine_line(shown, None, None), section,
                                        *others))

    def _show_selected(self) -> None:
        row = self.table.selected
        if row is None:
            self.panel.show("container", render.txt("No container selected.", "dim"))
            return
        link = self.link_of(row.key)
        details = link.session.details.get(row.key.id)
        self.panel.show("container", render.container_section(
            row.summary, row.classification, details.checks if details else None,
            details.plan if details else None, last_seen=self.table.last_seen))
        c = row.classification
        unconfirmed = c is not None and not c.inspected
        if (details is None or unconfirmed) and link.connected:
            if self._details_timer is not None:
                self._details_timer.stop()
            self._details_timer = self.set_timer(DETAILS_DELAY, self._check_selected)

    @while_mounted
    def _check_selected(self) -> None:
        row = self.table.selected
        if row is None or not self.link_of(row.key).secondary_started:
            return  # _start_secondary shows the selection again
        engine, cid, c = row.key.engine, row.key.id, row.classification
        if c is not None and not c.inspected:
            self._spawn(engine, "confirm", self._confirm_classification, cid)
        if cid not in self.fleet[engine].details:
            self._spawn(engine, "details", self._check_container, cid)

    def _update_notice(self) -> None:
        t = self.table
        if not any(link.connected for link in self.links.values()):
            return
        if not t.rows:
            self._show_notice("No containers are running." if not self.show_all
                              else "No containers.")
        elif t.row_count == 0:
            self._show_notice(f"No container matches {t.filter_text!r}.")
        else:
            self._show_notice("")
