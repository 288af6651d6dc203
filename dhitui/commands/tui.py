"""`dhitui` with no subcommand: placeholder until the TUI lands."""

from __future__ import annotations

from dhitui.commands.base import Invocation
from dhitui.errors import Unavailable


def run(inv: Invocation) -> int:
    raise Unavailable("the interactive browser is not built yet; try `dhitui info`")
