"""`dhitui` with no subcommand: the interactive browser."""

from __future__ import annotations

from dhitui.commands.base import Invocation


def run(inv: Invocation) -> int:
    from dhitui.live import EngineSession, Fleet

    # Bad configuration (malformed DOCKER_HOST, unknown context or engine name, ...) is a
    # startup error with a clear message, not something to discover inside the UI.
    chosen = inv.engines()
    fleet = Fleet([
        EngineSession(
            name=named.name,
            endpoint=named.endpoint,
            toolbox=inv.toolbox,
            strategy=inv.settings.strategy,
            transport=inv.transport,
            view=inv.view,
            env=inv.env,
        )
        for named in chosen
    ])
    # Connect, subscribe and list while Textual is imported and the screen is built, so the
    # list is there for the first frames (docs/benchmarks.md has what it saves).
    for session in fleet:
        session.start_early(all=False)
    from dhitui.ui.app import DhituiApp

    try:
        result = DhituiApp(fleet).run()
    finally:
        fleet.close()
    return int(result or 0)
