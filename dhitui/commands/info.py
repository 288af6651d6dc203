"""`dhitui info`: which engine, why, and what it allows."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from dhitui.commands.base import Invocation, console, each_engine, print_json
from dhitui.errors import EngineUnavailable, ExitCode

if TYPE_CHECKING:
    from dhitui.engine.endpoint import Endpoint


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "info",
        parents=[common],
        help="show the chosen engine endpoint, why it was chosen, and its capabilities",
        description="Show the engine endpoint dhitui uses, why it was chosen, and what the "
        "engine and this machine allow (image mounts, docker debug, toolbox image, ...).",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run, many_engines=True)


def run(inv: Invocation) -> int:
    chosen = inv.engines()
    if len(chosen) == 1:
        data, failure = _info_one(chosen[0].endpoint, inv)
        if failure is not None and not inv.args.json:
            raise failure
        if inv.args.json:
            print_json(data)
        else:
            _print_human(data)
        return int(failure.exit_code if failure is not None else ExitCode.OK)
    found = each_engine(chosen, lambda n: _info_one(n.endpoint, inv))
    if inv.args.json:
        print_json([{"name": named.name, **data}
                    for named, (data, _) in zip(chosen, found, strict=True)])
    else:
        from dhitui.textsafe import markup_safe as m

        out = console()
        for i, (named, (data, failure)) in enumerate(zip(chosen, found, strict=True)):
            out.print(("\n" if i else "") + f"[bold magenta]{m(named.name)}[/]")
            if failure is None:
                _print_human(data)
            else:
                out.print(f"  {m(data['endpoint'])}: [yellow]{m(failure.message)}[/]")
    failures = [f for _, f in found if f is not None]
    return int(failures[0].exit_code if failures else ExitCode.OK)


def _info_one(endpoint: Endpoint, inv: Invocation
              ) -> tuple[dict[str, Any], EngineUnavailable | None]:
    """One engine's info, or (where it does not answer) its address, why it was chosen and
    the error."""
    from dhitui.engine.capabilities import probe_capabilities
    from dhitui.engine.client import connect

    try:
        engine = connect(endpoint)
    except EngineUnavailable as exc:
        return {"endpoint": endpoint.url, "source": endpoint.source, "reason": endpoint.reason,
                "context": endpoint.context,
                "error": {"kind": exc.kind, "message": exc.message}}, exc
    try:
        caps = probe_capabilities(engine, inv.toolbox, inv.env)
    finally:
        engine.close()
    from dhitui.sessions.strategies import resolve_transport

    return {**caps.to_json(), "session_transport": resolve_transport(inv.transport, caps)}, None


def _yes(v: object) -> str:
    return "[green]yes[/]" if v else "[dim]no[/]"


def _print_human(c: dict[str, Any]) -> None:
    from rich.table import Table

    from dhitui.textsafe import markup_safe as m

    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("Endpoint", m(c["endpoint"]))
    t.add_row("  chosen by", f"[dim]{c['source']}[/]: {m(c['reason'])}")
    t.add_row(
        "Engine",
        f"{m(c['engine'])} {m(c['engine_version'])} (API {m(c['api_version'])}, using "
        f"{m(c['negotiated_api_version'])}) {m(c['os'])}/{m(c['arch'])}",
    )
    t.add_row("  host", f"{m(c['operating_system'])}, kernel {m(c['kernel'])}")
    seccomp = m(c["seccomp_profile"]) if c["seccomp_profile"] else "[dim]off[/]"
    t.add_row(
        "Security",
        f"rootless {_yes(c['rootless'])}  userns {_yes(c['userns'])}  seccomp {seccomp}  "
        f"apparmor {_yes(c['apparmor'])}  selinux {_yes(c['selinux'])}",
    )
    t.add_row(
        "  cgroup",
        f"v{m(c['cgroup_version'] or '?')} ({m(c['cgroup_driver'] or '?')}), "
        f"storage {m(c['storage_driver'] or '?')}",
    )
    mounts = (
        f"[green]yes[/] ({m(c['image_mounts_requirement'])})"
        if c["image_mounts"]
        else f"[yellow]no[/] ({m(c['image_mounts_reason'])})"
    )
    t.add_row("Image mounts", mounts)
    sessions = ("[green]over the Engine API[/] [dim](no docker CLI needed)[/]"
                if c["session_transport"] == "api" else "through the docker CLI")
    t.add_row("Debug sessions", sessions)
    cli = (
        f"{m(c['docker_cli'])} [dim]{m(c['docker_cli_path'])}[/]"
        if c["docker_cli"]
        else "[dim]not on PATH (optional: only `docker debug` and --transport cli use it)[/]"
    )
    t.add_row("docker CLI", cli)
    plugin = c["docker_debug_plugin"]
    if plugin and c["docker_debug"]:
        dbg = f"[green]installed[/] {m(plugin['version'])} [dim]{m(plugin['path'])}[/]"
    elif plugin:
        dbg = f"[yellow]plugin found but no docker CLI to run it[/] [dim]{m(plugin['path'])}[/]"
    else:
        dbg = "[dim]not installed (a Docker Desktop CLI plugin)[/]"
    t.add_row("docker debug", dbg)
    box = (
        "[green]present locally[/]"
        if c["toolbox_image_present"]
        else "[yellow]not present locally[/] (debug sessions that mount it will not work)"
    )
    t.add_row("Toolbox image", f"{m(c['toolbox_image'])}: {box}")
    console().print(t)
