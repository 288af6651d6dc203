"""One engine as an interactive front end sees it: an `EngineSession` owns the connection,
the event stream, the capabilities, the image facts (its classifier's) and what was last
worked out per container (its plan and checks, `ContainerDetails`), and answers the reads
behind the keys.

No Textual here: the TUI calls these from worker threads and turns the callbacks into
messages. Each method is a blocking call that raises `DhituiError`s (EngineUnavailable when
the engine goes away); none of them touches UI state. Several sessions make a `Fleet`
(dhitui.live.fleet).

Why one module of this size: every method is a thin, blocking front for a lower layer, and
they share one lock, one connection and one early start; the containers' details live apart
(dhitui.live.details).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhitui.config import DEFAULT_TOOLBOX
from dhitui.engine.selection import DEFAULT_NAME
from dhitui.errors import DhituiError
from dhitui.live.details import DetailsCache
from dhitui.strategy_registry import AUTO

if TYPE_CHECKING:
    from dhitui.detect import Classifier
    from dhitui.diagnostics import Check, HostView
    from dhitui.engine.capabilities import Capabilities
    from dhitui.engine.client import Engine, EventStream
    from dhitui.engine.endpoint import Endpoint
    from dhitui.logfollow import LogFollower
    from dhitui.models import Classification, ContainerSummary
    from dhitui.sessions import Removal, SessionPlan, SessionResult, Sidecar

# A container is gone: Docker says "destroy", Podman "remove".
_GONE_ACTIONS = {"destroy", "remove"}
# Container actions after which the row must be re-read (state, name or existence changed).
_ROW_ACTIONS = {
    "create", "start", "restart", "die", "stop", "kill", "pause", "unpause", "rename",
    "oom", "health_status", *_GONE_ACTIONS,
}
# Actions that may mean a new filesystem to look at (a new container).
_CLASSIFY_ACTIONS = {"create", "start"}
_EVENT_FILTERS = {"type": ["container", "image"]}

# Benchmark milestones (bench/ reads them): with DHITUI_BENCH_LOG=path, lines
# "<time.monotonic()> <event> <count>" are appended to that file. Read once at import; unset,
# each milestone costs one truth test.
_BENCH_LOG = os.environ.get("DHITUI_BENCH_LOG")


def _milestone(event: str, count: int) -> None:
    if _BENCH_LOG:
        with open(_BENCH_LOG, "a", encoding="utf-8") as log:
            log.write(f"{time.monotonic():.6f} {event} {count}\n")


@dataclass(frozen=True)
class ContainerChange:
    """One container row to add/update (`summary`) or remove (`summary` None)."""

    container_id: str
    summary: ContainerSummary | None
    reclassify: bool


@dataclass(frozen=True)
class ListFreshness:
    """Whether the container list is what the engine says now, or what it said last (while
    the engine does not answer, rows are last seen, never current)."""

    current: bool
    as_of: float | None  # time.time() when the list was last known to match (None: never)

    def mark_lost(self, now: float) -> ListFreshness:
        """The engine went away: the list was current until now (if it was at all)."""
        return ListFreshness(False, now if self.current else self.as_of)


def _new_classifier(engine: Engine) -> Classifier:
    """A classifier with the image-facts cache of this connection, which session plans and
    the side panel's checks share through it (`classifier.facts`)."""
    from dhitui.detect import Classifier, ImageFactsCache

    return Classifier(engine, facts=ImageFactsCache(engine))


