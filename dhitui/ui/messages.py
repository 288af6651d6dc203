"""Messages the worker threads post to the app (`post_message` is thread-safe).

Each message about an engine names its engine session (`engine`, the session's name in the
fleet); a message about a container carries its `ContainerKey`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textual.message import Message

if TYPE_CHECKING:
    # Types only: importing sessions and diagnostics here would put them on the path to the
    # first frame (see docs/benchmarks.md).
    from dhitui.diagnostics.check import Check
    from dhitui.engine.capabilities import Capabilities
    from dhitui.engine.endpoint import Endpoint
    from dhitui.errors import DhituiError
    from dhitui.live import ContainerChange
    from dhitui.models import Classification, ContainerKey, ContainerSummary
    from dhitui.sessions import SessionPlan, Sidecar


@dataclass
class EngineConnected(Message):
    engine: str
    endpoint: Endpoint


@dataclass
class EngineLost(Message):
    """The engine stopped answering (or never did); workers keep trying."""

    engine: str
    error: DhituiError


@dataclass
class EngineFailed(Message):
    """A problem retrying cannot fix (bad configuration)."""

    engine: str
    error: DhituiError


@dataclass
class ContainersLoaded(Message):
    engine: str
    summaries: list[ContainerSummary]
    all: bool = False  # listed with stopped containers (the view it was asked for)


@dataclass
class ContainerChanged(Message):
    engine: str
    change: ContainerChange


@dataclass
class Classified(Message):
    engine: str
    results: list[Classification]


@dataclass
class ClassifyFinished(Message):
    """A classify worker handed over its last result (or gave up)."""

    engine: str


@dataclass
class CapabilitiesReady(Message):
    engine: str
    caps: Capabilities


@dataclass
class HostChecksReady(Message):
    """Endpoint/socket/daemon checks plus engine checks (when it answers)."""

    engine: str
    checks: list[Check]


@dataclass
class ContainerChecksReady(Message):
    key: ContainerKey
    checks: list[Check]
    plan: SessionPlan


@dataclass
class PlanReady(Message):
    """A fresh plan for an action the user asked for: run it, pick a strategy, or copy."""

    key: ContainerKey
    plan: SessionPlan
    purpose: Literal["run", "pick", "copy"]


@dataclass
class OrphansFound(Message):
    engine: str
    sidecars: list[Sidecar]
