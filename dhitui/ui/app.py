"""The dhitui application: the container browser with its side panel.

The app owns no engine logic. A `Fleet` of engine sessions (dhitui.live), or one
`EngineSession`, is injected. The app is built in layers, each a room of its own:
`app_shell` (the widgets, the filter, the notice), `engine_link` (the workers that follow
each engine, their messages, the panel), `session_launch` (the debug keys), and this module
(typeahead, the views behind the keys, the command palette).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import SystemCommand
from textual.dom import NoScreen
from textual.screen import Screen
from textual.widgets import Input

from dhitui.errors import DhituiError
from dhitui.live import EngineSession, Fleet
from dhitui.ui import keys, typeahead
from dhitui.ui.app_shell import while_mounted
from dhitui.ui.session_launch import SessionLaunchApp, SessionRunner
from dhitui.ui.typeahead import KeyHold

if TYPE_CHECKING:
    from dhitui.live import ContainerDetails
    from dhitui.models import ContainerKey

HOLD_LIMIT = typeahead.HOLD_LIMIT


class DhituiApp(SessionLaunchApp):
    """Browse containers, see which are hardened and why, debug any of them with one key."""

    def __init__(
        self,
        fleet: Fleet | EngineSession,
        *,
        show_all: bool = False,
        session_runner: SessionRunner | None = None,
    ) -> None:
        super().__init__(fleet, show_all=show_all, session_runner=session_runner)
        self._hold = KeyHold()

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

    # ---- actions
    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.notify("Showing all containers" if self.show_all else "Showing running containers")
        for name in self.links:
            self.relist(name)

    def action_refresh(self) -> None:
        """Forget what is cached and look again (a reconnect attempt if the engine is down)."""
        for link in self.links.values():
            if not link.connected:
                continue
            for key, row in list(self.table.rows.items()):
                if key.engine == link.name:
                    link.session.classifier.facts.forget_image(row.summary.image_id)
            self.table.replace_engine_rows(link.name, [])
            self.relist(link.name)
            self._spawn(link.name, "caps", self._probe_capabilities, exclusive=False)
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
            self._spawn(row.key.engine, "view", self._inspect, row.key.id, row.summary.name)
        else:
            self._drop_held_keys()

    def _inspect(self, engine: str, container_id: str, name: str) -> None:
        import json

        try:
            data = self.fleet[engine].inspect(container_id)
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

        self.push_screen(LogsScreen(self.fleet.session_of(row.key), row.key.id,
                                    row.summary.name))

    def _view(self, title: str, text: str) -> None:
        from dhitui.ui.screens.text_view import TextViewScreen

        self.push_screen(TextViewScreen(title, text))

    def details_of(self, key: ContainerKey) -> ContainerDetails | None:
        """The panel's plan and checks for a container (None until worked out)."""
        return self.fleet.session_of(key).details.get(key.id)

    # ---- command palette
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for entry in keys.MAIN:
            if entry.title:
                yield SystemCommand(entry.title, _first_upper(entry.description),
                                    getattr(self, f"action_{entry.action}"))


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]
