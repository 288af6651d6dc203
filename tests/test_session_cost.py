"""What `dhitui debug C` asks of the engine and of this machine before the sidecar starts,
and after it ends (issue 15: time to a shell), on the real engines: request counts (exact,
not timings), the facts the cheaper path finds agreeing with a full classification, the
docker CLI's version asked only when the CLI may run the session, and the sidecar's keeper
doing nothing when told `done` and removing the container when dhitui dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from test_detect_engine import count_requests

from dhitui.detect import Classifier
from dhitui.detect.image_facts import PACKAGE_MANAGERS, SHELLS
from dhitui.engine.capabilities import probe_capabilities
from dhitui.engine.client import Engine
from dhitui.engine.endpoint import resolve_endpoint

from conftest import (
    HARDENED_IMAGE,
    PYTHON_DEV_IMAGE,
    PYTHON_IMAGE,
    STANDARD_IMAGE,
    EngineUnderTest,
    cli_env,
    docker,
)
from polling import poll

pytestmark = pytest.mark.engine


def fake_docker(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A `docker` on PATH that logs each run and answers `--version` like the real one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "docker-runs.log"
    script = bin_dir / "docker"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "Docker version 27.5.1, build x"\n')
    script.chmod(0o755)
    env = cli_env({"PATH": f"{bin_dir}:/usr/bin:/bin", "DOCKER_CONFIG": str(tmp_path / "cfg")})
    return env, log


def runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_a_sessions_probe_asks_only_what_a_plan_reads(engine: EngineUnderTest, api: Engine,
                                                     tmp_path: Path) -> None:
    env, log = fake_docker(tmp_path)
    counts = count_requests(api)
    caps = probe_capabilities(api, "busybox", env, scope="session", cli_version=False)
    assert sum(counts.values()) == 0, counts  # /version was asked by connect()
    assert runs(log) == []  # no `docker --version`
    assert caps.docker_cli_path == str(tmp_path / "bin" / "docker") and caps.docker_cli is None
    assert caps.rootless is None and caps.toolbox_image_present is None
    assert caps.image_mounts == api.supports_image_mounts and caps.scope == "session"

    caps = probe_capabilities(api, "busybox", env, scope="session", cli_version=True)
    assert runs(log) == ["--version"] and caps.docker_cli == "27.5.1"

    full = probe_capabilities(api, "busybox", env)
    assert runs(log) == ["--version", "--version"] and full.docker_cli == "27.5.1"
    assert counts[("GET", "info")] == 1 and full.toolbox_image_present is True
    assert isinstance(full.rootless, bool) and full.scope == "full"


def test_a_sessions_probe_still_finds_the_docker_debug_plugin(
        engine: EngineUnderTest, api: Engine, standin_plugin_config: Path,
        tmp_path: Path) -> None:
    """Looking for the plugin costs a few stats; its metadata (a process) is asked only for a
    plugin file that is there. (`dhitui debug` choosing it: test_sessions_engine.)"""
    env, log = fake_docker(tmp_path)
    env["DOCKER_CONFIG"] = str(standin_plugin_config)
    caps = probe_capabilities(api, "busybox", env, scope="session", cli_version=False)
    assert caps.docker_debug and caps.docker_debug_plugin is not None
    assert caps.docker_debug_plugin["path"] == str(
        standin_plugin_config / "cli-plugins" / "docker-debug")
    assert runs(log) == []


def plan_requests(api: Engine, cid: str, command: list[str] | None = None,
                  stats: list[str] | None = None) -> tuple[Counter[tuple[str, str]], object]:
    """The requests of planning a session into `cid` (the toolbox's files come from the
    on-disk cache or a helper container; `stats` gets the paths stat'ed in `cid`)."""
    from dhitui.sessions import plan_session

    caps = probe_capabilities(api, "busybox", cli_env(), scope="session", cli_version=False)
    stat_path = api.stat_path

    def recording(container: str, path: str) -> dict[str, object] | None:
        if stats is not None and container == cid:
            stats.append(path)
        return stat_path(container, path)

    api.stat_path = recording  # type: ignore[method-assign]
    plan_session(api, caps, image="busybox")  # the toolbox's files, cached from here on
    counts = count_requests(api)
    plan = plan_session(api, caps, cid, command=command, tty=False, transport="api")
    return counts, plan


def test_a_plan_for_a_shell_less_container_costs_its_shells_and_user(
        engine: EngineUnderTest, api: Engine, containers: Callable[..., str]) -> None:
    cid = containers(engine, HARDENED_IMAGE)
    stats: list[str] = []
    counts, plan = plan_requests(api, cid, ["true"], stats)
    assert stats == [*SHELLS, "/"]
    assert counts[("GET", "containers/*/json")] == 1
    assert counts[("GET", "images/busybox/json")] == 1  # the toolbox, once
    assert counts[("GET", "info")] == 0
    # Every shell path (none is there), the sentinel, no package managers.
    assert counts[("HEAD", "containers/*/archive")] == len(SHELLS) + 1
    # /etc/passwd (the user is a number to name), /etc/group (a user that names no group gets
    # the groups that list it: the session must have them too), and the image's USER to say
    # where the user comes from.
    assert counts[("GET", "containers/*/archive")] == 2
    assert counts[("GET", "images/*/json")] == 1
    total = sum(v for (m, k), v in counts.items() if not k.startswith("target:"))
    assert total == 5 + len(SHELLS) + 1, counts
    from dhitui.sessions import SessionPlan

    assert isinstance(plan, SessionPlan) and plan.chosen is not None
    assert plan.chosen.name == ("image-mount" if api.supports_image_mounts else "toolbox")


def test_a_plan_for_a_container_with_a_shell_stops_at_its_shell(
        engine: EngineUnderTest, api: Engine, containers: Callable[..., str]) -> None:
    cid = containers(engine, STANDARD_IMAGE)
    stats: list[str] = []
    plan_requests(api, cid, None, stats)
    # /bin/sh and where its links lead; no package manager, no sentinel (a shell was found).
    assert stats[0] == "/bin/sh" and len(stats) <= 3, stats
    assert not {p for _, p in PACKAGE_MANAGERS} & set(stats) and "/" not in stats


def test_plans_in_one_session_look_at_each_image_once(
        engine: EngineUnderTest, api: Engine, containers: Callable[..., str]) -> None:
    """The session's image facts (here the classifier's, with no disk cache) answer a second
    plan: no helper container for the toolbox, no file read or path stat, only the inspects
    that must be fresh; a new cache looks again (nothing is kept outside it)."""
    from dhitui.detect import ImageFactsCache
    from dhitui.sessions import plan_session

    cid = containers(engine, STANDARD_IMAGE)
    caps = probe_capabilities(api, "busybox", cli_env(), scope="session", cli_version=False)
    counts = count_requests(api)

    def one_plan(classifier: Classifier) -> Counter[tuple[str, str]]:
        before = counts.copy()
        plan_session(api, caps, cid, classifier=classifier, command=["ls"], tty=False,
                     transport="api")
        return Counter({k: v for k, v in (counts - before).items()
                        if not k[1].startswith("target:")})

    session = Classifier(api, facts=ImageFactsCache(api, disk=False))
    first = one_plan(session)
    assert first[("POST", "containers/create")] == 1, first  # the toolbox, through a helper
    assert first[("HEAD", "containers/*/archive")] > 0, first  # and `ls` along the PATH
    second = one_plan(session)
    assert second == Counter({("GET", "containers/*/json"): 1,
                              ("GET", "images/busybox/json"): 1}), second
    again = one_plan(Classifier(api, facts=ImageFactsCache(api, disk=False)))
    assert again[("POST", "containers/create")] == 1, again


@pytest.mark.parametrize("image,args", [
    (HARDENED_IMAGE, ()),
    (HARDENED_IMAGE, ("--user", "nonroot")),
    (HARDENED_IMAGE, ("--user", "1234:5678")),
    (PYTHON_IMAGE, ()),
    (PYTHON_DEV_IMAGE, ("--user", "0")),
    (STANDARD_IMAGE, ()),
    (STANDARD_IMAGE, ("--user", "nonroot:nonroot")),
])
def test_a_plans_target_agrees_with_classification(
        engine: EngineUnderTest, api: Engine, containers: Callable[..., str], image: str,
        args: tuple[str, ...]) -> None:
    """The plan's cheaper look at a container finds the user and shell a full
    classification finds (created containers: their state cannot change meanwhile)."""
    from dhitui.sessions.targets import container_target

    cid = containers(engine, image, *args, start=False)
    classified = Classifier(api).classify(cid)
    target = container_target(api, cid)
    assert (target.user, target.shell) == (classified.user, classified.shell)
    assert target.image_id == classified.image_id and target.state == classified.state


def test_a_container_gone_while_planned_is_not_found(engine: EngineUnderTest, api: Engine,
                                                     containers: Callable[..., str]) -> None:
    """A removed container answers 404 to every path, like a shell-less one: the sentinel
    tells them apart."""
    from dhitui.errors import NotFound
    from dhitui.sessions.targets import session_facts

    cid = containers(engine, HARDENED_IMAGE)
    inspect = api.inspect_container(cid)
    docker(engine, "rm", "-f", cid)
    with pytest.raises(NotFound):
        session_facts(api, inspect)


# --------------------------------------------------------------------------- the keeper


def keeper(engine: EngineUnderTest, container: str) -> subprocess.Popen[bytes]:
    """The keeper as a session starts it, told about `container`."""
    from dhitui.engine.reaper import Reaper

    reaper = Reaper(resolve_endpoint(host=engine.host))
    proc = reaper._proc
    assert proc is not None and proc.args[1:3] == ["-I", "-S"]  # type: ignore[index]
    reaper.watch(container)
    return proc


def exists(engine: EngineUnderTest, cid: str) -> bool:
    return docker(engine, "inspect", cid, check=False).returncode == 0


def test_the_keeper_told_done_leaves_the_container(engine: EngineUnderTest,
                                                   containers: Callable[..., str]) -> None:
    from dhitui.engine.keeper import DONE

    cid = containers(engine, HARDENED_IMAGE)
    proc = keeper(engine, cid)
    assert proc.stdin is not None
    proc.stdin.write(DONE)
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert exists(engine, cid)


def test_the_keeper_removes_the_container_when_its_owner_dies(
        engine: EngineUnderTest, containers: Callable[..., str]) -> None:
    """The pipe ends without `done` (dhitui was killed): the keeper becomes the reaper,
    which connects and removes the sidecar."""
    cid = containers(engine, HARDENED_IMAGE)
    # The owner: a process holding the keeper's pipe, killed outright.
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from dhitui.engine.reaper import Reaper\n"
         "from dhitui.engine.endpoint import resolve_endpoint\n"
         f"r = Reaper(resolve_endpoint(host={engine.host!r}))\n"
         f"r.watch({cid!r})\n"
         "print(r._proc.pid, flush=True)\n"
         "time.sleep(300)\n"],
        stdout=subprocess.PIPE, env=cli_env())
    assert owner.stdout is not None
    keeper_pid = int(owner.stdout.readline())
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait(timeout=30)
    poll("the keeper to remove the container", lambda: not exists(engine, cid))
    poll("the keeper to exit", lambda: _state(keeper_pid) in ("Z", "gone"), 30,
         show=lambda: _state(keeper_pid))


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"
