"""Sessions compared: time to a prompt, and a scripted command, by transport (API vs docker
CLI) and by view (inside the target vs beside it).

    python -m bench.sessions [--runs 7] [--engines e28,e20,podman]   (engines from the test env)

For each engine, target (the hardened fixture -> a sidecar strategy, inside and beside; the
standard one -> exec) and transport, dhitui is spawned on a pty (`dhitui debug TARGET`) and
the time from spawn to the session's prompt on the pty is taken, then `exit` is typed and
the time to dhitui's exit is taken (the sidecar or holder removed by then). The scripted
case is the wall time of `dhitui debug -q TARGET -- true`, and the CPU time (user+system)
of dhitui and its children (the docker CLI) for it, which a busy shared machine disturbs
less than wall time. The two transports alternate run by run, so load from elsewhere falls
on both alike. Medians and ranges; the machine is printed with them.
Results go to docs/benchmarks.md by hand ("Session transports", "Inside or beside").
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pexpect

from bench import machine

REPO = Path(__file__).resolve().parent.parent
# kind -> (image, prompt, view)
TARGETS = {"inside": ("dhi.io/fixture-app:1.0", b"[dhitui inside] /", "inside"),
           "beside": ("dhi.io/fixture-app:1.0", b"[dhitui beside] /", "beside"),
           "exec": ("example.org/fixture/standard:1.0", b"# ", "auto")}
ENGINE_VARS = {"e20": "DHITUI_TEST_ENGINE_20", "e28": "DHITUI_TEST_ENGINE_28",
               "podman": "DHITUI_TEST_ENGINE_PODMAN"}


def _env(transport: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    cli = os.environ.get("DHITUI_TEST_DOCKER_CLI", "/usr/bin/docker")
    env["PATH"] = f"{Path(cli).parent}:/usr/bin:/bin"
    env["PYTHONPATH"] = str(REPO)
    env["TERM"] = "xterm"
    return env


def docker(host: str, *args: str) -> str:
    cli = os.environ.get("DHITUI_TEST_DOCKER_CLI", "docker")
    return subprocess.run([cli, "-H", host, *args], capture_output=True, text=True,
                          timeout=60, check=True).stdout.strip()


def interactive(host: str, target: str, prompt: bytes, transport: str,
                view: str) -> tuple[float, float]:
    """(seconds to the prompt, seconds from `exit` to dhitui's exit)."""
    start = time.perf_counter()
    child = pexpect.spawn(sys.executable, ["-m", "dhitui", "-H", host, "--transport",
                                           transport, "--view", view, "debug", "-q", target],
                          env=_env(transport), dimensions=(40, 120), timeout=60)
    try:
        child.expect_exact(prompt)
        to_prompt = time.perf_counter() - start
        child.send("exit\r")
        left = time.perf_counter()
        child.expect(pexpect.EOF)
        child.wait()
        return to_prompt, time.perf_counter() - left
    finally:
        if child.isalive():
            child.terminate(force=True)


def scripted(host: str, target: str, transport: str, view: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of dhitui and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dhitui", "-H", host, "--transport", transport,
                    "--view", view, "debug", "-q", target, "--", "true"], env=_env(transport),
                   check=True, capture_output=True, timeout=60)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _fmt(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return f"{statistics.median(ms):.0f} ({ms[0]:.0f}-{ms[-1]:.0f})"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sessions")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--engines", default="e28,e20,podman")
    args = parser.parse_args()
    rows = []
    info = None
    for engine in args.engines.split(","):
        host = os.environ[ENGINE_VARS[engine]]
        info = info or machine.describe(host)
        engine_version = machine.describe(host)["engine"]
        for kind, (image, prompt, view) in TARGETS.items():
            name = f"dhitui-bench-session-{uuid.uuid4().hex[:8]}"
            docker(host, "run", "-d", "--network", "none", "--label", "dhitui.bench=sessions",
                   "--name", name, image)
            try:
                samples: dict[str, list[list[float]]] = {t: [[], [], [], []]
                                                         for t in ("api", "cli")}
                for transport in samples:
                    interactive(host, name, prompt, transport, view)  # warm the page cache
                for _ in range(args.runs):
                    for transport, (to_prompt, to_exit, wall, cpu) in samples.items():
                        p, e = interactive(host, name, prompt, transport, view)
                        to_prompt.append(p)
                        to_exit.append(e)
                        w, c = scripted(host, name, transport, view)
                        wall.append(w)
                        cpu.append(c)
                for transport, series in samples.items():
                    rows.append((engine_version, kind, transport, *map(_fmt, series)))
                    print(*rows[-1], sep=" | ", flush=True)
            finally:
                docker(host, "rm", "-f", name)
    assert info is not None
    print()
    print(f"Machine: {machine.summary(info)}")
    print(f"{args.runs} runs each, medians in ms (min-max)")
    print()
    print("| engine | target | transport | spawn to prompt | `exit` to dhitui gone "
          "| `-- true` wall | `-- true` CPU |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
