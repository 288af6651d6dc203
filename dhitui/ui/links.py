"""What the app knows about each engine session's connection: a `LinkState` and the facts
that go with it (`EngineLink`). Plain data, changed on the app's thread only; a change of
state is told to the link's watcher (the app redraws the engine section then)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dhitui.diagnostics.check import Check
    from dhitui.engine.capabilities import Capabilities
    from dhitui.errors import DhituiError
    from dhitui.live import EngineSession


class LinkState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    UNREACHABLE = "unreachable"  # it answered before, or never did: retrying
    NOT_CONFIGURED = "not configured"  # retrying cannot help (bad configuration)

    @property
    def label(self) -> str:
        """The state as the panel says it."""
        if self is LinkState.UNREACHABLE:
            return "unreachable — waiting for it to come back"
        return self.value


@dataclass(eq=False)
class EngineLink:
    """One engine session as the app follows it."""

    session: EngineSession
    watcher: Callable[[EngineLink], None] = field(repr=False)
    state: LinkState = LinkState.CONNECTING
    error: DhituiError | None = None
    # What last happened to the connection, for the panel ("lost at…", "back at…").
    history: str | None = None
    lost_at: float | None = None  # time.monotonic() when the engine went away
    caps: Capabilities | None = None
    checks: list[Check] = field(default_factory=list)  # the panel's host and engine checks
    # Verdicts first: secondary work (capabilities, checks, orphans) waits for the first
    # classification of the list.
    list_loaded: bool = False
    classify_pending: bool = False
    secondary_started: bool = False
    secondary_ever: bool = False
    secondary_timer: Any = None
    orphans_offered: bool = False

    @property
    def name(self) -> str:
        return self.session.name

    @property
    def connected(self) -> bool:
        return self.state is LinkState.CONNECTED

    def set_state(self, state: LinkState, error: DhituiError | None = None) -> None:
        self.state, self.error = state, error
        self.watcher(self)
