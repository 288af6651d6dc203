"""Every engine the front end shows: a `Fleet` of `EngineSession`s, by name, in order.

One engine is the common case and costs nothing more: a fleet of one session. Rows, plans
and messages name the session they belong to (`models.ContainerKey`), so that another
engine is one more session here, not a change in every caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from dhitui.errors import UsageError

if TYPE_CHECKING:
    from dhitui.live.engine_session import EngineSession
    from dhitui.models import ContainerKey


class Fleet:
    """Engine sessions by name, in the order they were given (the order they are shown)."""

    def __init__(self, sessions: list[EngineSession]) -> None:
        if not sessions:
            raise UsageError("a fleet needs at least one engine")
        self._sessions: dict[str, EngineSession] = {}
        for session in sessions:
            if session.name in self._sessions:
                raise UsageError(f"two engines are named {session.name!r}")
            self._sessions[session.name] = session

    @classmethod
    def of(cls, session: EngineSession | Fleet) -> Fleet:
        """A fleet as given, or one of a single session."""
        return session if isinstance(session, Fleet) else cls([session])

    def __getitem__(self, name: str) -> EngineSession:
        return self._sessions[name]

    def __iter__(self) -> Iterator[EngineSession]:
        return iter(list(self._sessions.values()))

    def __len__(self) -> int:
        return len(self._sessions)

    @property
    def names(self) -> list[str]:
        return list(self._sessions)

    def session_of(self, key: ContainerKey) -> EngineSession:
        """The session a row belongs to."""
        return self._sessions[key.engine]

    def stop_events(self) -> None:
        for session in self:
            session.stop_events()

    def close(self) -> None:
        for session in self:
            session.close()
