"""The unit of diagnostics: one `Check` with a status, what was seen, and the safest fix.

Checks are plain data: `dhitui doctor` prints them (human or JSON) and the TUI side panel
shows them. All text in a check is plain text (no Rich markup); whoever displays it escapes
it, because summaries and details quote engine-controlled strings (labels, paths, names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail")


@dataclass(frozen=True)
class ContainerRef:
    """Which container a check is about."""

    id: str
    name: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class Check:
    """One diagnostic result.

    `id` is stable and dotted by area (`host.socket`, `engine.toolbox`, `container.mount`, ...);
    a container check may appear more than once for one container (one per bind mount).
    `fix` is the safest concrete step (a command when there is one), `alternatives` the other
    fixes in order of safety. `data` carries the facts behind the text for scripts (gid, mode,
    paths, kinds); its keys are documented per check id in the module that makes it.
    """

    id: str
    status: Status
    summary: str
    detail: str = ""
    fix: str | None = None
    alternatives: tuple[str, ...] = ()
    container: ContainerRef | None = None
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)  # keeps Check hashable

    @property
    def area(self) -> str:
        """`host`, `engine` or `container`: the part of the id before the first dot."""
        return self.id.split(".", 1)[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "summary": self.summary,
            "detail": self.detail,
            "fix": self.fix,
            "alternatives": list(self.alternatives),
            "container": self.container.to_json() if self.container else None,
            "data": dict(self.data),
        }


def counts(checks: Iterable[Check]) -> dict[str, int]:
    out: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for c in checks:
        out[c.status] += 1
    return out


def any_failed(checks: Iterable[Check]) -> bool:
    return any(c.status == "fail" for c in checks)
