"""One full diagnosis, as `dhitui doctor` runs it: host, then engine, then containers.

The host checks always run. The engine and container checks run only when an engine
answered; otherwise a single `engine.skipped` check says why. Containers are checked
concurrently (bounded), sharing a per-image cache, so the cost grows with distinct images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from dhitui.config import DEFAULT_TOOLBOX
from dhitui.detect import Classifier
from dhitui.diagnostics.check import Check, any_failed
from dhitui.diagnostics.containers import HostView, run_container_checks
from dhitui.diagnostics.engine_checks import run_engine_checks, skipped_check
from dhitui.diagnostics.host import (
    DOCTOR_TIMEOUT,
    EndpointFailure,
    HostProbe,
    attempt_connection,
    collect_host_facts,
)
from dhitui.engine.capabilities import probe_capabilities
from dhitui.engine.endpoint import Endpoint
from dhitui.errors import DhituiError
from dhitui.strategy_registry import AUTO

CONTAINER_WORKERS = 8  # docker-py's connection pool holds 10


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # named containers that do not exist

    @property
    def failed(self) -> bool:
        return any_failed(self.checks)


def diagnose(
    endpoint: Endpoint | EndpointFailure | DhituiError,
    env: Mapping[str, str],
    *,
    containers: Sequence[str] = (),
    toolbox: str = DEFAULT_TOOLBOX,
    strategy: str = AUTO,
    session_view: str = AUTO,
    timeout: float = DOCTOR_TIMEOUT,
    probe: HostProbe | None = None,
    extra: Sequence[Check] = (),
) -> Report:
    """Every check. `containers` empty means all running containers. Never raises for
    engine trouble: that becomes checks."""
    report = Report(checks=list(extra))
    attempt = attempt_connection(endpoint, timeout) if isinstance(endpoint, Endpoint) else None
    try:
        host_checks, _facts = collect_host_facts(endpoint, env, attempt=attempt, probe=probe,
                                                 timeout=timeout)
        report.checks.extend(host_checks)
        engine = attempt.engine if attempt is not None else None
        if engine is None:
            reason = ("no engine endpoint could be chosen" if attempt is None
                      else "no engine answers")
            report.checks.append(skipped_check(reason, containers))
            return report
        try:
            caps = probe_capabilities(engine, toolbox, env)
            running = [] if containers else engine.list_containers()
        except DhituiError as exc:
            report.checks.append(skipped_check(f"the engine stopped answering ({exc})",
                                               containers))
            return report
        report.checks.extend(run_engine_checks(engine, caps))
        refs: list[str] = list(containers) or [str(c["Id"]) for c in running]
        view = HostView.for_engine(engine, caps)
        classifier = Classifier(engine)

        def one(ref: str) -> list[Check]:
            return run_container_checks(engine, ref, caps=caps, view=view, strategy=strategy,
                                        classifier=classifier, session_view=session_view)

        if refs:
            with ThreadPoolExecutor(max_workers=min(CONTAINER_WORKERS, len(refs)),
                                    thread_name_prefix="dhitui-doctor") as pool:
                for ref, checks in zip(refs, pool.map(one, refs), strict=True):
                    if any(c.id == "container.exists" for c in checks):
                        report.missing.append(ref)
                    report.checks.extend(checks)
        return report
    finally:
        if attempt is not None and attempt.engine is not None:
            attempt.engine.close()
