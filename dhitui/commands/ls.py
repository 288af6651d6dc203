"""`dhitui ls`: placeholder until its issue lands (replaced, not extended)."""

from __future__ import annotations

import argparse
from typing import Any

from dhitui.commands.base import Invocation
from dhitui.errors import Unavailable


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ls", parents=[common], help="(not built yet)")
    p.set_defaults(func=run)


def run(inv: Invocation) -> int:
    raise Unavailable("`dhitui ls` is not built yet")
