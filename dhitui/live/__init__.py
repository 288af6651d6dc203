"""What an interactive front end drives: engine sessions (dhitui.live.engine_session) and
the fleet that holds them (dhitui.live.fleet). No Textual here."""

from dhitui.engine.selection import DEFAULT_NAME
from dhitui.live.details import ContainerDetails, DetailsCache
from dhitui.live.engine_session import ContainerChange, EngineSession, ListFreshness
from dhitui.live.fleet import Fleet

__all__ = [
    "DEFAULT_NAME", "ContainerChange", "ContainerDetails", "DetailsCache", "EngineSession",
    "Fleet", "ListFreshness",
]
