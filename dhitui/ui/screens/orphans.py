"""Offered at start: remove debug sidecars left behind by sessions that died."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from dhitui.sessions import Sidecar
from dhitui.textsafe import one_line
from dhitui.ui import keys


class OrphansScreen(ModalScreen[bool]):
    """Dismisses with True to remove the listed sidecars."""

    DEFAULT_CSS = """
    OrphansScreen { align: center middle; }
    OrphansScreen > Vertical {
        width: 90; max-width: 96%; height: auto;
        border: round $warning; background: $surface; padding: 1 2;
    }
    OrphansScreen Horizontal { height: auto; margin-top: 1; }
    OrphansScreen Button { margin-right: 2; }
    """
    BINDINGS = keys.bindings(keys.ORPHANS)

    def __init__(self, sidecars: list[Sidecar]) -> None:
        super().__init__()
        self.sidecars = sidecars

    def compose(self) -> ComposeResult:
        text = Text()
        n = len(self.sidecars)
        text.append(f"{n} thing{'s' if n > 1 else ''} left behind", style="bold")
        text.append(" by debug sessions that ended without cleaning up (a crash, a killed "
                    "terminal):\n\n")
        for s in self.sidecars[:12]:
            text.append(f"  • {s.what} {one_line(s.name)}", style="bold")
            text.append(f"  {one_line(s.reason)}\n", style="dim")
        if n > 12:
            text.append(f"  … and {n - 12} more\n", style="dim")
        text.append("\nRemove them? Live sessions are never touched.")
        with Vertical():
            yield Static(text)
            with Horizontal():
                yield Button("Remove (y)", id="remove", variant="warning")
                yield Button("Keep (n)", id="keep")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "remove")

    def action_remove(self) -> None:
        self.dismiss(True)

    def action_keep(self) -> None:
        self.dismiss(False)
