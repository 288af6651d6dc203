"""`dhitui doctor`: every diagnostic check, for humans (colour, symbols) or as JSON.

Exit codes: 0 when no check fails, 1 when one fails, 2 for usage errors (bad options,
--host with --context), 5 when a CONTAINER named on the command line does not exist (the
report is still printed, with a failing `container.exists` check for it). Engine trouble and
broken configuration (DOCKER_HOST, config.json, contexts, dhitui's config.toml) never abort
the report: they are what it explains.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from dhitui.commands.base import Invocation, console, flag_or_setting, print_json
from dhitui.errors import ExitCode

if TYPE_CHECKING:
    from dhitui.diagnostics import Check

_STYLE = {"ok": ("✔", "green"), "warn": ("!", "yellow"), "fail": ("✘", "red")}
_AREA_TITLE = {"host": "This machine", "engine": "Engine"}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="diagnose socket, permission, engine and per-container problems, with fixes",
        description="Check the way to the engine (endpoint, socket, permissions, daemon), the "
        "engine itself, and each container (or those named): socket and bind-mount access "
        "for its user, ENTRYPOINT, FIPS variants, what debugging it needs. Every problem "
        "comes with the safest fix first. Reads only; changes nothing.",
        epilog="Exit codes: 0 no check failed, 1 a check failed, 2 usage error, "
        "5 a named container does not exist.",
    )
    p.add_argument("containers", nargs="*", metavar="CONTAINER",
                   help="containers to check (name or ID); default: all running containers")
    p.add_argument("--json", action="store_true",
                   help='machine-readable output: {"checks": [...], "summary": {...}}')
    p.add_argument("--timeout", type=_positive_float, default=5.0, metavar="SECONDS",
                   help="how long to wait for the engine to answer (default 5)")
    p.set_defaults(func=run)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError("must be between 0 and 600 seconds")
    return value


def run(inv: Invocation) -> int:
    from dhitui.config import Settings
    from dhitui.diagnostics import EndpointFailure, counts, diagnose
    from dhitui.diagnostics.host import settings_check
    from dhitui.engine.endpoint import Endpoint, resolve_endpoint
    from dhitui.errors import ConfigError, UsageError

    host = getattr(inv.args, "host", None)
    context = getattr(inv.args, "context", None)
    extra = []
    try:
        settings = inv.settings
    except ConfigError as exc:
        settings = Settings()
        from dhitui.config import config_path

        extra.append(settings_check(str(config_path(inv.env)), exc.message))
    toolbox = flag_or_setting(inv.args, settings, "toolbox")
    endpoint: Endpoint | EndpointFailure
    try:
        endpoint = resolve_endpoint(host, context, inv.env)
    except UsageError:
        raise  # --host with --context: the command line is wrong, not the machine
    except ConfigError as exc:
        endpoint = EndpointFailure(exc, host=host, context=context)

    report = diagnose(endpoint, inv.env, containers=inv.args.containers, toolbox=toolbox,
                      strategy=settings.strategy,
                      session_view=flag_or_setting(inv.args, settings, "view"),
                      timeout=inv.args.timeout, extra=extra)
    if inv.args.json:
        print_json({"checks": [c.to_json() for c in report.checks],
                    "summary": {**counts(report.checks), "missing": report.missing}})
    else:
        print_human(report.checks)
    if report.missing:
        return int(ExitCode.NOT_FOUND)
    return int(ExitCode.FAILED if report.failed else ExitCode.OK)


def print_human(checks: list[Check]) -> None:
    """Sections by area and container, one row per check with hanging indentation. All
    check text passes through `markup_safe`: it quotes engine-controlled strings."""
    from rich.table import Table

    from dhitui.diagnostics import counts
    from dhitui.textsafe import markup_safe as m

    out = console()
    sections: list[tuple[str, list[Check]]] = []
    keys: dict[tuple[str, str], int] = {}
    for c in checks:
        key = (c.area, c.container.id if c.container else "")
        if key not in keys:
            if c.container is not None:
                title = (f"Container {m(c.container.name, keep_newlines=False)} "
                         f"[dim]{m(c.container.id[:12])}[/]")
            else:
                title = _AREA_TITLE.get(c.area, "Containers" if c.area == "container"
                                        else c.area.title())
            keys[key] = len(sections)
            sections.append((title, []))
        sections[keys[key]][1].append(c)
    for title, items in sections:
        out.print(f"\n[bold]{title}[/]")
        for c in items:
            symbol, colour = _STYLE[c.status]
            text = m(c.summary, keep_newlines=False)
            if c.detail and c.status != "ok":
                text += f"\n[dim]{m(c.detail)}[/]"
            # Summary and detail wrap with a hanging indent...
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=3, justify="right", no_wrap=True)
            grid.add_column(overflow="fold")
            grid.add_row(f"[{colour}]{symbol}[/]", text)
            out.print(grid)
            # ...fixes do not: a command folded by Rich would not paste as one line.
            if c.fix:
                out.print(f"    [bold cyan]fix:[/] {m(c.fix)}", soft_wrap=True)
            for alt in c.alternatives:
                out.print(f"    [cyan]or:[/]  {m(alt)}", soft_wrap=True)
    n = counts(checks)
    parts = [f"[green]{n['ok']} ok[/]"]
    if n["warn"]:
        parts.append(f"[yellow]{n['warn']} warning{'s' if n['warn'] != 1 else ''}[/]")
    if n["fail"]:
        parts.append(f"[red]{n['fail']} failed[/]")
    out.print("\n" + ", ".join(parts))
