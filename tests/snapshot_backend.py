"""Deterministic data for the SVG snapshot tests: the same containers, verdicts, checks and
debug plans on every run (no clocks, no random IDs). The data has the shapes a real engine
gives (the fixture images' users, labels and entrypoints); the debug plans are made by the
real planner (`dhitui.sessions.strategies.plan`) from fixed inputs. Behaviour is tested
against real engines elsewhere; this only pins what the screens look like."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from dhitui.diagnostics import Check, ContainerRef
from dhitui.diagnostics.containers import socket_mount_check
from dhitui.diagnostics.unixperm import PathFacts
from dhitui.engine.capabilities import Capabilities
from dhitui.engine.endpoint import Endpoint
from dhitui.errors import DhituiError
from dhitui.live import ContainerChange, EngineSession
from dhitui.models import Classification, ContainerSummary, UserSpec, container_user
from dhitui.sessions import ContainerTarget, SessionOptions, SessionPlan, ToolboxInfo
from dhitui.sessions import labels as L
from dhitui.sessions.strategies import plan as make_plan

ENDPOINT = Endpoint(
    url="unix:///var/run/docker.sock", source="default",
    reason="no --host, --context, DOCKER_HOST, DOCKER_CONTEXT or currentContext is set; "
           "the rootful socket /var/run/docker.sock answers")

CAPS = Capabilities(
    endpoint=ENDPOINT.url, source="default", reason=ENDPOINT.reason, context=None,
    engine_version="28.5.2", api_version="1.51", negotiated_api_version="1.51",
    min_api_version="1.24", os="linux", arch="amd64", kernel="6.1.0-snapshot",
    operating_system="Debian GNU/Linux 12 (bookworm)", rootless=False, userns=False,
    seccomp_profile="builtin", apparmor=False, selinux=False, cgroup_version="2",
    cgroup_driver="systemd", storage_driver="overlay2", image_mounts=True,
    docker_cli="28.5.2", docker_cli_path="/usr/bin/docker", docker_debug=False,
    docker_debug_plugin=None, toolbox_image="busybox", toolbox_image_present=True,
    containers_running=5,
)
TOOLBOX = ToolboxInfo(ref="busybox", image_id="sha256:" + "b" * 64, shell="/bin/sh",
                      mount_shell="/bin/sh")
NONROOT = UserSpec(raw="65532", source="image", name="nonroot", uid=65532, gid=65532)
ROOT = UserSpec(raw="", source="default", name="root", uid=0, gid=0)

# name, image, user, shell, pm, source, variant, verdict, extra evidence
_ROWS: list[tuple[str, str, UserSpec, str | None, str | None, str, str | None, str,
                  list[str]]] = [
    ("payments-api", "dhi.io/python:3.13", NONROOT, None, None, "dhi", "runtime", "hardened",
     ["registry dhi.io (dhi.io/python:3.13)", "label com.docker.dhi.variant=runtime"]),
    ("payments-api-fips", "dhi.io/python:3.13-fips", NONROOT, None, None, "dhi", "fips",
     "hardened", ["registry dhi.io (dhi.io/python:3.13-fips)", "tag suffix -fips"]),
    ("builder", "dhi.io/python:3.13-dev", ROOT, "/bin/sh", "apt", "dhi", "dev", "standard",
     ["registry dhi.io (dhi.io/python:3.13-dev)", "tag suffix -dev"]),
    ("static-site", "gcr.io/distroless/static-debian12:nonroot", NONROOT, None, None,
     "distroless", "runtime", "hardened", ["repository gcr.io/distroless"]),
    ("ci-runner", "dhi.io/docker:28", NONROOT, None, None, "dhi", "runtime", "hardened",
     ["registry dhi.io (dhi.io/docker:28)"]),
    ("legacy-worker", "python:3.13-slim", ROOT, "/bin/sh", "apt", "other", None, "standard",
     []),
]


def _cid(i: int) -> str:
    return f"{i + 1:x}" * 64


SUMMARIES = [ContainerSummary(id=_cid(i)[:64], name=name, image=image,
                              image_id="sha256:" + f"{i + 10:x}" * 32, state="running",
                              status="Up 2 hours", labels={}, created=1_700_000_000 + i)
             for i, (name, image, *_rest) in enumerate(_ROWS)]


def _classification(s: ContainerSummary, row: tuple[Any, ...]) -> Classification:
    _, image, user, shell, pm, source, variant, verdict, extra = row
    evidence = [f"shell {shell}" if shell else
                "no shell (/bin/sh and 7 other shell paths are absent)",
                f"package manager {pm}" if pm else "no package manager",
                f"user {user.display}, " + ("from the image's USER" if user.source == "image"
                                            else "no USER set, so root"), *extra]
    return Classification(
        container_id=s.id, name=s.name, image=image, image_id=s.image_id, state="running",
        user=user, entrypoint=("/app/app",) if shell is None else (),
        cmd=("--serve",) if shell is None else ("python", "worker.py"), shell=shell,
        package_manager=pm, source=source, variant=variant, verdict=verdict,  # type: ignore[arg-type]
        evidence=tuple(evidence))


CLASSIFICATIONS = {s.id: _classification(s, row) for s, row in zip(SUMMARIES, _ROWS,
                                                                     strict=True)}

HOST_CHECKS = [
    Check("host.endpoint", "ok", "engine endpoint unix:///var/run/docker.sock"),
    Check("host.socket", "ok", "/var/run/docker.sock: you can use it through group docker"),
    Check("host.daemon", "ok", "the engine answers: Docker Engine 28.5.2 (API 1.51) in 3 ms"),
    Check("engine.toolbox", "ok", "toolbox image busybox is present locally"),
    Check("engine.docker-debug", "ok", "`docker debug` not installed (optional)"),
]


def _container_checks(c: Classification, plan: SessionPlan) -> list[Check]:
    ref = ContainerRef(c.container_id, c.name)
    checks = []
    if c.name == "ci-runner":
        # The real check's judgement on fixed facts: the host's stat of a root:docker 0660
        # socket, and the container's nonroot user from the image's passwd and group files.
        user = container_user("65532", "image", {"nonroot": (65532, 65532)},
                              {"nonroot": (65532, ())}, None)
        socket = PathFacts(path="/var/run/docker.sock", exists=True, kind="socket", uid=0,
                           owner="root", gid=998, group="docker", mode=0o140660)
        checks.append(socket_mount_check(ref, "/var/run/docker.sock", "/var/run/docker.sock",
                                         user, socket, ""))
    if "fips" in c.image:
        checks.append(Check("container.fips", "warn",
                            "FIPS variant: MD5 and other non-approved algorithms fail",
                            container=ref))
    chosen = plan.chosen.name if plan.chosen else "none"
    checks.append(Check("container.debug", "ok", f"`dhitui debug` will use {chosen}",
                        container=ref))
    return checks


def _plan(c: Classification, strategy: str = "auto", view: str = "auto") -> SessionPlan:
    target = ContainerTarget(
        id=c.container_id, name=c.name, image=c.image, image_id=c.image_id, state="running",
        user=c.user, shell=c.shell, path_env="/usr/local/bin:/usr/bin:/bin",
        network_mode="bridge", pid_mode="", host_pid=4242)
    return make_plan(target, caps=CAPS, endpoint=ENDPOINT, toolbox=TOOLBOX,
                     options=SessionOptions(strategy=strategy, view=view), session="5" * 32,
                     machine=L.Machine(host="workstation", boot="0" * 36))


class SnapshotSession(EngineSession):
    """An engine session that answers from the data above and never touches an engine."""

    def __init__(self) -> None:
        super().__init__(host=ENDPOINT.url, env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
        self._endpoint = ENDPOINT
        self._stopped = threading.Event()

    def connect(self) -> Any:
        return None

    def open_events(self) -> Any:
        return None

    def follow_events(self, stream: Any, on_change: Callable[[ContainerChange], object]
                      ) -> None:
        self._stopped.wait()

    def stop_events(self) -> None:
        self._stopped.set()

    def close(self) -> None:
        self._stopped.set()

    def containers(self, *, all: bool = False) -> list[ContainerSummary]:
        return list(SUMMARIES)

    def capabilities(self) -> Capabilities:
        return CAPS

    def classify(self, summaries: Iterable[ContainerSummary],
                 on_batch: Callable[[list[Classification]], object], *,
                 on_gone: Callable[[str], object] | None = None,
                 batch_interval: float = 0.05) -> None:
        on_batch([CLASSIFICATIONS[s.id] for s in summaries])

    def host_checks(self, error: DhituiError | None = None) -> list[Check]:
        return HOST_CHECKS[:3]

    def engine_checks(self) -> list[Check]:
        return HOST_CHECKS[3:]

    def plan(self, container_id: str, strategy: str = "auto",
             view: str | None = None) -> SessionPlan:
        return _plan(CLASSIFICATIONS[container_id], strategy, view or "auto")

    def container_details(self, container_id: str) -> tuple[SessionPlan, list[Check]]:
        c = CLASSIFICATIONS[container_id]
        plan = _plan(c)
        return plan, _container_checks(c, plan)

    def orphans(self) -> list[Any]:
        return []
