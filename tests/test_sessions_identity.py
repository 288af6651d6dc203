"""Every session has the target's whole identity: uid, gid and every supplementary group.

The repro: a target run `--user 12345:12345 --group-add 4242` reads a file it may read only
through group 4242 (a `0770 root:4242` directory holding a `0640` file, bind-mounted). Every
kind of session must read it too (inside, beside on the target's image, beside on the
toolbox, a snapshot of the container stopped), and `--print`, the session and `doctor` say
the same groups.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import HARDENED_IMAGE, EngineUnderTest, docker, run_dhitui, run_json

pytestmark = pytest.mark.engine

SECRET = "readable through group 4242 only\n"


@pytest.fixture
def group_dir(tmp_path: Path) -> Path:
    d = tmp_path / "shared"
    d.mkdir()
    (d / "secret").write_text(SECRET)
    os.chown(d, 0, 4242)
    os.chown(d / "secret", 0, 4242)
    d.chmod(0o770)
    (d / "secret").chmod(0o640)
    tmp_path.chmod(0o755)
    return d


def sessions(engine: EngineUnderTest, running: bool) -> list[tuple[str, ...]]:
    """(options) for every kind of session this engine can open into the target."""
    if not running:
        return [("-s", "snapshot")]
    kinds = [("--view", "inside"), ("-s", "toolbox", "--view", "beside")]
    if engine.image_mounts:
        kinds.append(("-s", "image-mount", "--view", "beside"))
    return kinds


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_supplementary_groups_reach_every_session(
    engine: EngineUnderTest, containers: Callable[..., str], group_dir: Path, running: bool,
) -> None:
    cid = containers(engine, HARDENED_IMAGE, "--user", "12345:12345", "--group-add", "4242",
                     "-v", f"{group_dir}:/shared")
    if not running:
        docker(engine, "stop", "-t", "1", cid)
    for options in sessions(engine, running):
        code, plan = run_json("debug", "-H", engine.host, *options, cid, "--print", "--json",
                              "--", "true")
        assert code == 0 and isinstance(plan, dict), plan
        account = plan["target"]["account"]
        assert (account["uid"], account["gid"], account["gids"]) == (12345, 12345,
                                                                     [4242, 12345]), options
        # Beside, the target's files are where its process is: /proc/1/root.
        where = "/proc/1/root/shared" if "beside" in options else "/shared"
        proc = run_dhitui("debug", "-q", "-H", engine.host, *options, cid, "--", "sh", "-c",
                          f"id -u; id -g; id -G; cat {where}/secret", input="")
        assert proc.returncode == 0, (options, proc.stderr)
        uid, gid, groups, secret = proc.stdout.split("\n", 3)
        assert (int(uid), int(gid)) == (12345, 12345), options
        assert {int(g) for g in groups.split()} == set(account["gids"]), options
        assert secret == SECRET, options
    # doctor judges the mount by the same groups, and names them for the session.
    code, report = run_json("doctor", "--json", "-H", engine.host, cid)
    assert isinstance(report, dict)
    checks = {c["id"]: c for c in report["checks"] if c["container"]}
    assert checks["container.mounts"]["status"] == "ok"
    debug = checks["container.debug"]
    assert debug["data"]["account"]["gids"] == [4242, 12345], debug


def test_the_print_names_the_groups(engine28: EngineUnderTest,
                                    containers: Callable[..., str], group_dir: Path) -> None:
    cid = containers(engine28, HARDENED_IMAGE, "--user", "12345:12345", "--group-add", "4242")
    for options in (("--view", "inside"), ("--view", "beside")):
        proc = run_dhitui("debug", "--print", "-H", engine28.host, *options, cid)
        assert proc.returncode == 0, proc.stderr
        assert "GID 4242 (--group-add)" in proc.stdout, proc.stdout
    beside = run_json("debug", "--print", "--json", "-H", engine28.host, "--view", "beside",
                      cid)[1]
    assert isinstance(beside, dict)
    argv = beside["argv"]
    assert argv[argv.index("--group-add") + 1] == "4242"
    assert json.dumps(argv).count("--group-add") == 1  # the primary gid comes with --user


def test_the_podman_engine_has_no_init_binary(podman_engine: EngineUnderTest) -> None:
    """The premise of the no-init tests: like a Debian host that has docker.io (whose tini
    satisfies podman's Recommends), this Podman has no catatonit, so `--init` fails there.
    dhitui's sessions (snapshots included, Ctrl-C too) run on it all the same."""
    from conftest import skip_or_fail

    proc = docker(podman_engine, "run", "--rm", "--init", "--network", "none",
                  "busybox:latest", "true", check=False)
    if proc.returncode == 0:
        skip_or_fail("this machine has an init binary for podman (catatonit): the no-init "
                     "condition is not what the podman engine runs under")
    assert "container-init binary not found" in proc.stderr, proc.stderr
