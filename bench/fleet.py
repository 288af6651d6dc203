"""N benchmark containers from 3 fixture images: created, started, and always removed.

Containers run the fixture images' static app (it sleeps), with `--network none` and a label
naming the run, so cleanup finds every one of them even after a crash. Engine calls go
through docker-py with a bounded timeout and a small thread pool: bulk work is what wedged
Engine 20.10 here, so use the 28.x engine and never fire thousands of calls at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import docker

BENCH_LABEL = "dhitui.bench"
# Three images: two hardened-like (no shell, nonroot) and one standard (busybox shell).
IMAGES = (
    "dhi.io/fixture-app:1.0",
    "dhi.io/fixture-app:1.0-fips",
    "example.org/fixture/standard:1.0",
)
CALL_TIMEOUT = 60
PARALLEL = 4
# What one running fixture container costs the machine (containerd-shim + the app), measured
# on Engine 28.5: ~12.5 tasks (threads) and ~6 MB of memory. Checked before creating, with room
# left for everything else on a shared machine.
TASKS_PER_CONTAINER = 13
MB_PER_CONTAINER = 7
SPARE_TASKS = 4000
SPARE_MB = 3000


def check_room(n: int) -> None:
    """Refuse to start `n` containers that would exhaust the machine's PIDs or memory."""
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    tasks = int(Path("/proc/loadavg").read_text().split()[3].split("/")[1])
    avail_mb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            avail_mb = int(line.split()[1]) // 1024
    need_tasks = n * TASKS_PER_CONTAINER + SPARE_TASKS
    need_mb = n * MB_PER_CONTAINER + SPARE_MB
    if pid_max - tasks < need_tasks or avail_mb < need_mb:
        raise SystemExit(
            f"not enough room for {n} running containers: {pid_max - tasks} free PIDs "
            f"(need {need_tasks}), {avail_mb} MB available (need {need_mb})")


@dataclass
class Fleet:
    host: str
    n: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    create_seconds: float = 0.0

    @property
    def prefix(self) -> str:
        return f"bench-{self.run_id}-"

    def name(self, i: int) -> str:
        return f"{self.prefix}{i:04d}"


def api(host: str) -> docker.APIClient:
    return docker.APIClient(base_url=host, version="auto", timeout=CALL_TIMEOUT)


def remove_label(host: str, value: str | None = None) -> int:
    """Remove every bench container (of one run, or of all runs); returns how many."""
    client = api(host)
    try:
        label = BENCH_LABEL if value is None else f"{BENCH_LABEL}={value}"
        ids = [c["Id"] for c in client.containers(all=True, filters={"label": label})]

        def rm(cid: str) -> None:
            try:
                client.remove_container(cid, force=True)
            except docker.errors.NotFound:
                pass

        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(rm, ids))
        return len(ids)
    finally:
        client.close()


@contextmanager
def fleet(host: str, n: int, *, start: bool = True) -> Iterator[Fleet]:
    """Create (and start) `n` containers round-robin from IMAGES; remove them afterwards."""
    if start:
        check_room(n)
    f = Fleet(host, n)
    client = api(host)
    t0 = time.monotonic()

    def make(i: int) -> str:
        name = f.name(i)
        c = client.create_container(
            IMAGES[i % len(IMAGES)],
            name=name,
            labels={BENCH_LABEL: f.run_id},
            host_config=client.create_host_config(network_mode="none"),
        )
        if start:
            client.start(c["Id"])
        return str(c["Id"])

    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            f.ids = list(pool.map(make, range(n)))
        f.names = [f.name(i) for i in range(n)]
        f.create_seconds = time.monotonic() - t0
        client.ping()  # the engine still answers after the bulk work
        yield f
    finally:
        client.close()
        remove_label(host, f.run_id)
