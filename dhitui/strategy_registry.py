"""The debug strategies, in one place: their names, their order, what each is and needs.

Everything else derives from `REGISTRY`: the config file's and `--strategy`'s choices, the
planner's ranking and its builders (`sessions.strategies` checks it builds exactly these),
the banner before a session, `doctor`'s choice of which blocked strategy to unblock, and the
help screen. Adding a strategy is one entry here plus its builder in `sessions.strategies`.

This module sits at the bottom of the layers (next to `models`): plain data, no I/O, so the
config loader can use it as well as the TUI.
"""

from __future__ import annotations

from dataclasses import dataclass

AUTO = "auto"


@dataclass(frozen=True)
class StrategyInfo:
    """One debug strategy, as the user sees it."""

    name: str
    title: str  # one line: what it is
    help: str  # a sentence for the help screen (Markdown)
    needs: tuple[str, ...]  # what it needs, in general terms
    sidecar: bool  # starts a helper container (removed when the session ends)
    cli_only: bool = False  # a docker CLI plugin by nature: no Engine API form
    own_shell: bool = False  # runs the target's own shell: first choice when it has one
    # Opens a container that does not run (exited, created, dead, crash-looping): these come
    # first for such a container, in registry order.
    opens_stopped: bool = False
    # A sidecar into a running container that can stand inside it or beside it (VIEWS).
    has_views: bool = False


REGISTRY: tuple[StrategyInfo, ...] = (
    StrategyInfo(
        name="docker-debug",
        title="`docker debug`, Docker Desktop's debug shell",
        help="`docker debug`, when the Docker Desktop plugin is installed.",
        needs=("the docker CLI", "the `docker debug` CLI plugin"),
        sidecar=False,
        cli_only=True,
        opens_stopped=True,
    ),
    StrategyInfo(
        name="image-mount",
        title="a sidecar on the target's own image with the toolbox mounted read-only at /dbg",
        help="a sidecar on the target's own image with the toolbox mounted read-only at "
        "`/dbg` (Docker Engine 28+, Podman 2.2+), in the target's PID namespace. Inside "
        "view (default): the session is a process in the target, `/` is its live root and "
        "the toolbox is on PATH; beside view: `/` is the image, the target's files at "
        "`/proc/1/root`.",
        # engine.identity judges it per engine; this is the help screen's wording.
        needs=("image mounts (Docker Engine 28+ / API 1.48, or Podman 2.2+)",
               "the toolbox image present locally",
               "a running container"),
        sidecar=True,
        has_views=True,
    ),
    StrategyInfo(
        name="toolbox",
        title="a sidecar whose root is the toolbox image, in the target's PID and network "
        "namespaces",
        help="a sidecar whose root is the toolbox image, in the target's PID namespace (any "
        "engine). Inside view (default): the session is a process in the target, `/` is its "
        "live root and the toolbox is on PATH; beside view: `/` is the toolbox, the "
        "target's files at `/proc/1/root`.",
        needs=("the toolbox image present locally", "a running container"),
        sidecar=True,
        has_views=True,
    ),
    StrategyInfo(
        name="exec",
        title="the target's own shell",
        help="`docker exec` with the container's own shell.",
        needs=("a shell in the container", "a running container"),
        sidecar=False,
        own_shell=True,
    ),
    # Last: for a running container it is a copy, not the live process (only when asked).
    StrategyInfo(
        name="snapshot",
        title="a temporary snapshot of the container (docker commit) with its volumes, env and "
        "user, the toolbox at /dbg, no network",
        help="for a container that does not run (exited, crashed, crash-looping): a temporary "
        "image of it (`docker commit`, writable layer included) run with the toolbox at "
        "`/dbg`, its volumes, env, working directory and user, and no network; removed when "
        "the session ends.",
        needs=("the toolbox image present locally", "the engine allows docker commit"),
        sidecar=True,
        opens_stopped=True,
    ),
)

NAMES: tuple[str, ...] = tuple(s.name for s in REGISTRY)
CHOICES: tuple[str, ...] = (AUTO, *NAMES)  # what the config file and --strategy accept
SIDECAR_NAMES: tuple[str, ...] = tuple(s.name for s in REGISTRY if s.sidecar)


# Where a session of a strategy with views stands in a running container: `inside` it (a
# process started in the target: its live root at /, the toolbox on PATH, as the target's
# own user) or `beside` it (the sidecar's own root at /, the target's files at
# /proc/1/root). `auto` is inside wherever that can work, else beside, saying why.
INSIDE = "inside"
BESIDE = "beside"
VIEWS: tuple[str, ...] = (INSIDE, BESIDE)
VIEW_CHOICES: tuple[str, ...] = (AUTO, *VIEWS)


def info(name: str) -> StrategyInfo:
    """The registry entry for `name` (KeyError for an unknown one)."""
    for s in REGISTRY:
        if s.name == name:
            return s
    raise KeyError(name)


def ranking(has_shell: bool, running: bool = True) -> tuple[str, ...]:
    """Best first: for a container that does not run, those that open one; else the target's
    own shell when it has one; then the registry's order."""
    if not running:
        first = tuple(s.name for s in REGISTRY if s.opens_stopped)
        return (*first, *(n for n in NAMES if n not in first))
    if not has_shell:
        return NAMES
    own = tuple(s.name for s in REGISTRY if s.own_shell)
    return (*own, *(n for n in NAMES if n not in own))


# How a session runs: Engine API calls made by dhitui itself (`api`), or the docker CLI as a
# child process (`cli`). `auto` is DEFAULT_TRANSPORT, except that it never picks the CLI where
# there is none. The default was chosen by measuring both (time to a prompt, fidelity): see
# docs/benchmarks.md ("Session transports") for the numbers and the machine.
TRANSPORTS: tuple[str, ...] = ("api", "cli")
TRANSPORT_CHOICES: tuple[str, ...] = (AUTO, *TRANSPORTS)
DEFAULT_TRANSPORT = "api"


def may_use_cli(requested: str) -> bool:
    """Whether a session asked for with this transport may run through the docker CLI (so
    that the CLI's version, which costs a process start to learn, matters to its plan)."""
    return requested == "cli" or (requested == AUTO and DEFAULT_TRANSPORT == "cli")
