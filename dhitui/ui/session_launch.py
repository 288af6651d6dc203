"""Opening a debug session from the list: the plan (the panel's, when recent, or a fresh
one), the strategy picker, copying the command, and handing the terminal over."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on

from dhitui.errors import DhituiError
from dhitui.live import EngineSession, Fleet
from dhitui.models import ContainerKey
from dhitui.strategy_registry import AUTO
from dhitui.textsafe import clean, one_line
from dhitui.ui.app_shell import while_mounted
from dhitui.ui.engine_link import EngineLinkApp
from dhitui.ui.messages import PlanReady
from dhitui.ui.widgets.container_table import ContainerTable

if TYPE_CHECKING:
    from dhitui.sessions import SessionPlan, SessionResult

# `enter` runs the plan the panel shows when it is this recent: an event about the container
# (start, stop, pause, die…) or a reconnect drops it, so within this bound it is as fresh as
# the list; older ones are made again (the toolbox image or the engine may have changed).
PLAN_REUSE_SECONDS = 30.0

SessionRunner = Callable[["SessionPlan"], "SessionResult"]


class SessionLaunchApp(EngineLinkApp):
    """The list's debug keys."""

    def __init__(self, fleet: Fleet | EngineSession, *, show_all: bool = False,
                 session_runner: SessionRunner | None = None) -> None:
        super().__init__(fleet, show_all=show_all)
        # How a debug session runs: by default the app suspends and hands the terminal over
        # (tests observe this call; Textual's headless driver cannot suspend).
        self.session_runner = session_runner or self._run_in_terminal
        self._session_running: EngineSession | None = None  # whose session _run_in_terminal runs

    def _drop_held_keys(self) -> None:
        """The screen the keys were typed for did not open (the app's typeahead)."""

    @on(ContainerTable.Selected)
    def _row_selected(self, event: ContainerTable.Selected) -> None:
        self.action_debug()

    def make_plan(self, key: ContainerKey, purpose: str, strategy: str = AUTO,
                  view: str | None = None) -> None:
        self._spawn(key.engine, "plan", self._make_plan, key.id, purpose, strategy, view)

    def _make_plan(self, engine: str, container_id: str, purpose: str, strategy: str,
                   view: str | None) -> None:
        try:
            plan = self.fleet[engine].plan(container_id, strategy, view)
        except DhituiError as exc:
            self.call_from_thread(self._drop_held_keys)
            self.call_from_thread(self.notify, exc.message, severity="error")
            return
        self.post_message(PlanReady(ContainerKey(engine, container_id), plan,
                                    purpose))  # type: ignore[arg-type]

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
                    self.make_plan(message.key, "run", name, view or None)

            self.push_screen(StrategyPicker(plan), picked)
        else:
            self._start_session(message.key, plan)

    # ---- actions
    def action_debug(self) -> None:
        """Debug the selected container with the best strategy: the plan the panel shows
        when it is recent (see PLAN_REUSE_SECONDS), else a fresh one."""
        if (key := self.table.selected_key) is None:
            return
        link = self.link_of(key)
        plan = link.session.details.fresh_plan(key.id, PLAN_REUSE_SECONDS)
        if plan is not None and plan.runnable and link.connected:
            self._start_session(key, plan)
        else:
            self.make_plan(key, "run", link.session.strategy)

    def action_choose_strategy(self) -> None:
        if (key := self.table.selected_key) is not None:
            self.make_plan(key, "pick")
        else:
            self._drop_held_keys()

    def action_copy_command(self) -> None:
        if (key := self.table.selected_key) is None:
            return
        session = self.fleet.session_of(key)
        details = session.details.get(key.id)
        if details is not None:
            self._copy(details.plan)
        else:
            self.make_plan(key, "copy", session.strategy)

    def _copy(self, plan: SessionPlan) -> None:
        if not plan.runnable:
            self.notify(plan.problem or "no strategy can be used", title="Nothing to copy",
                        severity="warning")
            return
        self.copy_to_clipboard(plan.command_line)
        self.notify(one_line(plan.command_line), title="Copied the debug command", timeout=8)

    def _start_session(self, key: ContainerKey, plan: SessionPlan) -> None:
        if not plan.runnable:
            self.notify(plan.problem or "no strategy can be used", title="Cannot debug",
                        severity="error", timeout=10)
            return
        session = self.fleet.session_of(key)
        self._session_running = session
        try:
            result = self.session_runner(plan)
        except DhituiError as exc:
            self.notify(exc.message, title="Debug session failed", severity="error")
            return
        finally:
            self._session_running = None
        clean_end = result.exit_status in (0, 130) and not result.cleanup_error
        self.notify(result.message, title=f"{result.strategy} session",
                    severity="information" if clean_end else "warning", timeout=10)
        session.details.drop(key.id)
        self.relist(key.engine)
        self._show_selected()

    def _run_in_terminal(self, plan: SessionPlan) -> SessionResult:
        """Hand the terminal to the session: say what runs, run it, come back (the runner
        says the exact command once it is known)."""
        from dhitui.sessions import describe_start

        session = self._session_running
        assert session is not None, "a session runs from _start_session"
        with self.suspend():
            _say(describe_start(plan))
            result = session.run_session(plan, progress=_say)
            _say(result.message)
        return result


def _say(text: str) -> None:
    try:
        sys.stderr.write(f"dhitui: {clean(text, keep_newlines=False)}\n")
        sys.stderr.flush()
    except OSError:
        pass  # the terminal hung up: the session's own end is reported in the app
