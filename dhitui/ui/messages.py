"""Messages the worker threads post to the app (`post_message` is thread-safe)."""

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
    from dhitui.models import Classification, ContainerSummary
    from dhitui.sessions import SessionPlan, Sidecar


@dataclass
class EngineConnected(Message):
    endpoint: Endpoint


@dataclass
class EngineLost(Message):
    """The engine stopped answering (or never did); workers keep trying."""

    error: DhituiError


@dataclass
class EngineFailed(Message):
    """A problem retrying cannot fix (bad configuration)."""

    error: DhituiError


@dataclass
class ContainersLoaded(Message):
    summaries: list[ContainerSummary]
    all: bool = False  # listed with stopped containers (the view it was asked for)


@dataclass
class ContainerChanged(Message):
    change: ContainerChange


@dataclass
class Classified(Message):
    results: list[Classification]


@dataclass
class ClassifyFinished(Message):
    """A classify worker handed over its last result (or gave up)."""


@dataclass
class CapabilitiesReady(Message):
    caps: Capabilities


@dataclass
class HostChecksReady(Message):
    """Endpoint/socket/daemon checks plus engine checks (when it answers)."""

    checks: list[Check]


@dataclass
class ContainerChecksReady(Message):
    container_id: str
    checks: list[Check]
    plan: SessionPlan


@dataclass
class PlanReady(Message):
    """A fresh plan for an action the user asked for: run it, pick a strategy, or copy."""

    container_id: str
    plan: SessionPlan
    purpose: Literal["run", "pick", "copy"]


@dataclass
class OrphansFound(Message):
    sidecars: list[Sidecar]
