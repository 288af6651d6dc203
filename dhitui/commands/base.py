"""What every subcommand gets: parsed arguments, settings, and lazy engine access."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from dhitui.config import Settings, load_settings

if TYPE_CHECKING:
    from rich.console import Console

    from dhitui.engine.client import Engine
    from dhitui.engine.endpoint import Endpoint
    from dhitui.engine.selection import NamedEndpoint


T = TypeVar("T")


def flag_or_setting(args: argparse.Namespace, settings: Settings,
                    name: Literal["toolbox", "transport", "view"]) -> str:
    """The option `name`: the command line's flag when given, else config.toml's value, else
    the `Settings` default (`config.DEFAULT_TOOLBOX`, `auto`). No environment variable sets
    these. Every subcommand and `doctor` (with its own settings when the file is broken)
    decide through here."""
    flag: str | None = getattr(args, name, None)
    if flag:
        return flag
    value: str = getattr(settings, name)
    return value


@dataclass
class Invocation:
    args: argparse.Namespace
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.env)

    @property
    def toolbox(self) -> str:
        return flag_or_setting(self.args, self.settings, "toolbox")

    @property
    def transport(self) -> str:
        return flag_or_setting(self.args, self.settings, "transport")

    @property
    def view(self) -> str:
        return flag_or_setting(self.args, self.settings, "view")

    @cached_property
    def endpoint(self) -> Endpoint:
        from dhitui.engine.endpoint import resolve_endpoint

        return resolve_endpoint(
            getattr(self.args, "host", None), getattr(self.args, "context", None), self.env
        )

    def engines(self) -> list[NamedEndpoint]:
        """The engines `dhitui`, `ls` and `info` follow: --engines, or several -H, or
        config.toml's `engines` when neither -H nor -c is given, else the one engine."""
        from dhitui.engine.selection import parse_engines, select_engines

        hosts = list(getattr(self.args, "hosts", None) or [])
        context = getattr(self.args, "context", None)
        names = parse_engines(getattr(self.args, "engines", None))
        if not names and not hosts and not context:
            names = self.settings.engines
        return select_engines(engines=names, hosts=hosts, context=context, env=self.env)

    def connect(self) -> Engine:
        from dhitui.engine.client import connect

        return connect(self.endpoint)


def each_engine(chosen: Sequence[NamedEndpoint], work: Callable[[NamedEndpoint], T]) -> list[T]:
    """`work` for every engine, each on its own thread (one slow or down engine does not
    hold up the rest), results in the engines' order."""
    if len(chosen) == 1:
        return [work(chosen[0])]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(chosen))) as pool:
        return list(pool.map(work, chosen))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output keeps one record per line instead of wrapping at 80 columns.
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)
