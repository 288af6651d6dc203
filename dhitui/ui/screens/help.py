"""The help screen: keys (from ui/keys.py), verdicts and debug strategies in one page."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from dhitui.ui import keys

_HELP = """\
# dhitui

Containers on the engine, which of them are **hardened** or **shell-less**, and a debug
shell next to any of them with one key.

{keys}
## Verdicts

- **● hardened**: no shell, and a nonroot user (or a known hardened image source).
- **◐ shell-less**: no shell, runs as root, unknown provenance.
- **○ standard**: a shell is there; `docker exec` works.
- **? unknown**: the engine could not be asked (the evidence says why).

Nothing runs inside a container to find this out: files are checked through the Engine API.

## Debug strategies

A container with its own shell gets **exec**; one without gets the first of the others that
this engine allows (the panel shows the plan and why the others are out; `D` picks another):

{strategies}

Sidecars run as the target's user with no extra capabilities, and never privileged.
Sidecars are removed when the session ends (`--rm`, and checked afterwards).
"""


def help_text() -> str:
    """The help page; its keys come from ui/keys.py, its strategy list from the registry,
    in the order they are tried for a container with a shell (its own shell first)."""
    from dhitui.sessions.strategies import info, ranking

    lines = [f"{i}. **{name}**: {info(name).help}" for i, name in enumerate(ranking(True), 1)]
    return _HELP.format(keys=keys.markdown_all("##"), strategies="\n".join(lines))


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 96%; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = keys.bindings(keys.HELP)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(help_text())

    def action_close(self) -> None:
        self.dismiss(None)
