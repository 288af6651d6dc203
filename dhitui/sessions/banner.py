"""The lines dhitui says around a session (the CLI and the TUI say the same)."""

from __future__ import annotations

from collections.abc import Sequence

from dhitui.sessions import argv as A
from dhitui.sessions.strategies import SessionPlan
from dhitui.strategy_registry import BESIDE
from dhitui.textsafe import one_line


def describe_start(plan: SessionPlan) -> str:
    """The banner before a session: what is opened, where it stands, how to leave."""
    assert plan.chosen is not None
    s = plan.chosen
    line = f"{s.name} session into {one_line(plan.target.label)}"
    if plan.options.command is None and s.where:
        line += f"; {one_line(s.where)}"
    if s.view == BESIDE and s.view_problem:
        line += f"; not inside it: {one_line(s.view_problem)}"
    if plan.options.command is None:
        line += "; leave with `exit` or Ctrl-D"
    return line


def describe_command(plan: SessionPlan, argv: Sequence[str] | None = None) -> str:
    """What runs, as a docker command line (the one `c` copies and `--print` shows): the
    plan's, or `argv` once it is exact (an inside session's, with its holder's pid)."""
    line = A.command_line(plan.argv if argv is None else argv)
    if plan.transport == "api":
        return f"over the Engine API, as: {line}"
    return f"running: {line}"


def describe_holder(argv: Sequence[str], pid: int) -> str:
    """The holder of an inside session, once it runs."""
    return f"holder: {A.command_line(argv)}  (pid {pid} in the target's PID namespace)"
