"""Run the benchmarks: `python -m bench [--sizes 300,2000] [--runs 5] [--idle 30]`.

Usually through `bench/run`, which starts the 28.x test engine first. For each N it creates
N running containers from 3 fixture images, measures dhitui and the floor app alternately
through a pty, times the CLI and the raw API, counts the Engine API requests classification
makes, removes the containers, and writes the results (JSON and a Markdown table) to
bench/results/. Nothing here asserts a time: it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import fleet as fleet_mod
from bench import machine, measure, report


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default=os.environ.get("DHITUI_TEST_ENGINE_28"),
                   help="engine to run against (default: $DHITUI_TEST_ENGINE_28)")
    p.add_argument("--docker-cli", default=os.environ.get("DHITUI_TEST_DOCKER_CLI", "docker"))
    p.add_argument("--sizes", default="300,2000", help="container counts (default 300,2000)")
    p.add_argument("--runs", type=int, default=5, help="launches per app and size (median)")
    p.add_argument("--idle", type=float, default=30.0, help="idle CPU window, seconds (0: skip)")
    p.add_argument("--keys-at", type=int, default=2000,
                   help="measure key-to-repaint from this N on (default 2000)")
    p.add_argument("--baseline", metavar="PATH",
                   help="also measure the dhitui package found in PATH (a checkout's root, "
                   "put on PYTHONPATH), alternating with this one: before/after in one run")
    p.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    args = p.parse_args()
    if not args.host:
        p.error("no engine: pass --host or eval \"$(scripts/test-engines env)\" first")
    sizes = [int(n) for n in args.sizes.split(",") if n]

    info = machine.describe(args.host)
    print(machine.summary(info), flush=True)
    stale = fleet_mod.remove_label(args.host)
    if stale:
        print(f"removed {stale} containers left by an earlier bench run", flush=True)
    results: dict[str, Any] = {"machine": info, "runs": args.runs, "idle_seconds": args.idle,
                               "baseline": args.baseline, "sizes": {}}
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    table = ""
    for n in sizes:
        print(f"\n== N={n}: creating {n} containers from {len(fleet_mod.IMAGES)} images",
              flush=True)
        with fleet_mod.fleet(args.host, n) as f:
            print(f"   created and started in {f.create_seconds:.1f}s", flush=True)
            results["sizes"][str(n)] = run_size(args, f)
            results["machine"]["load_after_" + str(n)] = os.getloadavg()
            # Written before the containers are removed (that takes minutes at 2,000).
            table = save(args.out, stamp, results)
            print(f"   removing the {n} containers", flush=True)
    print("\n" + table)
    print(f"results: {args.out / (stamp + '.json')}")
    return 0


def save(out: Path, stamp: str, results: dict[str, Any]) -> str:
    text = json.dumps(results, indent=2) + "\n"
    (out / f"{stamp}.json").write_text(text)
    (out / "latest.json").write_text(text)
    table = report.markdown(results)
    (out / "latest.md").write_text(table)
    return table


def run_size(args: argparse.Namespace, f: fleet_mod.Fleet) -> dict[str, Any]:
    host = args.host
    out: dict[str, Any] = {"other_running": 0}
    reqs = measure.count_classify_requests(host)
    out["other_running"] = reqs["containers"] - f.n
    out["requests"] = reqs
    print(f"   classify requests: {reqs['total']} {reqs['by_kind']}, "
          f"{reqs['connections']} connections", flush=True)
    apps = ["floor", "dhitui", *(["baseline"] if args.baseline else [])]
    sessions: dict[str, list[dict[str, Any]]] = {app: [] for app in apps}
    keys = f.n >= args.keys_at
    for i in range(args.runs):
        for app in apps:
            try:
                s = measure.tui_session(app, host, f, idle_seconds=args.idle, keys=keys,
                                        pythonpath=args.baseline if app == "baseline" else None)
            except (RuntimeError, TimeoutError) as exc:
                # One launch whose screen the harness could not read: recorded, and the run
                # goes on (the fleet took minutes to start).
                sessions[app].append({"failed": str(exc)[:500]})
                print(f"   run {i + 1}/{args.runs} {app:8}: FAILED: {str(exc)[:200]}",
                      flush=True)
                continue
            sessions[app].append(asdict(s))
            print(f"   run {i + 1}/{args.runs} {app:8}: {report.session_line(s)}", flush=True)
    out["sessions"] = sessions
    cli: dict[str, list[float]] = {"raw GET /containers/json": [],
                                   "docker ps --format json": [], "dhitui ls --json": []}
    if args.baseline:
        cli["baseline ls --json"] = []
    for _ in range(args.runs):
        cli["raw GET /containers/json"].append(measure.raw_list(host))
        cli["docker ps --format json"].append(
            measure.wall([args.docker_cli, "-H", host, "ps", "--format", "json"]))
        cli["dhitui ls --json"].append(
            measure.wall([*measure.dhitui_argv(host), "ls", "--json"]))
        if args.baseline:
            cli["baseline ls --json"].append(measure.wall(
                [*measure.dhitui_argv(host), "ls", "--json"],
                env=dict(os.environ, PYTHONPATH=args.baseline)))
    out["cli"] = cli
    # Time to a shell: the bare sidecar run, `dhitui debug C -- true`, and `enter` in the TUI
    # to the prompt, alternating, into the fleet's first container (a hardened one).
    target = f.name(0)
    env = measure.session_env(args.docker_cli)
    shell: dict[str, list[float]] = {"bare docker run": [], "dhitui debug -- true": [],
                                     "dhitui enter -> prompt": []}
    if args.baseline:
        shell["baseline debug -- true"] = []
        shell["baseline enter -> prompt"] = []
    base_env = measure.session_env(args.docker_cli, args.baseline)
    for _ in range(args.runs):
        shell["bare docker run"].append(measure.wall(
            measure.bare_run_argv(args.docker_cli, host, target), env=env))
        shell["dhitui debug -- true"].append(measure.wall(
            measure.debug_true_argv(host, target), env=env))
        if args.baseline:
            shell["baseline debug -- true"].append(measure.wall(
                measure.debug_true_argv(host, target), env=base_env))
        shell["dhitui enter -> prompt"].append(
            measure.enter_to_prompt(host, f, args.docker_cli))
        if args.baseline:
            shell["baseline enter -> prompt"].append(
                measure.enter_to_prompt(host, f, args.docker_cli, pythonpath=args.baseline))
    out["shell"] = shell
    print("   shell: " + ", ".join(f"{k} {measure.median(v):.3f}s" for k, v in shell.items()),
          flush=True)
    print("   cli: " + ", ".join(f"{k} {measure.median(v):.3f}s" for k, v in cli.items()),
          flush=True)
    return out


if __name__ == "__main__":
    sys.exit(main())
