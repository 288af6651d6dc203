"""Choosing how to open a debug session: pure planning, no I/O.

Inputs are facts already gathered (the target, the engine's `Capabilities`, the `Endpoint`,
the toolbox) and the user's options; the output is a `SessionPlan`: every strategy as plain
data — available or not, why, what it needs, the choices it made and the exact argv — best
first, with the one that will run.

One module per strategy, each with its registry entry (`INFO`) and its builder (`build`):

- `docker_debug`: `docker debug TARGET`, Docker Desktop's CLI plugin, when installed.
- `image_mount`: a sidecar built on the target's own image, in the target's PID and network
  namespaces, running as the target's user, with the toolbox image mounted read-only at
  `/dbg` and its shell as the entrypoint. Needs image mounts (Engine 28+, API 1.48).
- `toolbox`: a sidecar whose root is the toolbox image, in the target's PID and network
  namespaces, as the target's user. For engines without image mounts.
- `exec`: `docker exec -it TARGET SHELL` when the container has a shell.
- `snapshot`: for a container that does not run (exited, created, dead, crash-looping): a
  temporary image of it (`docker commit`), run with the toolbox at `/dbg`, its volumes, env,
  working directory and user, and no network (see `dhitui.sessions.snapshot`).

What they share: `common` (the options, a strategy as data, the inputs and checks, the
requirements several have) and `sidecars` (who a sidecar runs as, the inside and beside
views). `catalogue` lists the modules in `strategy_registry.StrategyName`'s order;
`session_plan` builds them all for a target, ranks them and chooses.

Each strategy describes what runs once, as a spec (`dhitui.engine.specs`); the docker command
line shown and copied, and the Engine API calls of the API transport, both come from it. Every
strategy but `docker-debug` (a CLI plugin) runs over either transport (`Transport`).

The automatic choice: a container with its own shell gets `exec` (nothing extra runs, nothing
to clean up, the same view as the app); one without gets `docker-debug` if installed, else
`image-mount`, else `toolbox`. A container that does not run gets `docker-debug` if
installed, else `snapshot` (the others need a running process to join).
"""

from dhitui.sessions.strategies.catalogue import REGISTRY, SIDECAR_NAMES, info, ranking
from dhitui.sessions.strategies.common import (
    Need,
    SessionOptions,
    Strategy,
    StrategyInfo,
    resolve_transport,
    target_state_problem,
)
from dhitui.sessions.strategies.session_plan import SessionPlan, plan, target_ranking
from dhitui.sessions.strategies.sidecars import groups_note
from dhitui.strategy_registry import AUTO, NAMES, StrategyName, Transport

STRATEGIES = NAMES

__all__ = [
    "AUTO",
    "REGISTRY",
    "SIDECAR_NAMES",
    "STRATEGIES",
    "Need",
    "SessionOptions",
    "SessionPlan",
    "Strategy",
    "StrategyInfo",
    "StrategyName",
    "Transport",
    "groups_note",
    "info",
    "plan",
    "ranking",
    "resolve_transport",
    "target_ranking",
    "target_state_problem",
]
