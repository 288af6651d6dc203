"""The `scripts/test-engines` command line."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from . import CLI_TIMEOUT, DEMO_LABEL, SID_ROOT, STATE, die, log
from . import __doc__ as package_doc
from .engines import (
    ENGINES,
    DockerEngine,
    PodmanEngine,
    docker_cli,
    engine_version,
    ping,
    start_engine,
    stop_engine,
    stop_service,
)
from .fixtures import (
    DEV_IMAGE,
    DISTROLESS_IMAGE,
    FIPS_IMAGE,
    HARDENED_IMAGE,
    MIRRORED_DISTROLESS_IMAGE,
    PYTHON_DEV_IMAGE,
    PYTHON_IMAGE,
    SCRIPT_IMAGE,
    STANDARD_IMAGE,
    cli,
    remove_leftovers,
)
from .installs import ensure_sid_binaries, ensure_stable_packages

# --------------------------------------------------------------------------- commands


def env_vars() -> dict[str, str]:
    tls = {}
    for e in ENGINES.values():
        if isinstance(e, DockerEngine) and e.tls_host:
            # The same engine over TCP with --tlsverify, and where its client certificates are.
            tls = {f"{e.env_var}_TLS": e.tls_host, "DHITUI_TEST_TLS_CERTS": str(e.tls_dir)}
    return {**{e.env_var: e.host for e in ENGINES.values()}, **tls,
            "DHITUI_TEST_DOCKER_CLI": docker_cli()}


def cmd_up(args: argparse.Namespace) -> None:
    if os.geteuid() != 0:
        die("the test engines run as root: run this script as root")
    selected = [ENGINES[args.only]] if args.only else list(ENGINES.values())
    ensure_stable_packages()
    ensure_sid_binaries()  # also gives the docker CLI every engine is driven with
    for engine in selected:
        engine.prepare()
    for engine in selected:
        start_engine(engine)
    for engine in selected:
        engine.fixtures()
    STATE.mkdir(parents=True, exist_ok=True)
    running = [e for e in ENGINES.values() if ping(e)]
    (STATE / "engines.json").write_text(json.dumps(
        {"engines": {e.name: {"host": e.host, **engine_version(e)} for e in running},
         "docker_cli": docker_cli()}, indent=2) + "\n")
    log("ready; for a shell: eval \"$(scripts/test-engines env)\"")


def cmd_clean(args: argparse.Namespace) -> None:
    for engine in ENGINES.values():
        if ping(engine):
            remove_leftovers(engine)


def cmd_down(args: argparse.Namespace) -> None:
    selected = [ENGINES[args.only]] if args.only else list(ENGINES.values())
    for engine in selected:
        stop_engine(engine, args.purge)


def cmd_service(args: argparse.Namespace) -> None:
    """Stop, start or restart one engine's API server only (podman: its containers keep
    running, held by conmon)."""
    engine = ENGINES[args.only]
    if args.action in ("stop", "restart"):
        stop_service(engine)
    if args.action in ("start", "restart"):
        start_engine(engine)


def cmd_podman(args: argparse.Namespace) -> None:
    """Run the podman CLI on the test podman's own storage (works with its service down)."""
    engine = ENGINES["podman"]
    assert isinstance(engine, PodmanEngine)
    argv = engine.podman(*args.args)
    try:
        proc = subprocess.run(argv, env=engine.env(), timeout=CLI_TIMEOUT)
    except subprocess.TimeoutExpired:
        die(f"timed out after {CLI_TIMEOUT:.0f}s: {' '.join(argv)}")
    sys.exit(proc.returncode)


def cmd_env(args: argparse.Namespace) -> None:
    values = env_vars()
    if args.json:
        print(json.dumps(values, indent=2))
    else:
        for k, v in values.items():
            print(f"export {k}={v}")


def cmd_status(args: argparse.Namespace) -> None:
    ok = True
    for engine in ENGINES.values():
        if ping(engine):
            v = engine_version(engine)
            print(f"{engine.name}: up   {v['product']} {v['version']} "
                  f"API {v['api_version']}  {engine.host}")
        else:
            ok = False
            print(f"{engine.name}: down {engine.host}")
    sys.exit(0 if ok else 1)


def cmd_demo(args: argparse.Namespace) -> None:
    """Sample containers on e28 for trying the TUI by hand."""
    args.only = "e28"
    cmd_up(args)
    engine = ENGINES["e28"]
    old = cli(engine, "ps", "-aq", "--filter", f"label={DEMO_LABEL}").stdout.decode().split()
    if old:
        cli(engine, "rm", "-f", *old)
    samples = [
        ("payments-api", HARDENED_IMAGE, []),
        ("payments-api-fips", FIPS_IMAGE, []),
        ("builder", DEV_IMAGE, []),
        ("static-site", DISTROLESS_IMAGE, []),
        ("legacy-worker", STANDARD_IMAGE, []),
        ("python-worker", PYTHON_IMAGE, []),
        ("python-builder", PYTHON_DEV_IMAGE, []),
        ("mirrored-base", MIRRORED_DISTROLESS_IMAGE, []),
        # The engine's own socket, as a CI runner would mount it; no --group-add, so its
        # nonroot user cannot use it (the side panel shows the fix).
        ("ci-runner", HARDENED_IMAGE,
         ["-v", f"{engine.sock}:/var/run/docker.sock"]),
    ]
    for name, image, extra in samples:
        cli(engine, "run", "-d", "--network", "none", "--label", DEMO_LABEL, "--name", name,
            *extra, image)
    # Containers that will not stay up: an entrypoint script whose /bin/sh the image lacks,
    # and an app that writes a file and exits non-zero under `--restart always`.
    cli(engine, "run", "-d", "--network", "none", "--label", DEMO_LABEL, "--name",
        "start-script", SCRIPT_IMAGE)
    cli(engine, "run", "-d", "--network", "none", "--label", DEMO_LABEL, "--name",
        "crash-loop", "--restart", "always", HARDENED_IMAGE,
        "--crash", "/tmp/last-words", "config /etc/app.toml missing", "3")
    print(f"Sample containers are running. Try:\n  PATH={SID_ROOT}/usr/bin:$PATH "
          f"dhitui -H {engine.host}\n(that PATH puts a docker CLI 28 first, for image mounts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(package_doc or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="install what is missing, start the engines, build fixtures")
    up.add_argument("--only", choices=sorted(ENGINES))
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the engines this script started")
    down.add_argument("--purge", action="store_true", help="also delete their data")
    down.add_argument("--only", choices=sorted(ENGINES))
    down.set_defaults(func=cmd_down)
    service = sub.add_parser("service", help="stop/start/restart one engine's API server "
                             "(podman's containers stay)")
    service.add_argument("action", choices=("stop", "start", "restart"))
    service.add_argument("--only", choices=sorted(ENGINES), default="podman")
    service.set_defaults(func=cmd_service)
    podman = sub.add_parser("podman", help="the podman CLI on the test podman's storage")
    podman.add_argument("args", nargs=argparse.REMAINDER)
    podman.set_defaults(func=cmd_podman)
    env = sub.add_parser("env", help="print the variables the tests read")
    env.add_argument("--json", action="store_true")
    env.set_defaults(func=cmd_env)
    sub.add_parser("status", help="which engines answer").set_defaults(func=cmd_status)
    sub.add_parser("clean", help="remove containers earlier test runs left behind"
                   ).set_defaults(func=cmd_clean)
    demo = sub.add_parser("demo", help="sample containers on e28 to try the TUI against")
    demo.set_defaults(func=cmd_demo, only=None)
    args = parser.parse_args()
    args.func(args)
