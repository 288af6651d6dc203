"""Command-line entry: global options, subcommands, and the one place errors become exits.

    dhitui [-H HOST | -c CONTEXT] [--toolbox IMAGE]            the interactive browser
    dhitui info   [--json]                                    endpoint and capabilities
    dhitui ls     [--json] [--all]                            containers, classified
    dhitui debug  CONTAINER|--image IMAGE [...] [-- CMD ...]  a debug session
    dhitui doctor [--json] [CONTAINER ...]                    diagnostics with fixes

Global options are accepted before or after the subcommand. Exit codes: see `ExitCode`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from dhitui import __version__
from dhitui.commands.base import Invocation
from dhitui.config import DEFAULT_TOOLBOX
from dhitui.errors import DhituiError, ExitCode, report
from dhitui.strategy_registry import TRANSPORT_CHOICES, VIEW_CHOICES


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit with our documented code and one short line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"dhitui: error: {message}\n")
        raise SystemExit(ExitCode.USAGE)


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("engine selection (like the docker CLI)")
    g.add_argument(
        "-H", "--host", default=default, metavar="HOST", action="append",
        help="engine address, e.g. unix:///var/run/docker.sock or tcp://HOST:2376 (given "
        "more than once, `dhitui`, `ls` and `info` follow each)",
    )
    g.add_argument(
        "--engines", default=default, metavar="all|NAME,...",
        help="follow several engines in one list (`dhitui`, `ls` and `info`): `all` (the "
        "default one, every docker context and Podman connection, every well-known socket "
        "that answers) or names (default: the `engines` setting of config.toml, else one)",
    )
    g.add_argument(
        "-c", "--context", default=default, metavar="NAME",
        help="docker context to use (overrides DOCKER_HOST and DOCKER_CONTEXT)",
    )
    parser.add_argument(
        "--toolbox", default=default, metavar="IMAGE",
        help=f"image with debugging tools, present locally (default: {DEFAULT_TOOLBOX}, or "
        "config.toml)",
    )
    parser.add_argument(
        "--transport", default=default, choices=TRANSPORT_CHOICES,
        help="how debug sessions run: over the Engine API (no docker CLI needed) or through "
        "the docker CLI (default: auto, or config.toml; auto never needs the CLI)",
    )
    parser.add_argument(
        "--view", default=default, choices=VIEW_CHOICES,
        help="where a sidecar session stands in a running container: inside it (/ is its "
        "live root, the toolbox on PATH) or beside it (/ is the sidecar's own root, the "
        "target's files at /proc/1/root); default: auto (inside wherever it can work), or "
        "config.toml",
    )


def _command_modules() -> list[ModuleType]:
    from dhitui.commands import debug, doctor, info, ls

    return [info, ls, debug, doctor]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dhitui",
        description="Browse running containers, see which are hardened or shell-less and why, "
        "and open a debug session into any of them with one key.",
        epilog="Run `dhitui COMMAND --help` for a command's options. "
        "Exit codes: 0 ok, 1 failed check, 2 usage, 3 configuration, 4 engine unreachable, "
        "5 not found, 6 not possible here.",
    )
    parser.add_argument("--version", action="version", version=f"dhitui {__version__}")
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in _command_modules():
        module.register(sub, common)
    return parser


def split_trailing(argv: Sequence[str]) -> tuple[list[str], list[str] | None]:
    """Split at the first `--`: what follows is a command for a session (`dhitui debug C --
    CMD ...`), passed on word for word, never parsed as dhitui's options."""
    args = list(argv)
    if "--" not in args:
        return args, None
    i = args.index("--")
    return args[:i], args[i + 1 :]


def _standard_fds() -> None:
    """Started with stdin, stdout or stderr closed (`<&-`), the first file dhitui opens would
    take that number, and a session would read from, or write into, its engine socket: give
    each missing one /dev/null instead."""
    import os

    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)


def _one_or_many_hosts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`-H` is given as a list: `args.hosts` keeps it, `args.host` is the one address for
    the commands that follow one engine (several, or --engines, are only for the list)."""
    hosts = list(getattr(args, "host", None) or [])
    args.hosts = hosts
    args.host = hosts[-1] if hosts else None
    many = args.command is None or getattr(args, "many_engines", False)
    if not many and (len(hosts) > 1 or getattr(args, "engines", None)):
        what = "several -H are" if len(hosts) > 1 else "--engines is"
        parser.error(f"{what} for `dhitui`, `ls` and `info`; `dhitui {args.command}` "
                     "works on one engine (-H HOST or -c CONTEXT)")


def main(argv: Sequence[str] | None = None) -> int:
    _standard_fds()
    parser = build_parser()
    own, trailing = split_trailing(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(own)
    if trailing is not None and not getattr(args, "takes_command", False):
        parser.error("`-- COMMAND` is only for `dhitui debug`")
    args.trailing = trailing
    _one_or_many_hosts(parser, args)
    inv = Invocation(args)
    try:
        if args.command is None:
            from dhitui.commands.tui import run as run_tui

            return run_tui(inv)
        runner: Callable[[Invocation], int] = args.func
        return int(runner(inv))
    except DhituiError as exc:
        report(exc)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("dhitui: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # Output piped into `head` and friends: not an error worth a traceback.
        sys.stderr.close()
        return int(ExitCode.OK)
