"""`dhitui` with no subcommand: the interactive browser."""

from __future__ import annotations

from dhitui.commands.base import Invocation


def run(inv: Invocation) -> int:
    from dhitui.live import Backend
    from dhitui.ui.app import DhituiApp

    backend = Backend(
        host=getattr(inv.args, "host", None),
        context=getattr(inv.args, "context", None),
        toolbox=inv.toolbox,
        strategy=inv.settings.strategy,
        env=inv.env,
    )
    # Bad configuration (malformed DOCKER_HOST, unknown context, ...) is a startup error with
    # a clear message, not something to discover inside the UI.
    backend.endpoint  # noqa: B018
    try:
        result = DhituiApp(backend).run()
    finally:
        backend.close()
    return int(result or 0)
