"""Helpers for driving the TUI in tests (Textual's pilot)."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from textual.pilot import Pilot

from dhitui.ui.app import DhituiApp
from dhitui.ui.widgets.side_panel import Section

from polling import APP_TIMEOUT, poll_app


async def wait_for(pilot: Pilot[int], cond: Callable[[], object], what: str,
                   timeout: float = APP_TIMEOUT) -> None:
    """Poll `cond` while the app runs, failing after `timeout` seconds (polling.poll_app,
    in the argument order the TUI tests use)."""
    await poll_app(pilot, what, cond, timeout)


async def select_alone(pilot: Pilot[int], app: DhituiApp, tag: str, cid: str) -> None:
    """Filter the list down to the one container `cid` (named with `tag`) and wait until
    the panel shows its debug plan."""
    await pilot.press("slash", *tag, "enter")
    await wait_for(pilot, lambda: app.table.visible_ids() == [cid], "the row")
    await wait_for(pilot, lambda: "enter → " in panel_text(app, "container"), "the plan")


def panel_text(app: DhituiApp, section: str) -> str:
    """The plain text a side panel section shows."""
    content = app.query_one(f"#{section}", Section).content
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(content)
    return console.export_text()


def verdict_of(app: DhituiApp, container_id: str) -> str | None:
    table = app.table
    if container_id not in table.visible_ids():
        return None
    return str(table.get_cell(container_id, "verdict").plain)
