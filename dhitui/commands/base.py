"""What every subcommand gets: parsed arguments, settings, and lazy engine access."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from dhitui.config import Settings, load_settings

if TYPE_CHECKING:
    from rich.console import Console

    from dhitui.engine.client import Engine
    from dhitui.engine.endpoint import Endpoint


@dataclass
class Invocation:
    args: argparse.Namespace
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.env)

    @property
    def toolbox(self) -> str:
        return getattr(self.args, "toolbox", None) or self.settings.toolbox

    @property
    def transport(self) -> str:
        return getattr(self.args, "transport", None) or self.settings.transport

    @property
    def view(self) -> str:
        return getattr(self.args, "view", None) or self.settings.view

    @cached_property
    def endpoint(self) -> Endpoint:
        from dhitui.engine.endpoint import resolve_endpoint

        return resolve_endpoint(
            getattr(self.args, "host", None), getattr(self.args, "context", None), self.env
        )

    def connect(self) -> Engine:
        from dhitui.engine.client import connect

        return connect(self.endpoint)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output keeps one record per line instead of wrapping at 80 columns.
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)
