"""What the panel worked out about each container of one engine session: its debug plan and
checks (`ContainerDetails`), kept by container ID in a `DetailsCache` that the session owns
and the app keeps in line with events, reconnects and sessions."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dhitui.diagnostics import Check
    from dhitui.sessions import SessionPlan


@dataclass(frozen=True)
class ContainerDetails:
    """What was worked out about one container for the panel: its debug plan and checks,
    and when (time.monotonic())."""

    plan: SessionPlan
    checks: list[Check]
    made: float


class DetailsCache:
    """The containers' details, by container ID; dropped when the container changes, the
    engine comes back, or a session into it ends (the caller says which)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, ContainerDetails] = {}

    def put(self, container_id: str, plan: SessionPlan, checks: list[Check]) -> None:
        with self._lock:
            self._items[container_id] = ContainerDetails(plan, checks, time.monotonic())

    def get(self, container_id: str) -> ContainerDetails | None:
        with self._lock:
            return self._items.get(container_id)

    def fresh_plan(self, container_id: str, max_age: float) -> SessionPlan | None:
        """The plan, when it was made within `max_age` seconds."""
        details = self.get(container_id)
        if details is None or time.monotonic() - details.made >= max_age:
            return None
        return details.plan

    def drop(self, container_id: str) -> None:
        with self._lock:
            self._items.pop(container_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __contains__(self, container_id: object) -> bool:
        with self._lock:
            return container_id in self._items
