"""The logs view under a flood: how many lines per second it shows and how fast it still
answers a key, for a container that writes as fast as it can.

    python -m bench.logs HOST [--seconds 5]

Starts a busybox container printing lines in a tight loop on HOST (removed afterwards), opens
dhitui's logs view on it headless (Textual's pilot) and, for the given time, counts the lines
the view received and times `space` (pause) to the paused state, several times.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time
import uuid

from textual import events

from dhitui.live import EngineSession
from dhitui.ui.app import DhituiApp
from dhitui.ui.screens.logs import LogsScreen

FLOOD = ["sh", "-c", "while true; do echo 'flood line with some text to make it look real'; "
         "done"]


async def measure(host: str, name: str, seconds: float) -> dict[str, float]:
    app = DhituiApp(EngineSession(host=host))
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 60
        while not any(r.summary.name == name for r in app.table.rows.values()):
            if time.monotonic() > deadline:
                raise SystemExit("bench.logs: the container did not appear")
            await pilot.pause(0.05)
        await pilot.press("slash", *name, "enter")
        await pilot.press("l")
        while not isinstance(app.screen, LogsScreen):
            await pilot.pause(0.02)
        view = app.screen
        await pilot.pause(0.5)
        start_lines, start = view.received, time.monotonic()
        latencies = []
        end = start + seconds
        while time.monotonic() < end:
            # The key as the terminal driver posts it (pilot.press would wait for the app
            # to be idle, which a flood never lets it be).
            t0 = time.monotonic()
            app.post_message(events.Key("space", " "))
            while not view.paused:
                await asyncio.sleep(0.001)
            latencies.append((time.monotonic() - t0) * 1000)
            app.post_message(events.Key("space", " "))
            while view.paused:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.2)
        elapsed = time.monotonic() - start
        received = view.received - start_lines
        return {"lines_per_s": received / elapsed, "key_ms_median": statistics.median(latencies),
                "key_ms_max": max(latencies), "keys": len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--docker", default="docker")
    args = parser.parse_args()
    name = f"dhitui-bench-flood-{uuid.uuid4().hex[:6]}"
    docker = [args.docker, "-H", args.host]
    subprocess.run([*docker, "run", "-d", "--network", "none", "--label", "dhitui.bench=logs",
                    "--name", name, "busybox:latest", *FLOOD], check=True,
                   capture_output=True, timeout=60)
    try:
        result = asyncio.run(measure(args.host, name, args.seconds))
    finally:
        subprocess.run([*docker, "rm", "-f", name], capture_output=True, timeout=60)
    print(" ".join(f"{k}={v:.1f}" for k, v in result.items()))


if __name__ == "__main__":
    main()
