"""`dhitui` with no subcommand: the interactive browser."""

from __future__ import annotations

from dhitui.commands.base import Invocation


def run(inv: Invocation) -> int:
    from dhitui.live import EngineSession

    backend = EngineSession(
        host=getattr(inv.args, "host", None),
        context=getattr(inv.args, "context", None),
        toolbox=inv.toolbox,
        strategy=inv.settings.strategy,
        transport=inv.transport,
        view=inv.view,
        env=inv.env,
    )
    # Bad configuration (malformed DOCKER_HOST, unknown context, ...) is a startup error with
    # a clear message, not something to discover inside the UI.
    backend.endpoint  # noqa: B018
    # Connect, subscribe and list while Textual is imported and the screen is built, so the
    # list is there for the first frames (docs/benchmarks.md has what it saves).
    backend.start_early(all=False)
    from dhitui.ui.app import DhituiApp

    try:
        result = DhituiApp(backend).run()
    finally:
        backend.close()
    return int(result or 0)
