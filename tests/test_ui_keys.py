"""One key table (dhitui/ui/keys.py) behind the bindings, the palette, the help screen and the
README; and typeahead: keys that arrive in one burst after a key that opens something reach
what it opens, in order.

The bursts are posted to the app all at once, before it handles any of them — what a paste
or an expect script does through a terminal (tests/test_e2e_pty.py does it through a real
pty against a real engine)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from textual import events
from textual.command import CommandPalette
from textual.widgets import Input, OptionList

from dhitui.errors import EngineUnavailable
from dhitui.ui import keys
from dhitui.ui.app import DhituiApp
from dhitui.ui.screens.help import HelpScreen, help_text
from dhitui.ui.screens.strategy_picker import StrategyPicker

from snapshot_backend import SUMMARIES, SnapshotSession
from uitools import ids, panel_text, wait_for

README = Path(__file__).resolve().parent.parent / "README.md"
SIZE = (150, 45)


def test_readme_key_table_is_the_generated_one() -> None:
    readme = README.read_text(encoding="utf-8")
    assert keys.readme_with_keys(readme) == readme, (
        "README.md's key table differs from dhitui/ui/keys.py: run `python -m dhitui.ui.keys`")


def test_bindings_help_and_palette_come_from_the_table() -> None:
    bound = {(b.key, b.action, b.id) for b in DhituiApp.BINDINGS}  # type: ignore[union-attr]
    assert bound == {(k.keys, k.action, k.action) for k in keys.MAIN}
    text = help_text()
    for _, table in keys.SCREENS:
        for k in table:
            assert f"| {k.display} | {k.description} |" in text
    for k in keys.MAIN:  # every action exists
        assert callable(getattr(DhituiApp, f"action_{k.action}", None)), k.action


async def test_palette_lists_the_tables_commands() -> None:
    app = DhituiApp(SnapshotSession())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(ids(app.table)) == len(SUMMARIES), "rows")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {k.title for k in keys.MAIN if k.title} <= titles


def burst(app: DhituiApp, *names: str) -> None:
    """Post key events as one burst: none is handled before all are queued."""
    for name in names:
        char = name if len(name) == 1 else None
        if name == "slash":
            char = "/"
        app.post_message(events.Key(name, char))


async def ready(pilot: Any, app: DhituiApp) -> None:
    await wait_for(pilot, lambda: len(ids(app.table)) == len(SUMMARIES), "the rows")
    await wait_for(pilot, lambda: app.table.get_cell(app.table.visible_keys()[0], "verdict")
                   .plain != "… probing", "the verdicts")


async def test_filter_typed_in_one_burst_after_slash() -> None:
    app = DhituiApp(SnapshotSession())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        burst(app, "slash", *"payments-api-fips")
        box = app.query_one("#filter", Input)
        await wait_for(pilot, lambda: box.value == "payments-api-fips", "the whole text")
        await wait_for(pilot, lambda: len(ids(app.table)) == 1, "one row")
        assert app.table.selected is not None
        assert app.table.selected.summary.name == "payments-api-fips"
        # In the box, "/" is text, not the binding.
        burst(app, "slash", "x")
        await wait_for(pilot, lambda: box.value == "payments-api-fips/x", "a literal slash")


async def test_keys_after_a_picker_key_reach_the_picker() -> None:
    """`D` opens the strategy picker only after a worker planned; `down` and `enter` typed
    meanwhile choose in the picker, not on the list (where enter would start a session)."""
    started: list[str] = []
    chosen: list[str | None] = []

    class Recording(SnapshotSession):
        def plan(self, container_id: str, strategy: str = "auto",
                 view: str | None = None) -> Any:
            if strategy != "auto":
                chosen.append(strategy)
            gate.wait(10)  # the worker is slow: the keys arrive long before the picker
            return super().plan(container_id, strategy, view)

    gate = threading.Event()
    app = DhituiApp(Recording(), session_runner=lambda plan: started.append(  # type: ignore
        plan.chosen.name if plan.chosen else "") or _result(plan))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        gate.set()
        await wait_for(pilot, lambda: app.table.selected is not None, "a selection")
        gate.clear()
        row = app.table.cursor_row
        burst(app, "D", "down", "escape")
        # The app has handled the burst once the keys after `D` wait in the hold: the picker
        # is not open yet (its plan waits at the gate) and the list did not get the `down`.
        await wait_for(pilot, lambda: len(app._hold.keys) == 2, "down and escape held")
        assert not isinstance(app.screen, StrategyPicker)
        assert app.table.cursor_row == row
        gate.set()
        # The held escape closes the picker once it is open.
        await wait_for(pilot, lambda: not app._hold.active, "the keys handed over")
        await wait_for(pilot, lambda: not isinstance(app.screen, StrategyPicker), "closed")
        assert started == []
        gate.clear()
        burst(app, "D", "down")
        gate.set()
        await wait_for(pilot, lambda: isinstance(app.screen, StrategyPicker), "the picker")
        options = app.screen.query_one(OptionList)
        first = next(i for i, s in enumerate(app.screen.plan.strategies) if s.available)
        assert app.table.selected is not None
        await wait_for(pilot, lambda: (options.highlighted or 0) > first, "the held down")


async def test_keys_after_help_and_palette_keys() -> None:
    app = DhituiApp(SnapshotSession())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        pushed: list[object] = []
        push = app.push_screen
        app.push_screen = lambda screen, *a, **kw: (  # type: ignore[method-assign]
            pushed.append(screen), push(screen, *a, **kw))[1]
        burst(app, "question_mark", "escape")  # help opens, and the escape closes it
        await wait_for(pilot, lambda: any(isinstance(s, HelpScreen) for s in pushed)
                       and not app._hold.active
                       and not isinstance(app.screen, HelpScreen), "help opened and closed")
        burst(app, "ctrl+p", *"refresh")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        box = app.screen.query_one(Input)
        await wait_for(pilot, lambda: box.value == "refresh", "the palette's text")


async def test_keys_for_a_screen_that_does_not_open_are_dropped() -> None:
    class Failing(SnapshotSession):
        def plan(self, container_id: str, strategy: str = "auto",
                 view: str | None = None) -> Any:
            asked.set()
            raise EngineUnavailable("gone for the test")

    asked = threading.Event()
    started: list[Any] = []
    app = DhituiApp(Failing(), session_runner=lambda plan: (  # type: ignore
        started.append(plan) or _result(plan)))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        # The panel's plan is in hand: an `enter` on the list would start a session with it.
        await wait_for(pilot, lambda: "enter → " in panel_text(app, "container"), "the plan")
        burst(app, "D", "enter")
        # The plan failed (the hold began before it was asked for), then the hold ended.
        await wait_for(pilot, asked.is_set, "the plan to be asked for")
        await wait_for(pilot, lambda: not app._hold.active, "the hold to end")
        # A key sent after them is handled after them: once it has acted, so would have
        # the `enter`, had it not been dropped.
        burst(app, "p")
        await wait_for(pilot, lambda: not app.panel.display, "the panel hidden by `p`")
        assert started == []  # the enter meant for the picker did not start a session


def _result(plan: Any) -> Any:
    from dhitui.sessions import SessionResult

    return SessionResult(strategy="x", exit_status=0, duration=0.0)
