"""The engine's event stream as dhitui follows it, against a real Podman whose file events log
rotates (scripts/test-engines sets `events_logfile_max_size` low so it does so often): the
stream tells only news, never the replay of the rotated log."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest

from dhitui.engine.client import REPLAY_TOLERANCE_NS, connect, event_time_ns
from dhitui.engine.endpoint import resolve_endpoint

from conftest import TOOLBOX_IMAGE, EngineUnderTest

pytestmark = pytest.mark.engine

DEADLINE = 60.0
MAX_CONTAINERS = 1500  # rotation at 128 KiB comes within ~250 create+remove pairs


def test_a_rotated_podman_events_log_is_not_replayed(podman_engine: EngineUnderTest) -> None:
    engine = connect(resolve_endpoint(host=podman_engine.host))
    label = f"dhitui.test.events={uuid.uuid4().hex}"
    began = time.time_ns()
    stream = engine.event_stream(filters={"type": ["container"]})
    told: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def read() -> None:
        try:
            for event in stream:
                told.put(event)
        finally:
            told.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    made = 0
    try:
        # Churn until the engine has rotated its log and replayed it into the stream.
        while stream.replayed == 0:
            assert made < MAX_CONTAINERS, (
                f"no replay after {made} containers: does this Podman still rotate its "
                "events log and replay it to a following stream?")
            cid = engine.api.create_container(TOOLBOX_IMAGE, ["true"], labels=dict(
                [label.split("=", 1)]), network_disabled=True)["Id"]
            engine.api.remove_container(cid)
            made += 1
        marker = engine.api.create_container(TOOLBOX_IMAGE, ["true"],
                                             network_disabled=True)["Id"]
        engine.api.remove_container(marker)
        events: list[dict[str, Any]] = []
        end = time.monotonic() + DEADLINE
        while True:
            event = told.get(timeout=max(0.1, end - time.monotonic()))
            assert event is not None, "the event stream ended"
            events.append(event)
            if event.get("Actor", {}).get("ID") == marker and event.get("Action") == "remove":
                break
    finally:
        stream.close()
        engine.close()
    times = [event_time_ns(e) for e in events]
    assert all(times), "every event says when it happened"
    assert min(times) >= began - REPLAY_TOLERANCE_NS, "an event from before the stream opened"
    told_twice = [k for k, n in Counter((e["Actor"]["ID"], e["Action"], event_time_ns(e))
                                        for e in events).items() if n > 1]
    assert told_twice == []
    ours = {e["Actor"]["ID"] for e in events
            if e["Actor"].get("Attributes", {}).get(label.split("=")[0]) == label.split("=")[1]}
    assert len(ours) == made, "every container made was told"
