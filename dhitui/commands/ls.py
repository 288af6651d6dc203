"""`dhitui ls`: containers with their hardened / shell-less verdict and its evidence."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dhitui.commands.base import Invocation, console, each_engine, print_json
from dhitui.errors import DhituiError, ExitCode
from dhitui.textsafe import one_line

if TYPE_CHECKING:
    from dhitui.detect.exitreason import ExitReason
    from dhitui.engine.selection import NamedEndpoint
    from dhitui.models import Classification

VERDICT_STYLE = {
    "hardened": "bold green",
    "shell-less": "bold yellow",
    "standard": "dim",
    "unknown": "bold red",
}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "ls",
        parents=[common],
        help="list containers, marking hardened and shell-less ones with the evidence",
        description="List containers with who they run as, whether they have a shell or a "
        "package manager, where their image comes from, and the verdict (hardened, "
        "shell-less, standard) with the evidence for it. Nothing is executed in the "
        "containers: files are checked through the Engine API.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-a", "--all", action="store_true", help="include stopped containers")
    p.add_argument("-e", "--evidence", action="store_true",
                   help="print every piece of evidence under each container")
    p.add_argument("--inspect", action="store_true",
                   help="inspect every container for its own user (by default a container is "
                   "inspected only where its settings can change the verdict or its command "
                   "is not its image's; elsewhere the user is the image's USER, "
                   "\"inspected\": false)")
    p.set_defaults(func=run, many_engines=True)


@dataclass
class EngineListing:
    """One engine's part of the list: its rows, and what went wrong when it did not answer."""

    name: str
    results: list[Classification] = field(default_factory=list)
    reasons: dict[str, ExitReason] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)
    error: DhituiError | None = None


def run(inv: Invocation) -> int:
    chosen = inv.engines()
    # The only engine's errors are the command's; of several, each is named and the rest
    # listed.
    listings = each_engine(chosen, lambda n: _list_one(n, inv.args,
                                                       raise_errors=len(chosen) == 1))
    failed = [lst for lst in listings if lst.error is not None]
    for lst in failed:
        assert lst.error is not None
        sys.stderr.write(f"dhitui: engine {one_line(lst.name)}: {lst.error.message}\n")
        if lst.error.hint:
            sys.stderr.write(f"  hint: {lst.error.hint}\n")
    if inv.args.json:
        print_json([{"engine": lst.name, **c.to_json(),
                     **_reason_json(lst.reasons.get(c.container_id))}
                    for lst in listings for c in lst.results])
    else:
        _print_table(listings, inv.args.evidence, engines=len(chosen) > 1)
    if failed:
        assert failed[0].error is not None
        return int(failed[0].error.exit_code)
    return int(ExitCode.OK)


def _list_one(named: NamedEndpoint, args: argparse.Namespace, *,
              raise_errors: bool = False) -> EngineListing:
    """One engine's containers, classified (and why the stopped ones stopped, for --json).
    Its errors are kept in the listing unless `raise_errors` (the only engine)."""
    from dhitui.detect import Classifier, list_summaries
    from dhitui.engine.client import connect

    listing = EngineListing(named.name)
    try:
        engine = connect(named.endpoint)
        try:
            summaries = list_summaries(engine, all=args.all)
            order = {s.id: i for i, s in enumerate(summaries)}
            targets = [s.id for s in summaries] if args.inspect else summaries
            results = list(Classifier(engine).classify_many(targets,
                                                            on_gone=listing.gone.append))
            results.sort(key=lambda c: order.get(c.container_id, len(order)))
            listing.results = results
            listing.reasons = _exit_reasons(engine, results) if args.json else {}
        finally:
            engine.close()
    except DhituiError as exc:
        if raise_errors:
            raise
        listing.error = exc
    return listing


def _exit_reasons(engine: Any, results: list[Classification]) -> dict[str, ExitReason]:
    """Why each container that is not running stopped (an inspect and a logs request each;
    the running ones are skipped unless restarting)."""
    from dhitui.detect.exitreason import needs_reason, read_exit_reason
    from dhitui.errors import NotFound

    out: dict[str, ExitReason] = {}
    for c in results:
        if c.state == "running":
            continue
        try:
            inspect = engine.inspect_container(c.container_id)
            if needs_reason(inspect):
                out[c.container_id] = read_exit_reason(engine, inspect)
        except NotFound:
            continue
    return out


def _reason_json(reason: ExitReason | None) -> dict[str, Any]:
    """The keys `ls --json` adds: `exit` (why it stopped: code, meaning, OOM, error,
    restarts, finished_at, last_logs; null when running) and `crash_looping`."""
    return {"exit": reason.to_json() if reason else None,
            "crash_looping": bool(reason and reason.crash_looping)}


def _print_table(listings: list[EngineListing], evidence: bool, *, engines: bool) -> None:
    from rich.table import Table

    from dhitui.textsafe import markup_safe as m

    out = console()
    rows = [(lst.name, c) for lst in listings for c in lst.results]
    results = [c for _, c in rows]
    gone = [g for lst in listings for g in lst.gone]
    if not results:
        out.print("[dim]No containers.[/] (stopped ones are listed with --all)")
        return
    t = Table(box=None, pad_edge=False, header_style="bold")
    columns = ("NAME", "IMAGE", "STATE", "USER", "SHELL", "VERDICT", "VARIANT", "WHY")
    for col in (("ENGINE", *columns) if engines else columns):
        t.add_column(col, no_wrap=True, overflow="ellipsis", max_width=48)
    for name, c in rows:
        style = VERDICT_STYLE.get(c.verdict, "")
        t.add_row(
            *([f"[magenta]{m(name, keep_newlines=False)}[/]"] if engines else []),
            m(c.name, keep_newlines=False),
            m(c.image, keep_newlines=False),
            m(c.state),
            m(c.user.display) if c.inspected else f"[italic]{m(c.user.display)}[/]*",
            m(c.shell) if c.shell else "[dim]none[/]",
            f"[{style}]{c.verdict}[/]",
            m(c.variant or "-"),
            m(c.summary, keep_newlines=False),
        )
    out.print(t)
    if not all(c.inspected for c in results):
        out.print("[dim]* the image's USER: the container was not inspected (its verdict is "
                  "the same whoever it runs as); `dhitui ls --inspect` shows every "
                  "container's own user[/]")
    if evidence:
        for c in results:
            out.print(f"\n[bold]{m(c.name)}[/] [{VERDICT_STYLE.get(c.verdict, '')}]{c.verdict}[/]")
            for item in c.evidence:
                out.print(f"  - {m(item, keep_newlines=False)}")
    if gone:
        sys.stderr.write(f"({len(gone)} container(s) went away while being checked)\n")
