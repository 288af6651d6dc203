"""The container table alone, headless: what filling, classifying and filtering N rows cost.

    python -m bench.table [N]

No engine: N synthetic containers of 3 images go into dhitui's ContainerTable inside a bare
Textual app run by the pilot. Reports CPU milliseconds (process time, so a busy shared
machine inflates it less than wall time) for each step: the model change itself, then the
work Textual does before the next frame (DataTable measures new rows on idle, then renders).
This isolates the table from the engine, the pty and the rest of the UI; bench/__main__.py
measures what the user sees.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable

from textual.app import App, ComposeResult

from dhitui.live import DEFAULT_NAME
from dhitui.models import Classification, ContainerSummary, UserSpec
from dhitui.ui.widgets.container_table import ContainerTable

IMAGES = ("dhi.io/fixture-app:1.0", "dhi.io/fixture-app:1.0-fips",
          "example.org/fixture/standard:1.0")
PREFIX = "bench-table-"


def summaries(n: int) -> list[ContainerSummary]:
    return [ContainerSummary(id=f"{i:064x}", name=f"{PREFIX}{i:04d}", image=IMAGES[i % 3],
                             image_id=f"sha256:{i % 3:064x}", state="running", status="Up")
            for i in range(n)]


def classification(s: ContainerSummary) -> Classification:
    standard = s.image.startswith("example.org")
    user = UserSpec(raw="" if standard else "65532", source="default" if standard else "image",
                    name="root" if standard else "nonroot", uid=0 if standard else 65532,
                    gid=0 if standard else 65532)
    return Classification(
        container_id=s.id, name=s.name, image=s.image, image_id=s.image_id, state=s.state,
        user=user, entrypoint=("/app/app",), cmd=(), shell="/bin/sh" if standard else None,
        package_manager=None, source="other" if standard else "dhi",
        variant=None if standard else ("fips" if "fips" in s.image else "runtime"),
        verdict="standard" if standard else "hardened", evidence=())


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ContainerTable(id="containers")


async def run(n: int) -> dict[str, float | list[float]]:
    app = _TableApp()
    out: dict[str, float | list[float]] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(ContainerTable)

        async def step(change: Callable[[], object]) -> tuple[float, float]:
            t0 = time.process_time()
            change()
            t1 = time.process_time()
            await pilot.pause()
            return (t1 - t0) * 1000, (time.process_time() - t1) * 1000

        rows = summaries(n)
        out["fill: replace_all"], out["fill: idle + frame"] = await step(
            lambda: table.replace_engine_rows(DEFAULT_NAME, rows))
        results = [classification(s) for s in rows]
        batch_ms = []
        t0 = time.process_time()
        for i in range(0, n, 25):  # the classify worker's batches are ~this size at 50 ms
            a = time.process_time()
            table.set_classifications(DEFAULT_NAME, results[i:i + 25])
            batch_ms.append((time.process_time() - a) * 1000)
        out["classify: all batches"] = (time.process_time() - t0) * 1000
        out["classify: per batch (median)"] = statistics.median(batch_ms)
        await pilot.pause()
        target = f"{n * 617 // 1000:04d}"
        typed = PREFIX
        for i, key in enumerate([*target, *("\b" * len(target))], 1):
            typed = typed[:-1] if key == "\b" else typed + key
            sync, frame = await step(lambda typed=typed: table.set_filter(typed))
            label = f"filter {i}: {typed!r} -> {table.row_count} rows"
            out[f"{label}: set_filter"] = sync
            out[f"{label}: idle + frame"] = frame
    return out


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(f"ContainerTable with {n} rows, CPU ms")
    for key, value in asyncio.run(run(n)).items():
        print(f"  {key:60} {value:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
