"""Every key of the TUI, in one table per screen.

The app's bindings, the command palette, the help screen and the README's key table are all
built from these tables (tests/test_ui_keys.py checks the README), so they cannot disagree.

No Textual here: `bindings()` imports `Binding` when it is called, so the README check and
other tools can read the tables without starting a UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from textual.binding import Binding

Opens = Literal["input", "screen"]


@dataclass(frozen=True)
class Key:
    """One key: what it is bound to and how every place that lists keys describes it."""

    keys: str  # Textual key names, comma-separated ("d", "question_mark", "ctrl+p")
    action: str  # the action method, without "action_"; also the binding's id
    label: str  # short, for the footer
    description: str  # one line for the help screen and the README
    shown: str = ""  # how the key is written for people; default: derived from `keys`
    title: str = ""  # the command palette's entry; empty: not in the palette
    footer: bool = True  # shown in the footer
    # A key that opens an input (a box on this screen) or a screen that takes keys: keys
    # typed right after it must go there, not to what had the focus (see ui/typeahead.py).
    opens: Opens | None = None

    @property
    def display(self) -> str:
        return self.shown or " / ".join(f"`{_human(k)}`" for k in self.keys.split(","))


_HUMAN = {"question_mark": "?", "slash": "/", "escape": "esc", "space": "space"}


def _human(key: str) -> str:
    return _HUMAN.get(key, key)


# The container list (the main screen).
MAIN: tuple[Key, ...] = (
    Key("d", "debug", "Debug",
        "debug the selected container with the best strategy: the app hands the terminal "
        "to the session (the exact command is printed first) and comes back with its exit "
        "status", shown="`enter` / `d`", title="Debug selected container"),
    Key("D", "choose_strategy", "Strategy…", "choose the strategy; unavailable ones say why",
        title="Debug with a chosen strategy", opens="screen"),
    Key("c", "copy_command", "Copy cmd", "copy the debug command (OSC 52) and show it",
        title="Copy debug command"),
    Key("i", "inspect", "Inspect", "inspect the container (the engine's JSON)",
        title="Inspect selected container", opens="screen"),
    Key("l", "logs", "Logs",
        "logs: the last 500 lines, then new ones as the container writes them (keys below)",
        title="Follow the container's logs", opens="screen"),
    Key("slash", "filter", "Filter",
        "filter as you type (every word must match name, image, verdict, user, shell…); "
        "`esc` clears", title="Filter containers", opens="input"),
    Key("a", "toggle_all", "All", "running containers only / all",
        title="Toggle stopped containers"),
    Key("r", "refresh", "Refresh", "refresh (forget cached probes)", title="Refresh"),
    Key("p", "toggle_panel", "Panel",
        "hide / show the side panel (beside the list on wide terminals, below it on "
        "narrow ones)", title="Hide or show the side panel"),
    Key("question_mark", "help", "Help", "help: keys, verdicts and debug strategies",
        title="Help", opens="screen"),
    Key("ctrl+p", "command_palette", "Palette", "command palette: every action by name",
        footer=False, opens="screen"),
    Key("q", "quit", "Quit", "quit"),
)

# The logs view.
LOGS: tuple[Key, ...] = (
    Key("space", "toggle_pause", "Pause",
        "pause / resume following (new lines wait and are counted while paused)"),
    Key("slash", "search", "Search",
        "show only the lines containing a text (as you type; `esc` clears)", opens="input"),
    Key("g", "top", "Top", "to the first line (pauses following)", footer=False),
    Key("G", "bottom", "Bottom", "to the last line (resumes following)", footer=False),
    Key("escape,q", "close", "Close", "close the view"),
)

# The list itself (the table widget): moving the cursor; the README says these in prose.
LIST: tuple[Key, ...] = (
    Key("up", "cursor_up", "Up", "one row up", footer=False),
    Key("down", "cursor_down", "Down", "one row down", footer=False),
    Key("pageup", "page_up", "Page up", "a page up", footer=False),
    Key("pagedown", "page_down", "Page down", "a page down", footer=False),
    Key("home", "first", "First", "to the first row", footer=False),
    Key("end", "last", "Last", "to the last row", footer=False),
    Key("enter", "select", "Debug", "debug the selected container (as `d`)", footer=False),
)

# The inspect view (a read-only text).
TEXT_VIEW: tuple[Key, ...] = (
    Key("escape,q", "dismiss", "Close", "close the view"),
)

# The strategy picker (`D`): the arrows and `enter` choose, as in any list.
PICKER: tuple[Key, ...] = (
    Key("escape", "cancel", "Cancel", "close it without debugging"),
)

# The question about what dead sessions left behind, asked at start-up.
ORPHANS: tuple[Key, ...] = (
    Key("y", "remove", "Remove", "remove them (live sessions are never touched)"),
    Key("escape,n", "keep", "Keep", "keep them (`dhitui debug --cleanup` removes them later)"),
)

# The help screen.
HELP: tuple[Key, ...] = (
    Key("escape,q,question_mark", "close", "Close", "close help"),
)

SCREENS: tuple[tuple[str, tuple[Key, ...]], ...] = (
    ("The container list", MAIN),
    ("The logs view", LOGS),
    ("The inspect view", TEXT_VIEW),
    ("The strategy picker", PICKER),
    ("The question about leftovers", ORPHANS),
)


def bindings(table: Sequence[Key]) -> list[Binding | tuple[str, str] | tuple[str, str, str]]:
    """Textual bindings for a table. Keys that open something are priority bindings: they
    act before the next key is dispatched, so that key already finds the input."""
    from textual.binding import Binding

    return [Binding(k.keys, k.action, k.label, show=k.footer, id=k.action,
                    priority=k.opens is not None)
            for k in table]


def opening(table: Sequence[Key], action: str) -> Opens | None:
    return next((k.opens for k in table if k.action == action), None)


def markdown(table: Sequence[Key]) -> str:
    """A table's keys as a Markdown table (the help screen, the README)."""
    rows = ["| key | action |", "|---|---|"]
    rows += [f"| {k.display} | {k.description} |" for k in table]
    return "\n".join(rows) + "\n"


def markdown_all(heading: str = "###") -> str:
    """Every screen's keys, each under a heading."""
    return "\n".join(f"{heading} {title}\n\n{markdown(table)}" for title, table in SCREENS)


README_START = "<!-- keys: generated from dhitui/ui/keys.py; python -m dhitui.ui.keys -->"
README_END = "<!-- /keys -->"


def readme_with_keys(readme: str) -> str:
    """The README with its key section regenerated from the tables."""
    head, sep, rest = readme.partition(README_START)
    _, sep2, tail = rest.partition(README_END)
    if not sep or not sep2:
        raise ValueError("README has no key section markers")
    return f"{head}{README_START}\n{markdown_all()}{README_END}{tail}"


def main() -> None:
    """Rewrite README.md's key section (run from the repository root)."""
    from pathlib import Path

    path = Path("README.md")
    path.write_text(readme_with_keys(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
