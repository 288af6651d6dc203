"""Rich renderables for the TUI: table cells, badges and the side panel's sections.

Everything that came from the engine is put into `Text` objects (never parsed as markup)
after `textsafe.clean()`; styles are applied around it. Pure functions, no Textual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dhitui.strategy_registry import BESIDE, INSIDE
from dhitui.textsafe import clean, one_line

if TYPE_CHECKING:
    from dhitui.detect.exitreason import ExitReason
    from dhitui.diagnostics import Check
    from dhitui.engine.capabilities import Capabilities
    from dhitui.engine.endpoint import Endpoint
    from dhitui.models import Classification, ContainerSummary
    from dhitui.sessions import SessionPlan

VERDICT_BADGE = {
    "hardened": ("● hardened", "bold green"),
    "shell-less": ("◐ shell-less", "bold yellow"),
    "standard": ("○ standard", "dim"),
    "unknown": ("? unknown", "bold red"),
}
STATE_STYLE = {
    "running": "green",
    "paused": "yellow",
    "restarting": "yellow",
    "exited": "dim",
    "created": "dim",
    "dead": "red",
    "removing": "red",
}
PENDING = Text("…", style="dim")


def txt(value: object, style: str = "") -> Text:
    """Engine text as a single-line Text, control sequences removed, never markup."""
    return Text(one_line(value), style=style)


def verdict_badge(verdict: str | None) -> Text:
    if verdict is None:
        return Text("… probing", style="dim italic")
    label, style = VERDICT_BADGE.get(verdict, (verdict, ""))
    return Text(label, style=style)


def clock(when: float) -> str:
    """A wall-clock time for the UI (local time, to the second)."""
    import time

    return time.strftime("%H:%M:%S", time.localtime(when))


def engine_cell(name: str, *, dim: bool = False) -> Text:
    """The Engine column's cell: the engine's short name (a context or connection name)."""
    cell = txt(name, "magenta")
    if dim:
        cell.stylize("dim")
    cell.no_wrap, cell.overflow = True, "ellipsis"
    return cell


def row_cells(s: ContainerSummary, c: Classification | None,
              last_seen: float | None = None) -> list[Text]:
    """Cells for the container table, in column order (see ContainerTable.COLUMNS). With
    `last_seen` (the engine does not answer) the row is what was seen then: dimmed, its
    state marked with the time, never shown as current."""
    if c is None:
        user, shell, variant = PENDING.copy(), PENDING.copy(), PENDING.copy()
    else:
        user = txt(c.user.display, " ".join(
            (*(() if c.user.is_root is False else ("yellow",)),
             *(() if c.inspected else ("italic",)))))
        shell = txt(c.shell) if c.shell else Text("none", style="bold")
        variant = txt(c.variant or "")
    cells = [
        txt(s.name, "bold"),
        verdict_badge(c.verdict if c else None),
        (Text("⟳ crash-loop", style="bold yellow") if s.crash_looping
         else txt(s.state, STATE_STYLE.get(s.state, ""))),
        user,
        shell,
        variant,
        txt(s.image, "cyan"),
    ]
    if last_seen is not None:
        cells[2] = txt(f"{s.state}? seen {clock(last_seen)}", "italic")  # the state column
        for cell in cells:
            cell.stylize("dim")
    for cell in cells:  # a column narrowed to fit the screen ends its cells in "…"
        cell.no_wrap = True
        cell.overflow = "ellipsis"
    return cells


def _kv(table: Table, key: str, value: RenderableType | str, style: str = "") -> None:
    table.add_row(Text(key, style="bold"), value if not isinstance(value, str)
                  else Text(clean(value), style=style))


def _grid() -> Table:
    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True, min_width=12)
    t.add_column(overflow="fold")
    return t


def engine_line(name: str, state: str | None, error: str | None) -> Text:
    """One engine of several, in a line: its name (bold), and its state when it is not the
    one shown in full (with why, when it does not answer)."""
    line = Text(one_line(name), style="bold magenta")
    if state is not None:
        line.append(f"  {state}", style="green" if state == "connected" else "yellow")
        if error:
            line.append(f": {one_line(error)}", style="dim")
    line.no_wrap, line.overflow = True, "ellipsis"
    return line


def engine_section(
    endpoint: Endpoint | None,
    caps: Capabilities | None,
    *,
    state: str,
    error: str | None = None,
    hint: str | None = None,
    history: str | None = None,
) -> RenderableType:
    """The engine: where, why, what it allows, whether it answers right now, and what last
    happened to the connection."""
    t = _grid()
    status_style = {"connected": "green", "connecting": "yellow"}.get(state, "bold red")
    _kv(t, "Status", Text(state, style=status_style))
    if history:
        _kv(t, "Last change", Text(clean(history), style="yellow"))
    if endpoint is not None:
        _kv(t, "Endpoint", endpoint.url)
        _kv(t, "Why", endpoint.reason, "dim")
    if error:
        _kv(t, "Error", Text(clean(error), style="red"))
    if hint:
        _kv(t, "Hint", Text(clean(hint), style="yellow"))
    if caps is not None:
        _kv(t, "Engine", f"{caps.identity.display} (API {caps.api_version})")
        _kv(t, "Image mounts", Text("yes" if caps.image_mounts else
                                    f"no (needs {caps.identity.image_mounts_requirement})",
                                    style="green" if caps.image_mounts else "yellow"))
        if caps.docker_debug:
            dbg = Text("installed", style="green")
        else:
            dbg = Text("not installed", style="dim")
        _kv(t, "docker debug", dbg)
        if caps.docker_cli:
            _kv(t, "docker CLI", caps.docker_cli)
        else:
            _kv(t, "docker CLI", Text("not on PATH", style="yellow"))
        present = caps.toolbox_image_present
        _kv(t, "Toolbox", Text.assemble(
            txt(caps.toolbox_image),
            Text(" present" if present else " not present locally",
                 style="green" if present else "yellow"),
        ))
        flags = [n for n, on in (("rootless", caps.rootless), ("userns", caps.userns),
                                 ("selinux", caps.selinux), ("apparmor", caps.apparmor)) if on]
        if flags:
            _kv(t, "Security", ", ".join(flags))
    return t


def container_section(s: ContainerSummary, c: Classification | None,
                      checks: list[Check] | None = None,
                      plan: SessionPlan | None = None,
                      last_seen: float | None = None) -> RenderableType:
    """The selected container: identity, who it runs as, what it runs, verdict + evidence.
    With `last_seen`, its state is what the engine said then, not now."""
    t = _grid()
    _kv(t, "Name", txt(s.name, "bold"))
    _kv(t, "ID", s.short_id)
    _kv(t, "Image", txt(s.image, "cyan"))
    if last_seen is None:
        _kv(t, "State", txt(f"{s.state} ({s.status})", STATE_STYLE.get(s.state, "")))
    else:
        _kv(t, "State", txt(f"{s.state}? seen {clock(last_seen)}, the engine does not answer "
                            "now", "dim italic"))
    parts: list[RenderableType] = [t]
    if c is None:
        parts.append(Text("Checking the container's files…", style="dim italic"))
        return Group(*parts)
    _kv(t, "User", txt(f"{c.user.display} ({c.user.source})") if c.inspected else
        txt(f"{c.user.display} (the image's USER; reading the container's own…)", "italic"))
    _kv(t, "Entrypoint", Text(clean(_argv(c.entrypoint)) or "(none)"))
    _kv(t, "Cmd", Text(clean(_argv(c.cmd)) or "(none)"))
    _kv(t, "Shell", txt(c.shell or "none"))
    _kv(t, "Pkg manager", txt(c.package_manager or "none"))
    _kv(t, "Source", txt(c.source + (f" / {c.variant}" if c.variant else "")))
    _kv(t, "Verdict", verdict_badge(c.verdict))
    reason = getattr(plan.target, "exit_reason", None) if plan is not None else None
    if reason is not None:
        parts.append(Text("Why it stopped" if not reason.crash_looping
                          else "Why it keeps restarting", style="bold underline"))
        parts.append(exit_block(reason))
    parts.append(Text("Debug", style="bold underline"))
    parts.append(plan_block(plan) if plan is not None
                 else Text("Planning…", style="dim italic"))
    parts.append(Text("Checks", style="bold underline"))
    parts.append(checks_block(checks, show_ok=False) if checks is not None
                 else Text("Checking…", style="dim italic"))
    if plan is not None and plan.runnable:
        parts.append(Text("Exact debug command", style="bold underline"))
        parts.append(Text(one_line(plan.command_line), style="cyan"))
        if plan.chosen is not None and plan.chosen.view == INSIDE:
            parts.append(Text("<pid>: the pid of the holder, the container that brings the "
                              "toolbox (`dhitui debug --print` shows its command)", style="dim"))
    evidence = Table.grid(padding=(0, 1))
    evidence.add_column(style="dim", no_wrap=True)
    evidence.add_column(overflow="fold")
    for item in c.evidence:
        evidence.add_row("•", Text(clean(item, keep_newlines=False)))
    parts += [Text("Evidence", style="bold underline"), evidence]
    return Group(*parts)


def exit_block(reason: ExitReason) -> RenderableType:
    """Why a container stopped: exit code and meaning, OOM, the engine's error, restarts,
    when, and the last log lines (literal, control sequences stripped)."""
    t = _grid()
    bad = reason.exit_code not in (0, None) or reason.oom_killed or reason.crash_looping
    _kv(t, "Exit", Text(one_line(reason.headline), style="bold red" if bad else "bold"))
    _kv(t, "Meaning", Text(one_line(reason.meaning)))
    if reason.error:
        _kv(t, "Error", Text(one_line(reason.error), style="red"))
    _kv(t, "Restarts", Text(f"{reason.restart_count} (policy {one_line(reason.restart_policy)})"))
    if reason.finished_at:
        _kv(t, "Finished", Text(one_line(reason.finished_at), style="dim"))
    parts: list[RenderableType] = [t]
    if reason.logs_problem:
        parts.append(Text(one_line(reason.logs_problem), style="dim"))
    elif reason.log_lines:
        logs = Text()
        for line in reason.log_lines[-6:]:
            logs.append("│ ", style="dim")
            logs.append(line + "\n")
        logs.rstrip()
        parts.append(logs)
    return Group(*parts)


def _argv(argv: tuple[str, ...]) -> str:
    import shlex

    return shlex.join(argv) if argv else ""


CHECK_MARK = {"ok": ("✔", "green"), "warn": ("!", "bold yellow"), "fail": ("✘", "bold red")}


def checks_block(checks: list[Check], *, show_ok: bool = True) -> RenderableType:
    """Checks as the panel shows them: failures and warnings first with their detail and
    fix; passing checks as one line each."""
    if not checks:
        return Text("No checks.", style="dim")
    order = {"fail": 0, "warn": 1, "ok": 2}
    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    passing = [c for c in checks if c.status == "ok"]
    for check in sorted(checks, key=lambda c: order[c.status]):
        if check.status == "ok" and not show_ok:
            continue
        mark, style = CHECK_MARK[check.status]
        body = Text(clean(check.summary, keep_newlines=False),
                    style="" if check.status == "ok" else "bold")
        if check.status != "ok":
            if check.detail and check.status == "fail":  # warnings: summary and fix only
                body.append("\n" + clean(check.detail), style="dim")
            if check.fix:
                body.append("\nfix: ", style="bold yellow")
                body.append(clean(check.fix), style="yellow")
        t.add_row(Text(mark, style=style), body)
    if passing and not show_ok:
        t.add_row(Text("✔", style="green"),
                  Text(f"{len(passing)} other check{'s' if len(passing) > 1 else ''} pass",
                       style="dim"))
    return t


def plan_block(plan: SessionPlan) -> RenderableType:
    """The debug plan: the strategy that `enter` runs, its exact command, the others."""
    out = Text()
    if plan.runnable and plan.chosen is not None:
        out.append("enter ", style="bold")
        out.append(f"→ {plan.chosen.name}", style="bold green")
        out.append(f"  {clean(plan.chosen.summary, keep_newlines=False)}", style="dim")
        if plan.chosen.where:
            out.append(f"\n{one_line(plan.chosen.where)}",
                       style="green" if plan.chosen.view == INSIDE else "")
        if plan.chosen.view == BESIDE and plan.chosen.view_problem:
            out.append(f"\nnot inside it: {one_line(plan.chosen.view_problem)}", style="yellow")
    else:
        out.append("✘ ", style="bold red")
        out.append(clean(plan.problem or "no strategy can be used", keep_newlines=False),
                   style="red")
    others = [s for s in plan.strategies if plan.chosen is None or s.name != plan.chosen.name]
    if others:
        out.append("\n")
        for s in others:
            mark, style = ("✔", "green") if s.available else ("✘", "dim")
            out.append(f"\n{mark} {s.name}", style=style)
            if not s.available and s.reasons:
                out.append(f": {one_line(s.reasons[0])}", style="dim")
        out.append("\n")
        out.append("D", style="bold")
        out.append(" picks another strategy, ", style="dim")
        out.append("c", style="bold")
        out.append(" copies the command", style="dim")
    return out
