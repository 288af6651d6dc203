"""The lines dhitui says around a session (the CLI and the TUI say the same)."""

from __future__ import annotations

from dhitui.sessions.strategies import SessionPlan
from dhitui.strategy_registry import info
from dhitui.textsafe import one_line


def describe_start(plan: SessionPlan) -> str:
    """The banner before a session: what is opened, where things are, how to leave."""
    assert plan.chosen is not None
    s = plan.chosen
    line = f"{s.name} session into {one_line(plan.target.label)}"
    if plan.options.command is None:
        entry = info(s.name)
        where = entry.where_image if plan.target.kind == "image" else entry.where_container
        if where:
            line += f"; {where}"
        line += "; leave with `exit` or Ctrl-D"
    return line


def describe_command(plan: SessionPlan) -> str:
    """What runs, as a docker command line (the one `c` copies and `--print` shows)."""
    if plan.transport == "api":
        return f"over the Engine API, as: {plan.command_line}"
    return f"running: {plan.command_line}"
