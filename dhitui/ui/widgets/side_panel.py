"""The side panel: engine status, diagnostics, and the selected container's details."""

from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


class Section(Static):
    """A titled block of the side panel."""

    DEFAULT_CSS = """
    Section {
        border: round $primary 40%;
        border-title-color: $text-accent;
        border-title-style: bold;
        padding: 0 1;
        margin-bottom: 1;
        height: auto;
    }
    """

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__("", id=id)
        self.border_title = title


class SidePanel(VerticalScroll):
    DEFAULT_CSS = """
    SidePanel {
        width: 38%;
        min-width: 40;
        max-width: 64;
        padding: 0 1 0 0;
    }
    """

    def compose(self) -> ComposeResult:
        yield Section("Container", id="container")
        yield Section("Diagnostics", id="diagnostics")
        yield Section("Engine", id="engine")

    def show(self, section: str, content: RenderableType) -> None:
        self.query_one(f"#{section}", Section).update(content)
