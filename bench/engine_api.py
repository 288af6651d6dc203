"""The Engine client's own costs: `python -m bench.engine_api HOST [--baseline PATH] [--runs 7]`.

What the client pays before the first answer and per request, without a fleet: the import
of `dhitui.engine.client` and `dhitui.engine.attach` (docker-py is imported by `connect()`),
`connect()` in a fresh process (docker-py's import, the client, `/version`), a second
`connect()` (no imports left to pay), one `GET /containers/{id}/json`, the connections 200
of them open, and an exec session's round trip (`true`, no TTY: create, hijack, pump, exit
status). Each run is a fresh child process; with `--baseline` the checkout at PATH (put on
PYTHONPATH) is measured too, alternating with this one, so both see the same machine load.
Reports medians; asserts nothing. Needs a running container: it starts one from
busybox:latest and removes it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import machine

REPO = Path(__file__).resolve().parent.parent
IMAGE = "busybox:latest"

CHILD = r"""
import json, os, socket, sys, time
t0 = time.perf_counter()
import dhitui.engine.client as client
import dhitui.engine.attach as attach
t_import = time.perf_counter() - t0
from dhitui.engine.endpoint import Endpoint
from dhitui.engine.specs import ExecSpec
host, cid = sys.argv[1], sys.argv[2]
ep = Endpoint(host, "flag", "--host")
t0 = time.perf_counter(); eng = client.connect(ep); t_connect = time.perf_counter() - t0
t0 = time.perf_counter(); client.connect(ep).close(); t_reconnect = time.perf_counter() - t0
connects = 0
real_connect = socket.socket.connect
def counting(self, *a):
    global connects
    connects += 1
    return real_connect(self, *a)
socket.socket.connect = counting
eng.inspect_container(cid)
times = []
for _ in range(200):
    t0 = time.perf_counter(); eng.inspect_container(cid); times.append(time.perf_counter() - t0)
socket.socket.connect = real_connect
times.sort()
r, w = os.pipe(); os.close(w)
null = os.open(os.devnull, os.O_WRONLY)
sessions = []
for _ in range(10):
    t0 = time.perf_counter()
    status = attach.run_exec(eng, ExecSpec(container=cid, cmd=("true",), tty=False),
                             streams=attach.Streams(stdin=r, stdout=null, stderr=null))
    sessions.append(time.perf_counter() - t0)
    assert status == 0, status
sessions.sort()
loaded = sorted(m for m in ("docker", "requests", "urllib3") if m in sys.modules)
print(json.dumps({"import_ms": t_import * 1e3, "connect_ms": t_connect * 1e3,
                  "reconnect_ms": t_reconnect * 1e3, "inspect_ms": times[100] * 1e3,
                  "inspect_p90_ms": times[180] * 1e3, "connects_per_200": connects,
                  "exec_ms": sessions[5] * 1e3, "loaded": loaded}))
"""


def child(host: str, cid: str, pythonpath: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    out = subprocess.run([sys.executable, "-c", CHILD, host, cid], env=env, check=True,
                         capture_output=True, text=True, timeout=120)
    return dict(json.loads(out.stdout.splitlines()[-1]))


def docker(cli: str, host: str, *args: str) -> str:
    return subprocess.run([cli, "-H", host, *args], check=True, capture_output=True,
                          text=True, timeout=60).stdout.strip()


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.engine_api",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("host", nargs="?", default=os.environ.get("DHITUI_TEST_ENGINE_28"))
    p.add_argument("--docker-cli", default=os.environ.get("DHITUI_TEST_DOCKER_CLI", "docker"))
    p.add_argument("--baseline", metavar="PATH", help="a checkout's root to compare with")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    if not args.host:
        p.error("no engine: pass HOST or eval \"$(scripts/test-engines env)\" first")
    print(machine.summary(machine.describe(args.host)), flush=True)
    cid = docker(args.docker_cli, args.host, "run", "-d", "--rm", "--label", "dhitui.bench=1",
                 IMAGE, "sleep", "600")
    trees = {"this": str(REPO)}
    if args.baseline:
        trees = {"baseline": str(Path(args.baseline).resolve()), **trees}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    try:
        for _ in range(args.runs):
            for name, path in trees.items():
                results[name].append(child(args.host, cid, path))
    finally:
        docker(args.docker_cli, args.host, "rm", "-f", cid)
    keys = ["import_ms", "connect_ms", "reconnect_ms", "inspect_ms", "inspect_p90_ms",
            "connects_per_200", "exec_ms"]
    print(f"\nmedians (min-max) of {args.runs} runs against {args.host}; load average now "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("| | " + " | ".join(trees) + " |")
    print("|---|" + "---:|" * len(trees))
    for key in keys:
        cells = []
        for name in trees:
            values = [r[key] for r in results[name]]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
        print(f"| {key} | " + " | ".join(cells) + " |")
    for name in trees:
        print(f"{name}: imports {', '.join(results[name][0]['loaded'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
