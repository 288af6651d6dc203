"""Every strategy's registry entry and builder, in `StrategyName`'s order: the one list of
strategy modules.

A strategy module holds `INFO` (its `StrategyInfo`: what it is, what it needs) and
`build(Inputs) -> Strategy`. Adding a strategy is a name in `strategy_registry.StrategyName`
(where it goes in the order) and its module, listed here; the assertion below refuses a
name without a module or a module without a name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# Spelled out: tests/test_architecture.py keeps docker-py inside dhitui.engine by looking
# for the module name docker right after the word import, as text.
import dhitui.sessions.strategies.docker_debug as docker_debug
from dhitui.sessions.strategies import exec, image_mount, snapshot, toolbox
from dhitui.sessions.strategies.common import Inputs, Strategy, StrategyInfo
from dhitui.strategy_registry import NAMES, StrategyName


class StrategyModule(Protocol):
    """What a strategy module holds."""

    INFO: StrategyInfo

    def build(self, ins: Inputs) -> Strategy: ...


_MODULES: tuple[StrategyModule, ...] = (docker_debug, image_mount, toolbox, exec, snapshot)
_BY_NAME: dict[StrategyName, StrategyModule] = {m.INFO.name: m for m in _MODULES}
assert set(_BY_NAME) == set(NAMES) and len(_MODULES) == len(NAMES), \
    "a strategy name without its module, or a module without its name"

REGISTRY: tuple[StrategyInfo, ...] = tuple(_BY_NAME[name].INFO for name in NAMES)
SIDECAR_NAMES: tuple[StrategyName, ...] = tuple(s.name for s in REGISTRY if s.sidecar)


def info(name: str) -> StrategyInfo:
    """The registry entry for `name` (KeyError for an unknown one)."""
    for s in REGISTRY:
        if s.name == name:
            return s
    raise KeyError(name)


def builder(name: StrategyName) -> Callable[[Inputs], Strategy]:
    """The function that builds the strategy `name` for some inputs."""
    return _BY_NAME[name].build


def ranking(has_shell: bool, running: bool = True) -> tuple[StrategyName, ...]:
    """Best first: for a container that does not run, those that open one; else the target's
    own shell when it has one; then the registry's order."""
    if not running:
        first = tuple(s.name for s in REGISTRY if s.opens_stopped)
        return (*first, *(n for n in NAMES if n not in first))
    if not has_shell:
        return NAMES
    own = tuple(s.name for s in REGISTRY if s.own_shell)
    return (*own, *(n for n in NAMES if n not in own))
