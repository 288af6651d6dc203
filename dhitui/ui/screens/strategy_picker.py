"""Choose how to debug: every strategy, the unavailable ones with the reason, and last the
sidecar strategies beside the target (where their session would stand inside it)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dhitui.sessions import SessionPlan
from dhitui.strategy_registry import BESIDE
from dhitui.textsafe import clean, one_line
from dhitui.ui import keys


class StrategyPicker(ModalScreen[str | None]):
    """Dismisses with the chosen strategy's name (`NAME beside` for its beside view), or
    None."""

    DEFAULT_CSS = """
    StrategyPicker { align: center middle; }
    StrategyPicker > Vertical {
        width: 100; max-width: 96%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    StrategyPicker #title { text-style: bold; padding: 0 0 1 0; }
    StrategyPicker OptionList { height: auto; max-height: 30; }
    """
    BINDINGS = keys.bindings(keys.PICKER)
    AUTO_FOCUS = None  # on_mount focuses, once the highlight is set

    def __init__(self, plan: SessionPlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        target = one_line(self.plan.target.label)
        with Vertical():
            yield Static(Text(f"Debug {target} with…"), id="title")
            yield OptionList(*self._options())
        yield Footer()

    def _options(self) -> list[Option]:
        best = self.plan.chosen.name if self.plan.runnable and self.plan.chosen else None
        options = []
        for s in self.plan.strategies:
            label = Text()
            mark, style = ("✔", "green") if s.available else ("✘", "red")
            label.append(f"{mark} ", style=style)
            label.append(s.name, style="bold" if s.available else "dim")
            if s.name == best:
                label.append("  (best)", style="green")
            label.append(f"\n   {clean(s.summary, keep_newlines=False)}", style="dim")
            if s.available:
                for note in s.notes[:3]:
                    label.append(f"\n   · {one_line(note)}", style="cyan")
            else:
                for reason in s.reasons:
                    label.append(f"\n   {one_line(reason)}", style="yellow")
            options.append(Option(label, id=s.name, disabled=not s.available))
        for s in self.plan.strategies:
            if s.available and s.fallback is not None:
                label = Text()
                label.append("✔ ", style="green")
                label.append(f"{s.name}, {BESIDE}", style="bold")
                label.append(f"\n   {one_line(s.fallback_where)}", style="dim")
                options.append(Option(label, id=f"{s.name} {BESIDE}"))
        return options

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        for index, s in enumerate(self.plan.strategies):
            if self.plan.chosen is not None and s.name == self.plan.chosen.name and s.available:
                options.highlighted = index
        # Focus last: keys typed ahead are handed over on focus (ui/typeahead.py).
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
