"""Typeahead: keys typed right after a key that opens something go to what it opens.

Why keys got lost: Textual hands each key to the widget focused *when the app dispatches it*.
A key like `/` reaches the app's (non-priority) binding only after it has travelled to the
focused table and bubbled back; the keys of the same burst ("/noisy" pasted or typed fast)
were already handed to the table by then, which ignores them. And keys that open a screen
after a worker answers (`D` plans first, `i` asks the engine) can be followed by keys long
before the screen exists.

Two parts fix it for every such key (`opens` in ui/keys.py):
- The keys are priority bindings: the app runs them *before* dispatching the next key, so
  an input on the same screen (the filter) has the focus when the next key is dispatched.
- For keys that open a screen, the app holds the keys that follow (`KeyHold`) until a widget
  of a screen pushed since then has the focus, then dispatches them, in order, as if they
  had just arrived. If the screen does not come (the engine said no), they are dropped: they
  were typed for that screen, and acting on the list instead could debug the wrong thing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from textual import events

# How long keys may wait for a screen before they are dropped (a plan on a slow engine
# takes a few seconds at worst; this only bounds a screen that never comes).
HOLD_LIMIT = 15.0

# Keys that are never held: leaving the app must always work.
PASS_THROUGH = frozenset({"ctrl+q"})

Held = events.Key | events.Paste


@dataclass
class KeyHold:
    """The keys waiting for a screen that is being opened."""

    since_depth: int = 0  # screen stack depth when the hold began; a deeper screen ends it
    started: float = 0.0
    active: bool = False
    keys: list[Held] = field(default_factory=list)

    def begin(self, depth: int) -> None:
        if not self.active:
            self.active = True
            self.since_depth = depth
            self.started = time.monotonic()

    def wants(self, event: events.Event) -> bool:
        """Whether `event` must wait (it is a key or paste that arrived during a hold)."""
        if not self.active or not isinstance(event, (events.Key, events.Paste)):
            return False
        if event.is_forwarded:
            return False  # already dispatched once; bubbling back to the app
        return not (isinstance(event, events.Key) and event.key in PASS_THROUGH)

    def keep(self, event: Held) -> None:
        self.keys.append(event)

    def opened(self, depth: int) -> bool:
        """A widget on a screen at `depth` got the focus: does that end the hold?"""
        return self.active and depth > self.since_depth

    def expired(self) -> bool:
        return self.active and time.monotonic() - self.started > HOLD_LIMIT

    def end(self) -> list[Held]:
        """Stop holding; the keys kept, oldest first."""
        keys, self.keys = self.keys, []
        self.active = False
        return keys
