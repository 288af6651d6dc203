"""Helpers for driving the TUI in tests (Textual's pilot)."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from textual.pilot import Pilot

from dhitui.live import DEFAULT_NAME, EngineSession
from dhitui.models import ContainerKey
from dhitui.ui.app import DhituiApp
from dhitui.ui.links import EngineLink
from dhitui.ui.widgets.container_table import ContainerTable
from dhitui.ui.widgets.side_panel import Section

from polling import APP_TIMEOUT, poll_app


def key(container_id: str, engine: str = DEFAULT_NAME) -> ContainerKey:
    """A row's key in an app or table of one engine session (the common case)."""
    return ContainerKey(engine, container_id)


def link(app: DhituiApp, engine: str = DEFAULT_NAME) -> EngineLink:
    """What the app knows of its (only) engine's connection."""
    return app.links[engine]


def session(app: DhituiApp, engine: str = DEFAULT_NAME) -> EngineSession:
    return app.fleet[engine]


def ids(table: ContainerTable) -> list[str]:
    """The IDs of the rows shown, in display order."""
    return [k.id for k in table.visible_keys()]


def selected_id(table: ContainerTable) -> str | None:
    selected = table.selected_key
    return selected.id if selected else None


async def wait_for(pilot: Pilot[int], cond: Callable[[], object], what: str,
                   timeout: float = APP_TIMEOUT) -> None:
    """Poll `cond` while the app runs, failing after `timeout` seconds (polling.poll_app,
    in the argument order the TUI tests use)."""
    await poll_app(pilot, what, cond, timeout)


async def select_alone(pilot: Pilot[int], app: DhituiApp, tag: str, cid: str) -> None:
    """Filter the list down to the one container `cid` (named with `tag`) and wait until
    the panel shows its debug plan."""
    await pilot.press("slash", *tag, "enter")
    await wait_for(pilot, lambda: ids(app.table) == [cid], "the row")
    await wait_for(pilot, lambda: "enter → " in panel_text(app, "container"), "the plan")


def panel_text(app: DhituiApp, section: str) -> str:
    """The plain text a side panel section shows."""
    content = app.query_one(f"#{section}", Section).content
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(content)
    return console.export_text()


def verdict_of(app: DhituiApp, container_id: str) -> str | None:
    table = app.table
    if container_id not in ids(table):
        return None
    return str(table.get_cell(key(container_id), "verdict").plain)
