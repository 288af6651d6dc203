"""`dhitui ls`: containers with their hardened / shell-less verdict and its evidence."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from dhitui.commands.base import Invocation, console, print_json
from dhitui.errors import ExitCode

if TYPE_CHECKING:
    from dhitui.detect.exitreason import ExitReason
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
    p.set_defaults(func=run)


def run(inv: Invocation) -> int:
    from dhitui.detect import Classifier, list_summaries

    engine = inv.connect()
    try:
        summaries = list_summaries(engine, all=inv.args.all)
        order = {s.id: i for i, s in enumerate(summaries)}
        gone: list[str] = []
        targets = [s.id for s in summaries] if inv.args.inspect else summaries
        results = list(Classifier(engine).classify_many(targets, on_gone=gone.append))
        results.sort(key=lambda c: order.get(c.container_id, len(order)))
        reasons = _exit_reasons(engine, results) if inv.args.json else {}
    finally:
        engine.close()
    if inv.args.json:
        print_json([{**c.to_json(), **_reason_json(reasons.get(c.container_id))}
                    for c in results])
    else:
        _print_table(results, gone, inv.args.evidence)
    return int(ExitCode.OK)


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


def _print_table(results: list[Classification], gone: list[str], evidence: bool) -> None:
    from rich.table import Table

    from dhitui.textsafe import markup_safe as m

    out = console()
    if not results:
        out.print("[dim]No containers.[/] (stopped ones are listed with --all)")
        return
    t = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("NAME", "IMAGE", "STATE", "USER", "SHELL", "VERDICT", "VARIANT", "WHY"):
        t.add_column(col, no_wrap=True, overflow="ellipsis", max_width=48)
    for c in results:
        style = VERDICT_STYLE.get(c.verdict, "")
        t.add_row(
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
