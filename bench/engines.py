"""Several engines in one list: 3 engines x N containers against 1 engine x 3N (issue 20).

    python -m bench.engines [--n 300] [--runs 3]      (after scripts/test-engines up)

The three engines are the test engines Engine 28, Engine 20.10 and Podman (`--engines`).
Phase one starts 3N containers on Engine 28 and launches `dhitui -H e28`; phase two removes
them, starts N on each engine and launches `dhitui -H e28 -H e20 -H podman`. Each launch
runs on a real pty (bench.term) and is measured as the main benchmark measures one engine:
the first painted list (10 bench rows on screen), the list fully classified (every engine
session's `classified` milestones adding up to all the containers) and the peak RSS. Prints
a table, goal "the same per container": the fleet no slower than one engine with as many
containers.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from statistics import median

from bench.fleet import fleet
from bench.machine import describe, summary
from bench.measure import NEUTRAL_CWD, PAINT_TIMEOUT, proc_tree_rss_mb
from bench.term import Terminal, names_on

# The test engines by name. Not e28-userns: its containers all run as one remapped uid,
# whose kernel keyring quota (kernel.keys.maxkeys, 200 for a non-root uid) ends at ~200
# running containers ("unable to create session key: disk quota exceeded").
ENGINE_VARS = {"e28": "DHITUI_TEST_ENGINE_28", "e20": "DHITUI_TEST_ENGINE_20",
               "podman": "DHITUI_TEST_ENGINE_PODMAN"}
NAMES = re.compile(r"bench-[0-9a-f]{6}-\d{4}")
CLASSIFY_TIMEOUT = 600.0


def classified_at(log: Path, total: int, timeout: float) -> float:
    """When the sessions' `classified` milestones add up to `total` (each engine session
    logs its own count)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = 0
        try:
            lines = log.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            t, event, n = line.split()
            if event == "classified":
                done += int(n)
                if done >= total:
                    return float(t)
        time.sleep(0.05)
    raise TimeoutError(f"not all {total} containers classified within {timeout:.0f}s")


def launch(hosts: list[str], total: int) -> dict[str, float]:
    env = dict(os.environ)
    log = Path(tempfile.mkstemp(prefix="dhitui-bench-engines-", suffix=".log")[1])
    env["DHITUI_BENCH_LOG"] = str(log)
    argv = [sys.executable, "-m", "dhitui", *(a for h in hosts for a in ("-H", h))]
    term = Terminal(argv, cols=160, rows=48, env=env, cwd=NEUTRAL_CWD)
    try:
        first = term.expect(lambda screen: len(set(names_on(screen, NAMES))) >= 10)
        paint = term.wait(first, PAINT_TIMEOUT, "first painted list") - term.spawned_at
        classified = classified_at(log, total, CLASSIFY_TIMEOUT) - term.spawned_at
        term.quiet(1.0)
        rss = proc_tree_rss_mb(term.pid)
    finally:
        term.close("q")
        log.unlink(missing_ok=True)
    return {"paint": paint, "classified": classified, "rss": rss}


def measure(hosts: list[str], total: int, runs: int) -> dict[str, float]:
    results = [launch(hosts, total) for _ in range(runs)]
    return {k: median(r[k] for r in results) for k in results[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="containers per engine")
    parser.add_argument("--runs", type=int, default=3, help="launches per case (medians)")
    parser.add_argument("--engines", default="e28,e20,podman",
                        help="the test engines, the first also the single one "
                             f"(of {', '.join(ENGINE_VARS)})")
    args = parser.parse_args()
    names = args.engines.split(",")
    hosts = [os.environ[ENGINE_VARS[name]] for name in names]
    print(f"machine: {summary(describe(hosts[0]))}", flush=True)
    with fleet(hosts[0], len(hosts) * args.n) as one:
        print(f"1 engine x {len(hosts) * args.n}: started in {one.create_seconds:.0f}s",
              flush=True)
        single = measure(hosts[:1], len(hosts) * args.n, args.runs)
        print(f"  {single}", flush=True)
    with ExitStack() as stack:
        parts = [stack.enter_context(fleet(h, args.n)) for h in hosts]
        print("{} engines x {}: started in {}".format(
            len(hosts), args.n, ", ".join(f"{p.create_seconds:.0f}s" for p in parts)),
            flush=True)
        three = measure(hosts, len(hosts) * args.n, args.runs)
        print(f"  {three}", flush=True)
        # Each engine alone with its N: the fleet adds nothing if it takes what the slowest
        # of them takes alone (they are followed in parallel), not their sum.
        alone = {}
        for name, host in zip(names, hosts, strict=True):
            alone[name] = measure([host], args.n, args.runs)
            print(f"  {name} alone: {alone[name]}", flush=True)
    total = len(hosts) * args.n
    head = " | ".join(f"{n} alone x {args.n}" for n in names)
    print(f"\n| medians of {args.runs} | {len(hosts)} engines x {args.n} | 1 engine ({names[0]})"
          f" x {total} | {head} |")
    print("|---|---|---|" + "---|" * len(names))
    for key, label, unit, scale in (("paint", "first painted list", "ms", 1000),
                                    ("classified", "fully classified list", "ms", 1000),
                                    ("rss", "peak RSS", "MB", 1)):
        cells = " | ".join(f"{alone[n][key] * scale:.0f} {unit}" for n in names)
        print(f"| {label} | {three[key] * scale:.0f} {unit} | {single[key] * scale:.0f} {unit} "
              f"| {cells} |")


if __name__ == "__main__":
    main()
