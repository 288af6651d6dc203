"""A full-screen viewer for text from the engine (inspect JSON, logs)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Footer, Log, Static

from dhitui.textsafe import clean
from dhitui.ui import keys


class TextViewScreen(ModalScreen[None]):
    """Shows text literally (control sequences stripped, no markup); escape/q closes."""

    DEFAULT_CSS = """
    TextViewScreen {
        align: center middle;
    }
    TextViewScreen > #frame {
        width: 96%;
        height: 92%;
        border: round $primary;
        background: $surface;
    }
    TextViewScreen #text {
        overflow-x: auto;
    }
    TextViewScreen.-narrow > #frame {
        width: 100%;
        height: 100%;
        border: none;
    }
    TextViewScreen #title {
        height: 1;
        background: $primary 30%;
        padding: 0 1;
        text-style: bold;
    }
    """
    BINDINGS = keys.bindings(keys.TEXT_VIEW)

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self._title = title
        self._text = text

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(id="frame"):
            yield Static(clean(self._title, keep_newlines=False), id="title", markup=False)
            yield Log(id="text", highlight=False, auto_scroll=False)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(Log)
        log.write(clean(self._text) or "(empty)")
        log.scroll_home(animate=False)
        log.focus()

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
