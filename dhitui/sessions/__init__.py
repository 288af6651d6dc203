"""Debug sessions into any container (or image): strategies, running them, cleaning up.

Public API (no Textual here; the TUI suspends itself and calls the same functions):

    plan = plan_session(engine, caps, "payments-api")      # or a Classification, or image=
    plan.chosen.name, plan.command_line, plan.strategies    # what, exactly how, alternatives
    result = run_session(plan, engine)                      # blocks; terminal handed over
    result.exit_status, result.message

    list_sidecars(engine) / find_orphans(engine) / remove_orphans(engine)
    is_orphan(labels, state, target_state)                  # the rule, for diagnostics

Modules: `strategies` (pure planning), `argv` (every docker command line, in one place),
`targets` (facts from the engine), `planner` (`plan_session`), `runner` (`run_session`),
`snapshot` (sessions into containers that do not run), `orphans`, `labels`.
"""

from dhitui.sessions.banner import describe_command, describe_start
from dhitui.sessions.orphans import (
    Removal,
    Sidecar,
    find_orphans,
    is_orphan,
    judge,
    list_sidecars,
    remove_orphans,
)
from dhitui.sessions.planner import plan_session
from dhitui.sessions.runner import SessionResult, remove_sidecar, run_session
from dhitui.sessions.strategies import (
    AUTO,
    STRATEGIES,
    Need,
    SessionOptions,
    SessionPlan,
    Strategy,
)
from dhitui.sessions.targets import ContainerTarget, ImageTarget, ToolboxInfo

__all__ = [
    "AUTO",
    "STRATEGIES",
    "ContainerTarget",
    "ImageTarget",
    "Need",
    "Removal",
    "SessionOptions",
    "SessionPlan",
    "SessionResult",
    "Sidecar",
    "Strategy",
    "ToolboxInfo",
    "describe_command",
    "describe_start",
    "find_orphans",
    "is_orphan",
    "judge",
    "list_sidecars",
    "plan_session",
    "remove_orphans",
    "remove_sidecar",
    "run_session",
]
