"""Diagnostics: why dhitui (or the docker CLI) cannot reach the engine, and what a container's
user can and cannot do, each as a `Check` with the safest fix first.

Used by `dhitui doctor` and the TUI's side panel; no Textual here, and nothing in this
package changes anything (no chmod, no usermod, no container is touched): it reads files,
stats paths, lists processes and asks the engine.

    host.py           endpoint, socket, daemon, inside-a-container, other engines
    engine_checks.py  version, image mounts, docker debug, toolbox, rootless, orphan sidecars
    containers.py     per container: socket mount, bind mounts, ENTRYPOINT, FIPS, debugging
    strategy.py       the session planner's answer for a container, as a check
    fixes.py          every fix text, in one place
    report.py         `diagnose()`: all of the above in order, as doctor runs it
    check.py, unixperm.py, hostenv.py, discovery.py: the data and the probes underneath
"""

from __future__ import annotations

from dhitui.diagnostics.check import Check, ContainerRef, Status, any_failed, counts
from dhitui.diagnostics.containers import HostView, run_container_checks
from dhitui.diagnostics.engine_checks import run_engine_checks
from dhitui.diagnostics.host import (
    ConnectionAttempt,
    EndpointFailure,
    HostProbe,
    attempt_connection,
    run_host_checks,
)
from dhitui.diagnostics.report import Report, diagnose

__all__ = [
    "Check",
    "ConnectionAttempt",
    "ContainerRef",
    "EndpointFailure",
    "HostProbe",
    "HostView",
    "Report",
    "Status",
    "any_failed",
    "attempt_connection",
    "counts",
    "diagnose",
    "run_container_checks",
    "run_engine_checks",
    "run_host_checks",
]
