"""The debug strategies' names and their order, the views and the transports: the words a
user types and the JSON carries.

`StrategyName` lists the strategies in the planner's order (its declaration order is the
registry's order); everything else about a strategy (what it is, what it needs, how it is
built) lives in its own module of `sessions.strategies`, which checks that it has exactly
one module per name here. The config file's and `--strategy`'s choices, `--view` and
`--transport` come from this module.

This module sits at the bottom of the layers (next to `models`): plain data, no I/O, so the
config loader and the command line parser can use it without importing the sessions code.
The names are `StrEnum`s: they compare, hash, format and serialise as the plain strings.
"""

from __future__ import annotations

from enum import StrEnum

AUTO = "auto"


class StrategyName(StrEnum):
    """The strategies, in the registry's order (the ranking starts from it)."""

    DOCKER_DEBUG = "docker-debug"
    IMAGE_MOUNT = "image-mount"
    TOOLBOX = "toolbox"
    EXEC = "exec"
    # Last: for a running container it is a copy, not the live process (only when asked).
    SNAPSHOT = "snapshot"


NAMES: tuple[StrategyName, ...] = tuple(StrategyName)
# Plain strings: argparse and the config loader quote them in their messages.
CHOICES: tuple[str, ...] = (AUTO, *(n.value for n in NAMES))  # config file, --strategy


class View(StrEnum):
    """Where a session of a strategy with views stands in a running container: `inside` it
    (a process started in the target: its live root at /, the toolbox on PATH, as the
    target's own user) or `beside` it (the sidecar's own root at /, the target's files at
    /proc/1/root). `auto` is inside wherever that can work, else beside, saying why."""

    INSIDE = "inside"
    BESIDE = "beside"


INSIDE = View.INSIDE
BESIDE = View.BESIDE
VIEWS: tuple[View, ...] = tuple(View)
VIEW_CHOICES: tuple[str, ...] = (AUTO, *(v.value for v in VIEWS))


class Transport(StrEnum):
    """How a session runs: Engine API calls made by dhitui itself (`api`), or the docker CLI
    as a child process (`cli`). `auto` is DEFAULT_TRANSPORT, except that it never picks the
    CLI where there is none. The default was chosen by measuring both (time to a prompt,
    fidelity): see docs/benchmarks.md ("Session transports") for the numbers and the
    machine."""

    API = "api"
    CLI = "cli"


TRANSPORTS: tuple[Transport, ...] = tuple(Transport)
TRANSPORT_CHOICES: tuple[str, ...] = (AUTO, *(t.value for t in TRANSPORTS))
DEFAULT_TRANSPORT = Transport.API


def may_use_cli(requested: str) -> bool:
    """Whether a session asked for with this transport may run through the docker CLI (so
    that the CLI's version, which costs a process start to learn, matters to its plan)."""
    return requested == Transport.CLI or (
        requested == AUTO and DEFAULT_TRANSPORT == Transport.CLI)