class EngineSession:
    """One engine, resolved the docker CLI's way, with a classifier that outlives reconnects.

    `name` tells it apart in a fleet (row keys and messages carry it). Thread-safe: the TUI
    calls it from several worker threads at once.
    """

    def __init__(
        self,
        *,
        name: str = DEFAULT_NAME,
        host: str | None = None,
        context: str | None = None,
        toolbox: str = DEFAULT_TOOLBOX,
        strategy: str = AUTO,
        transport: str = AUTO,
        view: str = AUTO,
        env: Mapping[str, str] | None = None,
        endpoint: Endpoint | None = None,
    ) -> None:
        self.name = name
        self.host = host
        self.context = context
        self.toolbox = toolbox
        self.strategy = strategy  # the default debug strategy (config.toml)
        self.transport = transport  # how sessions run (--transport, config.toml)
        self.view = view  # where sidecar sessions stand (--view, config.toml)
        self.env = dict(os.environ if env is None else env)
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._endpoint: Endpoint | None = endpoint  # else resolved from host and context
        self._classifier: Classifier | None = None
        self._caps: Capabilities | None = None
        self._stream: EventStream | None = None
        self._host_view: HostView | None = None
        # start_early(): the event stream and container list fetched ahead of the UI.
        self._early: Future[tuple[EventStream, list[ContainerSummary], bool]] | None = None
        self._early_list: tuple[list[ContainerSummary], bool] | None = None
        self._freshness = ListFreshness(False, None)
        self.details = DetailsCache()

    @property
    def freshness(self) -> ListFreshness:
        """Is the container list current? Listing makes it so; losing the engine (the event
        stream breaking) makes it what was last seen, until the next listing."""
        with self._lock:
            return self._freshness

    def _listed(self) -> None:
        with self._lock:
            self._freshness = ListFreshness(True, time.time())

    def _lost(self) -> None:
        with self._lock:
            self._freshness = self._freshness.mark_lost(time.time())

    # ---- a head start
    def start_early(self, *, all: bool = False) -> None:
        """Connect, subscribe to events and list the containers in a background thread now,
        while the caller is still importing and building its UI. The first `open_events()`
        and `containers()` calls then take these results instead of asking again; a failure
        here is not reported: those calls simply try again and raise it themselves.

        Worth it because the engine answers while the UI is being built: the list is ready
        when the first frame is, instead of one connection's worth of round trips later.
        """
        early: Future[tuple[EventStream, list[ContainerSummary], bool]] = Future()
        self._early = early

        def run() -> None:
            from dhitui.detect import list_summaries

            try:
                stream = self.connect_now().event_stream(filters=_EVENT_FILTERS)
                try:
                    summaries = list_summaries(self.engine, all=all)
                except BaseException:
                    stream.close()
                    raise
            except BaseException as exc:
                early.set_exception(exc)
                return
            _milestone("listed", len(summaries))
            early.set_result((stream, summaries, all))

        threading.Thread(target=run, name="dhitui-early", daemon=True).start()

    def _early_result(self) -> tuple[EventStream, list[ContainerSummary], bool] | None:
        """Wait for start_early()'s work, if any is outstanding; hand it over once."""
        with self._lock:
            early, self._early = self._early, None
        if early is None:
            return None
        try:
            return early.result()
        except BaseException:
            return None  # the caller asks again and meets the error itself

    # ---- connection
    @property
    def endpoint(self) -> Endpoint:
        """The resolved endpoint; raises ConfigError/UsageError for bad configuration."""
        if self._endpoint is None:
            from dhitui.engine.endpoint import resolve_endpoint

            self._endpoint = resolve_endpoint(self.host, self.context, self.env)
        return self._endpoint

    def connect(self) -> Engine:
        """Connect (or return the live connection)."""
        with self._lock:
            if self._engine is not None:
                return self._engine
            early = self._early
        if early is not None:  # start_early() is connecting: wait for it, not a 2nd socket
            wait([early])
        return self.connect_now()

    def connect_now(self) -> Engine:
        with self._lock:
            if self._engine is not None:
                return self._engine
        from dhitui.engine.client import connect

        engine = connect(self.endpoint)
        with self._lock:
            winner = self._adopt(engine)
        if winner is not engine:  # another thread connected meanwhile
            engine.close()
        return winner

    def _adopt(self, engine: Engine) -> Engine:
        if self._engine is None:
            self._engine = engine
            self._classifier = _new_classifier(engine)
            self._caps = None
        return self._engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            return self.connect()
        return self._engine

    @property
    def classifier(self) -> Classifier:
        self.engine  # noqa: B018 - connects if needed, which creates the classifier
        assert self._classifier is not None
        return self._classifier

    def wait_until_back(self, stop: threading.Event, *, interval: float = 1.0) -> bool:
        """After the engine went away: ping until it answers again (True) or `stop` is set
        (False). The connection object survives a daemon restart; only the version and
        capabilities are refreshed."""
        delay = interval
        while not stop.wait(delay):
            try:
                self.engine.ping()
            except DhituiError:
                delay = min(delay * 1.5, 5.0)
                continue
            with self._lock:
                self._caps = None
                self._host_view = None
            return True
        return False

    def capabilities(self) -> Capabilities:
        with self._lock:
            if self._caps is not None:
                return self._caps
        from dhitui.engine.capabilities import probe_capabilities

        caps = probe_capabilities(self.engine, self.toolbox, self.env)
        with self._lock:
            self._caps = caps
        return caps

    def close(self) -> None:
        early = self._early_result() if self._early is not None and self._early.done() else None
        if early is not None:
            early[0].close()
        self.stop_events()
        # A probe still running in a worker thread (the app quit mid-probe) would never reach
        # its own cleanup: its thread ends with the process.
        with self._lock:
            engine, self._engine = self._engine, None
            classifier = self._classifier
        if engine is not None and classifier is not None:
            classifier.facts.remove_helpers()
        if engine is not None:
            engine.close()

    # ---- the list
    def containers(self, *, all: bool = False) -> list[ContainerSummary]:
        from dhitui.detect import list_summaries

        with self._lock:
            early, self._early_list = self._early_list, None
        if early is not None and early[1] == all:
            self._listed()
            return early[0]
        try:
            summaries = list_summaries(self.engine, all=all)
        except DhituiError:
            self._lost()
            raise
        self._listed()
        _milestone("listed", len(summaries))
        return summaries

    def summary(self, container_id: str) -> ContainerSummary | None:
        """One container's list row, or None when it is gone."""
        from dhitui.detect import summary_from_api

        rows = self.engine.list_containers(all=True, filters={"id": container_id})
        return summary_from_api(rows[0]) if rows else None

    def classify(
        self,
        summaries: Iterable[ContainerSummary],
        on_batch: Callable[[list[Classification]], object],
        *,
        on_gone: Callable[[str], object] | None = None,
        batch_interval: float = 0.05,
    ) -> None:
        """Classify concurrently, handing results over in small batches (at most one call
        per `batch_interval`, so a UI is not flooded with one message per container)."""
        batch: list[Classification] = []
        done = 0
        last = time.monotonic()
        for result in self.classifier.classify_many(summaries, on_gone=on_gone):
            batch.append(result)
            done += 1
            now = time.monotonic()
            if now - last >= batch_interval:
                on_batch(batch)
                batch, last = [], now
        if batch:
            on_batch(batch)
        _milestone("classified", done)

    def classify_one(self, container_id: str) -> Classification:
        """One container, inspected (its own user, entrypoint and cmd)."""
        return self.classifier.classify(container_id)

    # ---- events
    def open_events(self) -> EventStream:
        """Subscribe to the engine's events. Subscribe *before* listing: events that happen
        while the list is read are then queued on the stream instead of lost."""
        early = self._early_result()
        if early is not None:
            stream, summaries, early_all = early
            with self._lock:
                self._early_list = (summaries, early_all)
        else:
            stream = self.engine.event_stream(filters=_EVENT_FILTERS)
        with self._lock:
            old, self._stream = self._stream, stream
        if old is not None:
            old.close()
        return stream

    def follow_events(self, stream: EventStream,
                      on_change: Callable[[ContainerChange], object]) -> None:
        """Block, turning engine events into row changes, until `stop_events()` is called
        (returns) or the engine goes away (raises EngineUnavailable)."""
        try:
            for event in stream:
                change = self._change_for(event)
                if change is not None:
                    on_change(change)
        except DhituiError:
            self._lost()
            raise
        finally:
            with self._lock:
                if self._stream is stream:
                    self._stream = None

    def stop_events(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def _change_for(self, event: dict[str, Any]) -> ContainerChange | None:
        kind = event.get("Type")
        action = str(event.get("Action") or event.get("status") or "").split(":", 1)[0]
        actor_id = (event.get("Actor") or {}).get("ID") or event.get("id") or ""
        if kind == "image":
            # Docker deletes an image, Podman removes it.
            if action in ("delete", "remove", "untag", "tag", "import", "load", "pull"):
                self.classifier.facts.forget_image(actor_id)
            return None
        if kind != "container" or action not in _ROW_ACTIONS or not actor_id:
            return None
        if action in _GONE_ACTIONS:
            return ContainerChange(actor_id, None, reclassify=False)
        summary = self.summary(actor_id)
        return ContainerChange(actor_id, summary, reclassify=action in _CLASSIFY_ACTIONS)

    # ---- diagnostics (the side panel's checks)
    def host_checks(self, error: DhituiError | None = None) -> list[Check]:
        """Endpoint, socket, daemon, inside-a-container and other-engine checks. With the
        engine connected this reuses the connection; after a failure it explains `error`."""
        from dhitui.diagnostics import ConnectionAttempt, run_host_checks

        endpoint = self.endpoint
        with self._lock:
            engine = self._engine if error is None else None
        attempt = ConnectionAttempt(endpoint, engine, error, 0.0) if (
            engine is not None or error is not None) else None
        return run_host_checks(endpoint, self.env, attempt=attempt)

    def engine_checks(self) -> list[Check]:
        from dhitui.diagnostics import run_engine_checks

        return run_engine_checks(self.engine, self.capabilities())

    def container_details(self, container_id: str) -> tuple[SessionPlan, list[Check]]:
        """The debug plan for a container and its checks (which include that plan)."""
        from dhitui.diagnostics import HostView, run_container_checks

        caps = self.capabilities()
        plan = self.plan(container_id, self.strategy)
        with self._lock:
            if self._host_view is None:
                self._host_view = HostView.for_engine(self.engine, caps)
            view = self._host_view
        checks = run_container_checks(self.engine, container_id, caps=caps, view=view,
                                      strategy=self.strategy, classifier=self.classifier,
                                      plan=plan)
        return plan, checks

    # ---- debug sessions
    def plan(self, container_id: str, strategy: str = AUTO,
             view: str | None = None) -> SessionPlan:
        """The session plan for a container (interactive, with a TTY); `view` overrides the
        configured one."""
        from dhitui.sessions import plan_session

        return plan_session(self.engine, self.capabilities(), container_id, strategy=strategy,
                            toolbox=self.toolbox, classifier=self.classifier,
                            transport=self.transport, view=view or self.view)

    def run_session(self, plan: SessionPlan,
                    progress: Callable[[str], None] | None = None) -> SessionResult:
        """Run a plan with the terminal inherited (call with the UI suspended); `progress`
        hears what happens before the session starts (a snapshot being taken)."""
        from dhitui.sessions import run_session

        return run_session(plan, self.engine, env=self.env, progress=progress)

    def orphans(self) -> list[Sidecar]:
        from dhitui.sessions import find_orphans

        return find_orphans(self.engine)

    def remove_orphans(self, sidecars: list[Sidecar]) -> list[Removal]:
        from dhitui.sessions import remove_orphans

        return remove_orphans(self.engine, sidecars)

    # ---- reads behind the keys
    def inspect(self, container_id: str) -> dict[str, Any]:
        return self.engine.inspect_container(container_id)

    def follow_logs(self, container_id: str, *, tail: int = 500) -> LogFollower:
        """A follower of the container's logs (run it in a worker thread; close it from
        any thread)."""
        from dhitui.logfollow import LogFollower

        return LogFollower(self.engine, container_id, tail=tail)
