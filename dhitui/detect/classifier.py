"""`Classifier`: a container's verdict (hardened, shell-less, standard) with its evidence.

It combines what the container's settings say (from its list row or its inspect; see
`listing` for when the row is enough) with its image's facts (`facts.ImageFactsCache`, which
it shares with session planning and diagnostics) and judges them with `rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from dhitui.detect import rules
from dhitui.detect.facts import ImageFactsCache
from dhitui.detect.image_facts import ImageFacts
from dhitui.detect.listing import needs_inspect
from dhitui.engine.client import Engine
from dhitui.errors import NotFound
from dhitui.models import Classification, ContainerSummary, UserSource, resolve_user

DEFAULT_CONCURRENCY = 8


class Classifier:
    """Classifies containers; safe to use from several threads. Its image facts come from
    `facts` (a new `ImageFactsCache` when none is given): pass the one the engine session
    shares."""

    def __init__(self, engine: Engine, *, concurrency: int = DEFAULT_CONCURRENCY,
                 facts: ImageFactsCache | None = None) -> None:
        self.engine = engine
        self.concurrency = max(1, concurrency)
        self.facts = facts if facts is not None else ImageFactsCache(engine)

    def classify(self, container: str | ContainerSummary) -> Classification:
        """Classify one container; raises NotFound when it does not exist (any more).

        A name or ID is inspected; a list row is classified from the list and its image, and
        inspected only where `needs_inspect` says so."""
        if isinstance(container, ContainerSummary):
            return self.classify_listed(container)
        return self.classify_inspected(self.engine.inspect_container(container))

    def classify_listed(self, summary: ContainerSummary) -> Classification:
        """Classify a container from its list row and its image (inspecting it only where
        its own settings can change the answer)."""
        facts = self.facts.image_facts(summary.image_id, summary.id)
        if needs_inspect(summary, facts):
            return self.classify_inspected(self.engine.inspect_container(summary.id))
        listed = {
            "Id": summary.id,
            "Name": summary.name,
            "Image": summary.image_id,
            "Config": {"Image": summary.image, "User": facts.config_user,
                       "Labels": summary.labels, "Entrypoint": list(facts.entrypoint),
                       "Cmd": list(facts.cmd)},
            "State": {"Status": summary.state},
        }
        return self._combine(listed, facts, inspected=False)

    def classify_inspected(self, inspect: dict[str, Any]) -> Classification:
        """Classify a container from the inspect data the caller already has."""
        facts = self.facts.image_facts(inspect.get("Image", ""), inspect["Id"])
        return self._combine(inspect, facts)

    def classify_many(
        self,
        containers: Iterable[str | ContainerSummary],
        on_gone: Callable[[str], object] | None = None,
    ) -> Iterator[Classification]:
        """Classify concurrently (bounded), yielding results as they complete. Containers
        that disappear are skipped (reported to `on_gone`)."""
        items = list(containers)
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        self.facts.note_running(c for c in items if isinstance(c, ContainerSummary))
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="dhitui-classify") as pool:
            pending = {pool.submit(self.classify, c): c for c in items}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    c = pending.pop(fut)
                    try:
                        yield fut.result()
                    except NotFound:
                        if on_gone:
                            on_gone(c.id if isinstance(c, ContainerSummary) else c)

    def _combine(self, inspect: dict[str, Any], facts: ImageFacts, *, inspected: bool = True
                 ) -> Classification:
        config = inspect.get("Config") or {}
        state = (inspect.get("State") or {}).get("Status", "")
        image_ref = config.get("Image") or ""
        raw_user = config.get("User") or ""
        user_source: UserSource = "image" if raw_user == facts.config_user else "container"
        if not raw_user:
            user_source = "default"
        user = resolve_user(raw_user, user_source, facts.passwd, facts.groups)
        labels = {**facts.labels, **(config.get("Labels") or {})}
        source, source_ev = rules.image_source([image_ref, *facts.tags], labels)
        if source == "other" and facts.content_source:
            source, source_ev = facts.content_source, [*source_ev, *facts.content_evidence]
        tag = rules.parse_reference(image_ref).tag if image_ref else None
        var, var_ev = rules.variant(tag, labels, source)
        verdict, verdict_ev = rules.verdict(
            shell=facts.shell,
            shell_evidence=list(facts.shell_evidence),
            package_manager=facts.package_manager,
            user=user,
            source=source,
            probed=facts.probed,
        )
        if not inspected:
            verdict_ev.append("user from the image: the container itself was not inspected "
                              "(the verdict is the same whoever it runs as)")
        return Classification(
            container_id=inspect["Id"],
            name=(inspect.get("Name") or "").lstrip("/"),
            image=image_ref,
            image_id=facts.image_id,
            state=state,
            user=user,
            entrypoint=tuple(config.get("Entrypoint") or ()),
            cmd=tuple(config.get("Cmd") or ()),
            shell=facts.shell,
            package_manager=facts.package_manager,
            source=source,
            variant=var,
            verdict=verdict,
            evidence=tuple([*verdict_ev, *source_ev, *var_ev, *facts.probe_errors]),
            probe_errors=facts.probe_errors,
            inspected=inspected,
        )
