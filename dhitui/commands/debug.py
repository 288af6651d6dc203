"""`dhitui debug`: a debug session into any container (or image), and cleaning up after them.

    dhitui debug CONTAINER                    interactive shell, best strategy for it
    dhitui debug CONTAINER -- CMD [ARG...]    run one command in the session, exit with its status
    dhitui debug --image IMAGE                explore an image with no container
    dhitui debug CONTAINER --print [--json]   the plan and the exact command, without running it
    dhitui debug --cleanup [--force]          remove orphaned sidecars
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

from dhitui.commands.base import Invocation, print_json
from dhitui.errors import Ambiguous, ExitCode, NotFound, Unavailable, UsageError, report
from dhitui.strategy_registry import AUTO, CHOICES, may_use_cli

if TYPE_CHECKING:
    from dhitui.engine.client import Engine
    from dhitui.sessions import SessionPlan


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "debug",
        parents=[common],
        usage="dhitui debug [OPTIONS] CONTAINER [-- CMD ...]\n"
        "       dhitui debug [OPTIONS] --image IMAGE [-- CMD ...]\n"
        "       dhitui debug --cleanup [--force] [--json]",
        help="open a debug shell in any container, even one with no shell",
        description="Open a debug session into a container, choosing the best way this "
        "engine allows: `docker debug` when installed, a sidecar on the target's own image "
        "with the toolbox mounted at /dbg (Engine 28+), a sidecar rooted in the toolbox "
        "(older engines), or `docker exec` when the container has a shell. A sidecar "
        "session stands inside a running container by default (--view): / is its live "
        "root, the toolbox is on PATH, and it runs as the container's own user. The exact "
        "docker command is shown before it runs; sidecars are removed when the session ends.",
        epilog="With `-- CMD ...` the command runs in the session without a TTY and dhitui "
        "exits with its status. Otherwise dhitui exits with the session's status; its own "
        "errors (before a session starts) use the codes in `dhitui --help`.",
    )
    p.add_argument("target", nargs="?", metavar="CONTAINER",
                   help="container name or id (an image name explores that image)")
    p.add_argument("--image", metavar="IMAGE",
                   help="explore a local image with no container (the toolbox mounted into it)")
    p.add_argument("-s", "--strategy", choices=CHOICES, default=None,
                   help="how to open the session (default: auto, or config.toml)")
    p.add_argument("--print", action="store_true", dest="print_plan",
                   help="print the plan and the exact command, and exit without running it")
    p.add_argument("--json", action="store_true", help="with --print or --cleanup: JSON")
    p.add_argument("--root", action="store_true",
                   help="run as root (a sidecar also gets CAP_SYS_PTRACE) instead of the "
                   "target's user")
    p.add_argument("--network", metavar="NETWORK",
                   help="snapshot sessions (stopped containers): join this network instead "
                   "of none")
    p.add_argument("--privileged", action="store_true",
                   help="give the session full privileges (never done unless asked)")
    p.add_argument("--cleanup", action="store_true",
                   help="remove dhitui sidecars left behind by sessions that died")
    p.add_argument("--force", action="store_true",
                   help="with --cleanup: also remove sidecars whose owner cannot be checked "
                   "(started from another machine); live sessions are never touched")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no banner before and no status line after the session")
    p.set_defaults(func=run, takes_command=True)


def run(inv: Invocation) -> int:
    args = inv.args
    _validate(args)
    if args.cleanup:
        return _cleanup(inv)
    from dhitui.engine.capabilities import probe_capabilities

    engine = inv.connect()
    try:
        # Only what a plan reads: no /info, no `docker --version` unless the CLI may run it.
        caps = probe_capabilities(engine, inv.toolbox, inv.env, scope="session",
                                  cli_version=may_use_cli(inv.transport))
        plan = _plan(inv, engine, caps)
        if args.network and plan.chosen is not None and plan.chosen.snapshot is None:
            raise UsageError("--network is for snapshot sessions (containers that do not "
                             f"run); this one uses {plan.chosen.name}")
        if args.print_plan:
            if args.json:
                print_json(plan.to_json())
            else:
                sys.stdout.write(format_plan(plan))
            return int(ExitCode.OK if plan.runnable else ExitCode.UNAVAILABLE)
        if not plan.runnable:
            return _cannot(plan)
        return _run(inv, engine, plan)
    finally:
        engine.close()


def _validate(args: argparse.Namespace) -> None:
    command = args.trailing
    if args.cleanup:
        if args.target or args.image or args.print_plan or command is not None:
            raise UsageError("--cleanup takes no container, --image, --print or command")
        return
    if args.force:
        raise UsageError("--force goes with --cleanup")
    if args.json and not args.print_plan:
        raise UsageError("--json goes with --print or --cleanup")
    if args.target and args.image:
        raise UsageError("give a container or --image, not both")
    if not args.target and not args.image:
        raise UsageError("which container? (`dhitui ls` lists them; --image explores an image)")
    if command is not None and not command:
        raise UsageError("nothing after `--`: give the command to run in the session")


def _plan(inv: Invocation, engine: Engine, caps: Any) -> SessionPlan:
    from dhitui.detect import ImageFactsCache
    from dhitui.sessions import plan_session

    args = inv.args
    command = args.trailing
    options: dict[str, Any] = {
        # One per run: the image target's plan after a container's NotFound reuses it.
        "facts": ImageFactsCache(engine),
        "strategy": args.strategy or inv.settings.strategy,
        "toolbox": inv.toolbox,
        "command": command,
        # A TTY only for an interactive session on a terminal: `-- CMD` keeps stdout clean
        # for pipes, and a script piped into stdin needs no TTY either.
        "tty": command is None and os.isatty(0),
        "root": args.root,
        "privileged": args.privileged,
        "transport": inv.transport,
        "network": args.network,
        "view": inv.view,
    }
    if args.image:
        return plan_session(engine, caps, image=args.image, **options)
    try:
        return plan_session(engine, caps, args.target, **options)
    except Ambiguous:
        raise  # more than one container: it says which, and no image is meant
    except NotFound:
        if not engine.image_exists(args.target):
            raise NotFound(
                f"no such container: {args.target}",
                hint="`dhitui ls --all` lists containers; --image IMAGE explores a local image",
            ) from None
    if not args.quiet:
        _say(f"no container named {args.target}; exploring the local image {args.target}")
    return plan_session(engine, caps, image=args.target, **options)


def _cannot(plan: SessionPlan) -> int:
    """The error for a plan that cannot run: the headline, and when it is not about one
    strategy or the target's state, each strategy's reasons."""
    problem = plan.problem or "no strategy can be used"
    detail = problem.startswith("no debug strategy")
    report(Unavailable(problem + (":" if detail else ""),
                       hint=None if detail else "--print shows every strategy and why"))
    if detail:
        sys.stderr.write(format_alternatives(plan))
    return int(ExitCode.UNAVAILABLE)


def _run(inv: Invocation, engine: Engine, plan: SessionPlan) -> int:
    from dhitui.sessions import describe_start, run_session

    quiet = inv.args.quiet
    assert plan.chosen is not None
    if not quiet:
        if plan.why:
            _say(f"chose {plan.chosen.name}: {plan.why}")
        _say(describe_start(plan))
    # The runner says the exact command once it is known (an inside session's needs the
    # pid of its holder).
    result = run_session(plan, engine, progress=None if quiet else _say)
    if not quiet or result.cleanup_error:
        _say(result.message)
    if result.exit_status == 125 and plan.chosen.sidecar and not quiet:
        _say("(125: the sidecar could not be started; the engine's message is above)")
    return result.exit_status


def _say(text: str) -> None:
    from dhitui.textsafe import clean

    # After a hang-up the terminal answers writes with EIO: the status line is lost, and
    # that must not turn into a traceback.
    with contextlib.suppress(OSError):
        sys.stderr.write(f"dhitui: {clean(text, keep_newlines=False)}\n")
        sys.stderr.flush()


# --------------------------------------------------------------------------- output


def _target_line(plan: SessionPlan) -> str:
    from dhitui.sessions import ContainerTarget
    from dhitui.textsafe import one_line as c

    t = plan.target
    shell = f"shell {c(t.shell)}" if t.shell else "no shell"
    if isinstance(t, ContainerTarget):
        return (f"{c(t.label)} (container {t.id[:12]}, image {c(t.image)}, {c(t.state)}, "
                f"user {c(t.user.display)}, {shell})")
    return f"{c(t.ref)} (image {t.image_id[:19]}, user {c(t.user.display)}, {shell})"


def format_exit_reason(plan: SessionPlan) -> list[str]:
    """Why the target stopped (or restarts), for `--print`: literal text, cleaned."""
    from dhitui.sessions import ContainerTarget
    from dhitui.textsafe import one_line as c

    t = plan.target
    r = t.exit_reason if isinstance(t, ContainerTarget) else None
    if r is None:
        return []
    out = [f"why         {c(r.headline)}: {c(r.meaning)}\n"]
    if r.error:
        out.append(f"            engine error: {c(r.error)}\n")
    if r.finished_at:
        out.append(f"            finished at {c(r.finished_at)}\n")
    out.append(f"            restarts: {r.restart_count} (restart policy {c(r.restart_policy)})"
               + ("; crash-looping\n" if r.crash_looping else "\n"))
    if r.logs_problem:
        out.append(f"            {c(r.logs_problem)}\n")
    elif r.log_lines:
        out.append(f"            last {len(r.log_lines)} log line(s):\n")
        out += [f"            | {line}\n" for line in r.log_lines]
    else:
        out.append("            no log output\n")
    return out


def format_alternatives(plan: SessionPlan) -> str:
    from dhitui.textsafe import one_line as c

    width = max(len(s.name) for s in plan.strategies)
    lines = []
    for s in plan.strategies:
        mark = "*" if plan.chosen is s and s.available else " "
        state = "available" if s.available else "no: " + c("; ".join(s.reasons))
        lines.append(f"  {mark} {s.name:<{width}}  {state}\n")
    return "".join(lines)


def format_plan(plan: SessionPlan) -> str:
    """The human form of `--print`; its last line is the command, exactly as it runs."""
    from dhitui.textsafe import one_line as c

    out = [f"target      {_target_line(plan)}\n"]
    out += format_exit_reason(plan)
    if plan.chosen is not None and plan.runnable:
        how = "auto: the best available here" if plan.requested == AUTO else "as requested"
        if plan.requested == AUTO and plan.why:
            how = f"auto: {c(plan.why)}"
        out.append(f"strategy    {plan.chosen.name} ({how})\n")
        out.append(f"            {c(plan.chosen.summary)}\n")
        for note in plan.chosen.notes:
            out.append(f"            - {c(note)}\n")
    out.append("strategies  best first for this target (* = chosen)\n")
    out.append(format_alternatives(plan))
    if not plan.runnable:
        out.append(f"command     none: {c(plan.problem or '')}\n")
        return "".join(out)
    if plan.transport == "api":
        out.append("command     runs over the Engine API (no docker CLI needed); the "
                   "equivalent docker command:\n")
        out.append(plan.command_line + "\n")
        return "".join(out)
    unset = ", ".join(("DOCKER_HOST", "DOCKER_CONTEXT"))
    out.append(f"command     exactly what runs (with {unset} and the DOCKER_TLS* variables "
               "removed from its environment):\n")
    out.append(plan.command_line + "\n")
    return "".join(out)


# --------------------------------------------------------------------------- cleanup


def _cleanup(inv: Invocation) -> int:
    from dhitui.sessions import list_sidecars, remove_orphans
    from dhitui.textsafe import one_line as c

    engine = inv.connect()
    try:
        sidecars = list_sidecars(engine)
        removals = remove_orphans(engine, sidecars, include_unknown=inv.args.force)
    finally:
        engine.close()
    removed = {r.sidecar.id: r for r in removals}
    failed = [r for r in removals if not r.removed]
    if inv.args.json:
        print_json([
            {**s.to_json(), "removed": bool(removed.get(s.id) and removed[s.id].removed),
             "error": removed[s.id].error if s.id in removed else None}
            for s in sidecars
        ])
        return int(ExitCode.FAILED if failed else ExitCode.OK)
    if not sidecars:
        sys.stdout.write("no dhitui sidecars on this engine\n")
        return int(ExitCode.OK)
    for s in sidecars:
        what = f"{s.what} {c(s.name)} ({c(s.strategy)}" + (
            f", target {c(s.target_name or s.target_id or '')})" if s.target_id else ")")
        r = removed.get(s.id)
        if r is not None and r.removed:
            sys.stdout.write(f"removed  {what}: {c(s.reason)}\n")
        elif r is not None:
            sys.stdout.write(f"FAILED   {what}: {c(r.error or '')}\n")
        else:
            hint = "; --force removes it" if s.status == "unknown" else ""
            sys.stdout.write(f"kept     {what}: {s.status}, {c(s.reason)}{hint}\n")
    return int(ExitCode.FAILED if failed else ExitCode.OK)
