"""`dhitui doctor` end to end: real sockets, a real unprivileged user, real engines and
fixture containers. Every run also asserts that nothing printed a traceback."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    DEV_IMAGE,
    FIPS_IMAGE,
    HARDENED_IMAGE,
    STANDARD_IMAGE,
    EngineUnderTest,
    User,
    cli_env,
    docker,
    run_dhitui,
)

CHECK_KEYS = {"id", "status", "summary", "detail", "fix", "alternatives", "container", "data"}


def doctor(*args: str, expect: int | None = None, **kwargs: Any
           ) -> tuple[int, list[dict[str, Any]]]:
    """Run `dhitui doctor --json ARGS`; validate the document; return (exit code, checks)."""
    proc = run_dhitui("doctor", "--json", *args, **kwargs)
    assert "Traceback" not in proc.stderr, proc.stderr
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"not JSON ({exc}): {proc.stdout!r} {proc.stderr!r}") from None
    checks = doc["checks"]
    assert isinstance(checks, list) and checks
    for c in checks:
        assert set(c) == CHECK_KEYS, c
        assert c["status"] in ("ok", "warn", "fail")
        assert isinstance(c["summary"], str) and c["summary"] and "\n" not in c["summary"]
        assert c["fix"] is None or (isinstance(c["fix"], str) and c["fix"])
        assert c["container"] is None or set(c["container"]) == {"id", "name"}
        assert "<gid>" not in json.dumps(c) and "<uid>" not in json.dumps(c)
    summary = doc["summary"]
    assert summary["fail"] == sum(c["status"] == "fail" for c in checks)
    # The documented exit codes: 5 for a named container that is missing, else 1 iff a check
    # failed.
    if summary["missing"]:
        assert proc.returncode == 5
    else:
        assert proc.returncode == (1 if summary["fail"] else 0), (proc.returncode, summary)
    if expect is not None:
        assert proc.returncode == expect, (proc.returncode, proc.stderr, checks)
    return proc.returncode, checks


def one(checks: list[dict[str, Any]], check_id: str, container: str | None = None
        ) -> dict[str, Any]:
    found = [c for c in checks if c["id"] == check_id
             and (container is None or (c["container"] or {}).get("id") == container)]
    assert len(found) == 1, (check_id, container, [c["id"] for c in checks])
    return found[0]


def ids(checks: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in checks]


# ---------------------------------------------------------------- the socket, as a real user


@pytest.mark.engine
@pytest.mark.root
def test_permission_denied_then_group_fixes_it(engine20: EngineUnderTest,
                                               unprivileged_user: User) -> None:
    st = os.stat(engine20.socket)
    assert stat.S_IMODE(st.st_mode) & 0o006 == 0, "test needs a socket closed to others"
    import grp

    group = grp.getgrgid(st.st_gid).gr_name
    _, checks = doctor("-H", engine20.host, user=unprivileged_user, expect=1)
    sock = one(checks, "host.socket")
    assert sock["status"] == "fail"
    assert (sock["data"]["gid"], sock["data"]["group"]) == (st.st_gid, group)
    assert sock["data"]["mode"] == "0660" and sock["data"]["can_write"] is False
    assert sock["data"]["user"]["uid"] == unprivileged_user.uid
    assert f"group {group} (GID {st.st_gid})" in sock["summary"]
    assert sock["fix"].startswith(f"`sudo usermod -aG {group} {unprivileged_user.name}`")
    assert "newgrp" in sock["fix"] and "root-equivalent" in sock["detail"]
    assert any("dockerd-rootless-setuptool.sh install" in a for a in sock["alternatives"])
    for text in (sock["fix"], *sock["alternatives"]):
        assert "chmod" not in text
    daemon = one(checks, "host.daemon")
    assert daemon["status"] == "fail" and daemon["data"]["kind"] == "permission-denied"
    assert one(checks, "engine.skipped")["status"] == "warn"
    assert not any(i.startswith("container.") for i in ids(checks))

    # Human output: the same finding, with its symbol, no traceback.
    proc = run_dhitui("doctor", "-H", engine20.host, user=unprivileged_user)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "✘" in proc.stdout and f"usermod -aG {group} {unprivileged_user.name}" in proc.stdout

    # The same user with the socket's group: through.
    _, checks = doctor("-H", engine20.host, user=unprivileged_user, groups=[st.st_gid])
    sock = one(checks, "host.socket")
    assert sock["status"] == "ok"
    assert (sock["data"]["via"], sock["data"]["via_gid"]) == ("group", st.st_gid)
    assert f"through group {group} (GID {st.st_gid})" in sock["summary"]
    daemon = one(checks, "host.daemon")
    assert daemon["status"] == "ok" and daemon["data"]["engine_version"].startswith("20.10")
    assert daemon["data"]["seconds"] > 0
    assert "engine.skipped" not in ids(checks) and "engine.version" in ids(checks)


@pytest.mark.engine
@pytest.mark.root
def test_permission_denied_on_podmans_socket(podman_engine: EngineUnderTest,
                                             unprivileged_user: User) -> None:
    """Podman's rootful socket is root's alone (podman system service makes it 0600, the
    systemd unit 0660 root:root): rootless Podman is the fix, then the socket's real owner
    and mode decide the alternatives; never chmod."""
    st = os.stat(podman_engine.socket)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) & 0o022 == 0, "needs a closed socket"
    _, checks = doctor("-H", podman_engine.host, user=unprivileged_user, expect=1)
    sock = one(checks, "host.socket")
    assert sock["status"] == "fail" and sock["data"]["podman"] is True
    assert sock["data"]["mode"] == f"{stat.S_IMODE(st.st_mode):04o}"
    assert (f"may not use Podman's socket {podman_engine.socket}, which only its owner root "
            "(UID 0) may use") in sock["summary"]
    assert sock["fix"].startswith("`systemctl --user enable --now podman.socket` as your user")
    assert any("run dhitui with sudo" in a and f"mode {stat.S_IMODE(st.st_mode):04o}" in a
               for a in sock["alternatives"])
    assert any("SocketGroup=podman" in a for a in sock["alternatives"])
    assert "root-equivalent" in sock["detail"] and "Do not `chmod 666`" in sock["detail"]
    for text in (sock["fix"], *sock["alternatives"]):
        assert "chmod" not in text and "usermod -aG root" not in text
    daemon = one(checks, "host.daemon")
    assert daemon["status"] == "fail" and daemon["data"]["kind"] == "permission-denied"
    proc = run_dhitui("ls", "-H", podman_engine.host, user=unprivileged_user)
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    assert (f"cannot reach Podman at {podman_engine.socket}: permission denied"
            in proc.stderr), proc.stderr
    # As root the same socket answers, and the engine is named.
    _, checks = doctor("-H", podman_engine.host)
    assert "Podman" in one(checks, "host.daemon")["summary"]
    assert one(checks, "engine.version")["data"]["engine"] == "Podman"
    assert one(checks, "engine.image-mounts")["status"] == "ok"


def test_missing_podman_sockets_get_podmans_start_fix(tmp_path: Path) -> None:
    runtime = f"/run/user/{os.getuid() + 40000}"
    _, checks = doctor("-H", f"unix://{runtime}/podman/podman.sock", expect=1)
    sock = one(checks, "host.socket")
    assert "rootless Podman" in sock["fix"] and "sudo" not in sock["fix"]
    assert "podman.socket" in sock["fix"] or "podman system service" in sock["fix"]
    _, checks = doctor("-H", f"unix://{tmp_path}/podman/podman.sock", expect=1)
    sock = one(checks, "host.socket")
    assert "start Podman's API" in sock["fix"]
    assert sock["alternatives"][0].startswith("`systemctl --user enable --now podman.socket`")


@pytest.mark.root
def test_socket_behind_an_unsearchable_directory(unprivileged_user: User) -> None:
    import shutil
    import tempfile

    # Not under tmp_path: pytest's own base directory is 0700 and would block first.
    base = Path(tempfile.mkdtemp(prefix="dhitui-doctor-"))
    try:
        os.chmod(base, 0o755)
        locked = base / "locked"
        locked.mkdir(mode=0o700)
        _, checks = doctor("-H", f"unix://{locked}/docker.sock", user=unprivileged_user,
                           expect=1)
    finally:
        shutil.rmtree(base)
    sock = one(checks, "host.socket")
    assert sock["status"] == "fail" and sock["data"]["error"] == "permission-denied"
    assert sock["data"]["blocked_at"] == str(locked)
    assert f"{locked} is not searchable" in sock["summary"]


# ---------------------------------------------------------------- broken sockets and input


def test_missing_socket(tmp_path: Path) -> None:
    path = tmp_path / "none.sock"
    _, checks = doctor("-H", f"unix://{path}", expect=1)
    sock = one(checks, "host.socket")
    assert sock["status"] == "fail" and sock["data"]["error"] == "missing"
    assert sock["summary"] == f"no socket at {path}"
    assert one(checks, "host.daemon")["data"]["kind"] == "missing"
    assert one(checks, "engine.skipped")["data"]["reason"] == "no engine answers"


def test_stale_socket(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()
    assert stat.S_ISSOCK(path.stat().st_mode)
    _, checks = doctor("-H", f"unix://{path}", expect=1)
    assert one(checks, "host.socket")["data"]["kind"] == "socket"
    daemon = one(checks, "host.daemon")
    assert daemon["status"] == "fail" and daemon["data"]["kind"] == "refused"
    assert "stale socket" in daemon["summary"]
    assert daemon["fix"] and f"dockerd --host unix://{path}" in daemon["fix"]


def test_regular_file_at_socket_path(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    path.write_text("")
    _, checks = doctor("-H", f"unix://{path}", expect=1)
    sock = one(checks, "host.socket")
    assert sock["status"] == "fail" and sock["data"]["kind"] == "regular file"
    assert sock["summary"] == f"{path} is a regular file, not a socket"
    assert one(checks, "host.daemon")["data"]["kind"] == "not-a-socket"


def test_directory_at_socket_path_explains_the_bind_mount_trap(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    path.mkdir()
    _, checks = doctor("-H", f"unix://{path}", expect=1)
    sock = one(checks, "host.socket")
    assert sock["data"]["kind"] == "directory"
    assert "Docker creates the missing source as a directory" in sock["detail"]


def test_daemon_that_never_answers_times_out(tmp_path: Path) -> None:
    path = tmp_path / "hung.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)  # accepts into the backlog, never answers
    try:
        _, checks = doctor("--timeout", "1", "-H", f"unix://{path}", expect=1)
    finally:
        server.close()
    daemon = one(checks, "host.daemon")
    assert daemon["data"]["kind"] == "timeout"
    assert "within 1s" in daemon["fix"]


@pytest.mark.parametrize("bad", ["foo", "http://x:2375", "tcp://:99999"])
def test_malformed_docker_host(bad: str) -> None:
    _, checks = doctor(env=cli_env({"DOCKER_HOST": bad}), expect=1)
    ep = one(checks, "host.endpoint")
    assert ep["status"] == "fail" and ep["data"]["problem"] == "docker-host"
    assert "DOCKER_HOST" in ep["summary"]
    assert "DOCKER_HOST" in ep["fix"]
    assert "host.socket" not in ids(checks)
    assert one(checks, "engine.skipped")["data"]["reason"] == \
        "no engine endpoint could be chosen"
    # The human report for the same input, not a one-line error.
    proc = run_dhitui("doctor", env=cli_env({"DOCKER_HOST": bad}))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "no engine endpoint could be chosen" in proc.stdout


def test_corrupt_config_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{\n  currentContext: x\n")
    _, checks = doctor(env=cli_env({"DOCKER_CONFIG": str(tmp_path)}), expect=1)
    ep = one(checks, "host.endpoint")
    assert ep["data"]["problem"] == "config-json"
    assert "line 2" in ep["summary"]
    assert f"python3 -m json.tool {tmp_path / 'config.json'}" in ep["fix"]


def test_unknown_context(tmp_path: Path) -> None:
    env = cli_env({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "nope"})
    _, checks = doctor(env=env, expect=1)
    ep = one(checks, "host.endpoint")
    assert ep["data"]["problem"] == "context" and "unset DOCKER_CONTEXT" in ep["fix"]


def test_broken_dhitui_config_is_a_check_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "dhitui").mkdir()
    (tmp_path / "dhitui/config.toml").write_text("toolbox = \n")
    _, checks = doctor("-H", f"unix://{tmp_path}/none.sock",
                       env=cli_env({"XDG_CONFIG_HOME": str(tmp_path)}), expect=1)
    settings = one(checks, "host.settings")
    assert settings["status"] == "fail"
    assert settings["data"]["path"] == str(tmp_path / "dhitui/config.toml")
    assert "host.socket" in ids(checks)  # the report went on


def test_usage_errors_exit_2() -> None:
    for args in (["-H", "unix:///a.sock", "--context", "x"], ["--timeout", "soon"],
                 ["--bogus"]):
        proc = run_dhitui("doctor", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stdout == ""


# ---------------------------------------------------------------- other engines on this machine


@pytest.mark.engine
def test_other_answering_engines_are_found_and_suggested(
        engine20: EngineUnderTest, engine28: EngineUnderTest, tmp_path: Path) -> None:
    _, checks = doctor("-H", f"unix://{tmp_path}/none.sock", expect=1)
    others = one(checks, "host.other-engines")
    assert others["status"] == "warn"
    answering = others["data"]["answering"]
    assert engine20.host in answering and engine28.host in answering
    found = {f["url"]: f for f in others["data"]["found"]}
    for eng in (engine20, engine28):
        # Neither is a well-known path: only /proc/net/unix and dockerd's --host know them.
        how = " ".join(found[eng.host]["found_by"])
        assert "/proc/net/unix" in how and "dockerd (pid" in how, how
    assert others["fix"].startswith("export DOCKER_HOST=unix://")
    assert others["fix"].split("=", 1)[1] in answering
    # The socket check offers one of them as an alternative, after fixing the path itself.
    sock = one(checks, "host.socket")
    assert any("export DOCKER_HOST=" in a for a in sock["alternatives"])


@pytest.mark.engine
def test_other_engines_are_not_a_problem_when_ours_answers(engine28: EngineUnderTest) -> None:
    _, checks = doctor("-H", engine28.host)
    others = one(checks, "host.other-engines")
    assert others["status"] == "ok"
    assert engine28.host not in others["data"]["answering"]  # ours is not "other"


# ---------------------------------------------------------------- engine checks


@pytest.mark.engine
def test_engine_checks(engine: EngineUnderTest) -> None:
    _, checks = doctor("-H", engine.host)
    for i in ("host.endpoint", "host.socket", "host.daemon", "engine.version",
              "engine.toolbox", "engine.security", "engine.sidecars"):
        assert one(checks, i)["status"] == "ok", one(checks, i)
    mounts = one(checks, "engine.image-mounts")
    assert mounts["data"]["supported"] is engine.image_mounts
    assert mounts["status"] == ("ok" if engine.image_mounts else "warn")
    assert one(checks, "engine.docker-debug")["data"]["available"] is False
    assert one(checks, "engine.security")["data"]["rootless"] is False


@pytest.mark.engine
def test_missing_toolbox_is_a_warning_with_the_pull_fix(engine28: EngineUnderTest) -> None:
    _, checks = doctor("-H", engine28.host, "--toolbox", "nope/absent:1")
    tb = one(checks, "engine.toolbox")
    assert tb["status"] == "warn" and tb["data"]["image"] == "nope/absent:1"
    assert tb["fix"] == f"docker -H {engine28.host} pull nope/absent:1"


@pytest.mark.engine
def test_orphan_sidecars_and_hostile_label_text(engine28: EngineUnderTest,
                                                containers: Callable[..., str]) -> None:
    target = containers(engine28, HARDENED_IMAGE)
    alive = containers(engine28, HARDENED_IMAGE, "--label", "dhitui.sidecar=1",
                       "--label", f"dhitui.target={target}")
    hostile = "[red]x[/]\x1b]0;pwn\x07"
    orphan = containers(engine28, HARDENED_IMAGE, "--label", "dhitui.sidecar=1",
                        "--label", f"dhitui.target={hostile}")
    stopped_target = containers(engine28, HARDENED_IMAGE, start=False)
    orphan2 = containers(engine28, HARDENED_IMAGE, "--label", "dhitui.sidecar=1",
                         "--label", f"dhitui.target={stopped_target}", start=False)
    _, checks = doctor("-H", engine28.host, target)
    side = one(checks, "engine.sidecars")
    assert side["status"] == "warn"
    assert set(side["data"]["orphans"]) == {orphan, orphan2}
    status = {s["id"]: s["status"] for s in side["data"]["sidecars"]}
    reasons = {s["id"]: s["reason"] for s in side["data"]["sidecars"]}
    assert status[alive] != "orphan"  # its target runs; no session of ours to judge it by
    assert reasons[orphan].endswith("no longer exists")
    assert reasons[orphan2].endswith("is not running (created)")
    assert side["fix"] == f"dhitui -H {engine28.host} debug --cleanup"

    proc = run_dhitui("doctor", "-H", engine28.host, target,
                      env=cli_env({"COLUMNS": "400"}))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert "[red]x[/]" in proc.stdout  # shown literally, not as Rich markup
    assert "\x1b]0;pwn" not in proc.stdout and "\x07" not in proc.stdout


# ---------------------------------------------------------------- per container


@pytest.mark.engine
def test_socket_mount_without_and_with_group_add(docker_engine: EngineUnderTest,
                                                 containers: Callable[..., str]) -> None:
    # Docker Engine's sockets are 0660 with a group; the test podman's is 0600 root:root,
    # where --group-add cannot help (test_permission_denied_on_podmans_socket).
    engine = docker_engine
    gid = os.stat(engine.socket).st_gid
    mount = ["-v", f"{engine.socket}:/var/run/docker.sock"]
    without = containers(engine, HARDENED_IMAGE, *mount)
    with_group = containers(engine, HARDENED_IMAGE, *mount, "--group-add", str(gid))
    _, checks = doctor("-H", engine.host, without, with_group, expect=1)

    bad = one(checks, "container.socket", without)
    assert bad["status"] == "fail"
    assert bad["data"]["socket"]["gid"] == gid and bad["data"]["can_use"] is False
    assert bad["data"]["user"]["uid"] == 65532 and bad["data"]["user"]["gids"] == [65532]
    assert f"--group-add {gid}" in bad["summary"] and f"--group-add {gid}" in bad["fix"]
    assert any(f"--group-add $(stat -c '%g' {engine.socket})" in a
               for a in bad["alternatives"])
    assert "chmod" not in bad["fix"]

    good = one(checks, "container.socket", with_group)
    assert good["status"] == "ok"
    assert (good["data"]["via"], good["data"]["via_gid"]) == ("group", gid)
    assert gid in good["data"]["user"]["gids"]


@pytest.mark.engine
def test_group_add_by_name_means_the_containers_group(engine20: EngineUnderTest,
                                                      containers: Callable[..., str]) -> None:
    """`--group-add nonroot` is resolved in the container's /etc/group (GID 65532), not the
    host's: it does not grant the socket's group."""
    gid = os.stat(engine20.socket).st_gid
    cid = containers(engine20, HARDENED_IMAGE, "-v", f"{engine20.socket}:/run/docker.sock",
                     "--group-add", "nonroot")
    _, checks = doctor("-H", engine20.host, cid, expect=1)
    c = one(checks, "container.socket", cid)
    assert c["status"] == "fail" and c["data"]["destination"] == "/run/docker.sock"
    assert f"--group-add {gid}" in c["fix"]


@pytest.mark.engine
def test_bind_mounts_against_the_container_uid(engine: EngineUnderTest,
                                               containers: Callable[..., str],
                                               tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir()
    os.chmod(private, 0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    assert private.stat().st_uid == 0 and shared.stat().st_uid == 0
    cid = containers(engine, HARDENED_IMAGE, "-v", f"{private}:/private",
                     "-v", f"{shared}:/shared-ro:ro", "-v", f"{shared}:/shared-rw")
    _, checks = doctor("-H", engine.host, cid, expect=1)
    by_dest = {c["data"]["destination"]: c for c in checks
               if c["id"] == "container.mount" and c["container"]["id"] == cid}
    assert set(by_dest) == {"/private", "/shared-rw"}
    p = by_dest["/private"]
    assert p["status"] == "fail" and p["data"]["lacks"] == ["read", "write"]
    assert p["fix"] == f"sudo chown 65532:65532 {private}"
    assert p["data"]["host"]["mode"] == "0700" and p["data"]["host"]["uid"] == 0
    rw = by_dest["/shared-rw"]
    assert rw["status"] == "fail" and rw["data"]["lacks"] == ["write"]
    assert rw["fix"] == f"sudo chown 65532:65532 {shared}"
    fine = one(checks, "container.mounts", cid)
    assert fine["status"] == "ok" and fine["data"]["mounts"] == ["/shared-ro"]


@pytest.mark.engine
def test_bind_mount_readable_by_group(engine28: EngineUnderTest,
                                      containers: Callable[..., str], tmp_path: Path) -> None:
    d = tmp_path / "group-data"
    d.mkdir()
    os.chown(d, 0, 4321)
    os.chmod(d, 0o770)
    cid = containers(engine28, HARDENED_IMAGE, "--group-add", "4321", "-v", f"{d}:/data")
    _, checks = doctor("-H", engine28.host, cid)
    assert "container.mount" not in ids(checks)
    assert one(checks, "container.mounts", cid)["data"]["mounts"] == ["/data"]


@pytest.mark.engine
def test_hostile_path_is_escaped_in_human_output(engine20: EngineUnderTest,
                                                 containers: Callable[..., str],
                                                 tmp_path: Path) -> None:
    d = tmp_path / "[bold]x\x1b]0;pwn\x07"  # "[/]" cannot be in a file name
    d.mkdir()
    os.chmod(d, 0o700)
    cid = containers(engine20, HARDENED_IMAGE, "-v", f"{d}:/data")
    proc = run_dhitui("doctor", "-H", engine20.host, cid, env=cli_env({"COLUMNS": "400"}))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "[bold]x" in proc.stdout and "cannot read or write the bind mount" in proc.stdout
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout


@pytest.mark.engine
def test_entrypoint_fips_and_debug_strategy(engine: EngineUnderTest,
                                            containers: Callable[..., str]) -> None:
    fips = containers(engine, FIPS_IMAGE)
    hardened = containers(engine, HARDENED_IMAGE)
    standard = containers(engine, STANDARD_IMAGE)
    dev = containers(engine, DEV_IMAGE)
    created = containers(engine, HARDENED_IMAGE, start=False)
    _, checks = doctor("-H", engine.host, fips, hardened, standard, dev, created)

    f = one(checks, "container.fips", fips)
    assert f["status"] == "warn" and "MD5" in f["summary"]
    assert f"tag {FIPS_IMAGE}" in f["data"]["evidence"]
    assert "label com.docker.dhi.compliance=fips,stig,cis" in f["data"]["evidence"]
    assert not [c for c in checks if c["id"] == "container.fips"
                and c["container"]["id"] != fips]

    ep = one(checks, "container.entrypoint", hardened)
    assert ep["status"] == "warn" and ep["data"]["entrypoint"] == ["/app/app"]
    assert "`docker run dhi.io/fixture-app:1.0 sh` runs `/app/app sh`" in ep["detail"]
    assert "dhitui debug" in ep["fix"]
    dev_ep = one(checks, "container.entrypoint", dev)
    assert dev_ep["fix"] == f"docker run --rm -it --entrypoint /bin/sh {DEV_IMAGE}"
    assert one(checks, "container.entrypoint", standard)["status"] == "ok"

    expected = "image-mount" if engine.image_mounts else "toolbox"
    assert one(checks, "container.debug", hardened)["data"]["chosen"] == expected
    assert one(checks, "container.debug", dev)["data"]["shell"] == "/bin/sh"
    # A container that does not run gets a snapshot session.
    stopped = one(checks, "container.debug", created)
    assert stopped["status"] == "ok" and stopped["data"]["chosen"] == "snapshot"
    assert stopped["data"]["running"] is False
    assert one(checks, "container.start", created)["status"] == "ok"


@pytest.mark.engine
def test_debug_strategy_without_toolbox(engine28: EngineUnderTest,
                                        containers: Callable[..., str]) -> None:
    hardened = containers(engine28, HARDENED_IMAGE)
    dev = containers(engine28, DEV_IMAGE)
    _, checks = doctor("-H", engine28.host, "--toolbox", "nope/absent:1", hardened, dev,
                       expect=1)
    none = one(checks, "container.debug", hardened)
    assert none["status"] == "fail" and none["data"]["chosen"] is None
    assert none["fix"] == f"docker -H {engine28.host} pull nope/absent:1"
    assert one(checks, "container.debug", dev)["data"]["chosen"] == "exec"


@pytest.mark.engine
def test_all_running_containers_by_default(engine28: EngineUnderTest,
                                           containers: Callable[..., str]) -> None:
    a = containers(engine28, HARDENED_IMAGE)
    b = containers(engine28, STANDARD_IMAGE)
    stopped = containers(engine28, HARDENED_IMAGE, start=False)
    _, checks = doctor("-H", engine28.host)
    seen = {c["container"]["id"] for c in checks if c["container"]}
    assert {a, b} <= seen and stopped not in seen


@pytest.mark.engine
def test_unknown_container_exits_5_with_the_report(engine20: EngineUnderTest,
                                                   containers: Callable[..., str]) -> None:
    known = containers(engine20, HARDENED_IMAGE)
    _, checks = doctor("-H", engine20.host, "no-such-container-xyz", known, expect=5)
    missing = one(checks, "container.exists")
    assert missing["status"] == "fail" and missing["data"]["ref"] == "no-such-container-xyz"
    assert one(checks, "container.entrypoint", known)  # the others were still checked
    proc = run_dhitui("doctor", "-H", engine20.host, "no-such-container-xyz")
    assert proc.returncode == 5 and "no such container: no-such-container-xyz" in proc.stdout


@pytest.mark.engine
def test_doctor_changes_nothing(engine20: EngineUnderTest, containers: Callable[..., str],
                                tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    cid = containers(engine20, HARDENED_IMAGE, "-v", f"{engine20.socket}:/var/run/docker.sock",
                     "-v", f"{private}:/data")

    def snapshot() -> tuple[object, ...]:
        s, p = os.stat(engine20.socket), os.stat(private)
        listing = docker(engine20, "ps", "-a", "--no-trunc", "--format",
                         "{{.ID}} {{.State}} {{.Labels}}").stdout
        return (s.st_mode, s.st_uid, s.st_gid, p.st_mode, p.st_uid, p.st_gid,
                sorted(listing.splitlines()))

    before = snapshot()
    doctor("-H", engine20.host, expect=1)
    doctor("-H", engine20.host, cid, expect=1)
    assert snapshot() == before


# ---------------------------------------------------------------- TLS, with a real handshake


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A TLS server on localhost whose certificate the client's CA did not sign."""
    import ssl

    def selfsigned(name: str) -> tuple[Path, Path]:
        key, crt = tmp_path / f"{name}-key.pem", tmp_path / f"{name}.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(crt)],
                       check=True, capture_output=True, timeout=60)
        return key, crt

    server_key, server_crt = selfsigned("server")
    certs = tmp_path / "client-certs"
    certs.mkdir()
    client_key, client_crt = selfsigned("client")
    (certs / "key.pem").write_bytes(client_key.read_bytes())
    (certs / "cert.pem").write_bytes(client_crt.read_bytes())
    (certs / "ca.pem").write_bytes(client_crt.read_bytes())  # not the server's issuer
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(server_crt, server_key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield listener.getsockname()[1], certs
    finally:
        stop.set()
        t.join(timeout=5)
        listener.close()


def test_tls_failure_is_classified(tls_server: tuple[int, Path]) -> None:
    port, certs = tls_server
    env = cli_env({"DOCKER_HOST": f"tcp://127.0.0.1:{port}", "DOCKER_TLS_VERIFY": "1",
                   "DOCKER_CERT_PATH": str(certs)})
    _, checks = doctor("--timeout", "5", env=env, expect=1)
    assert one(checks, "host.socket")["data"]["path"] is None  # tcp: nothing on disk
    daemon = one(checks, "host.daemon")
    assert daemon["data"]["kind"] == "tls"
    assert "DOCKER_CERT_PATH" in daemon["fix"]


# ---------------------------------------------------------------- the API the TUI will use


@pytest.mark.engine
def test_in_process_api_reads_each_image_once(engine28: EngineUnderTest,
                                              containers: Callable[..., str]) -> None:
    """run_container_checks with a shared classifier: concurrent checks of four containers of one
    image inspect the image once and read /etc/passwd and /etc/group once."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    from dhitui.detect import Classifier
    from dhitui.diagnostics import Check, run_container_checks
    from dhitui.engine.capabilities import probe_capabilities
    from dhitui.engine.client import Engine, connect
    from dhitui.engine.endpoint import Endpoint

    class CountingEngine(Engine):
        """The real engine, counting the calls that should not grow with containers."""

        calls: Counter[str] = Counter()
        lock = threading.Lock()

        def _count(self, name: str) -> None:
            with self.lock:
                self.calls[name] += 1

        def inspect_image(self, ref: str) -> dict[str, Any]:
            # The toolbox (looked up by name for each debug plan) is not the image under test.
            self._count("inspect_image" if ref.startswith("sha256:") else "inspect_toolbox")
            return super().inspect_image(ref)

        def read_file(self, container: str, path: str, limit: int = 1 << 20) -> bytes | None:
            self._count(f"read_file {path}")
            return super().read_file(container, path, limit)

    cids = [containers(engine28, HARDENED_IMAGE) for _ in range(4)]
    real = connect(Endpoint(url=engine28.host, source="flag", reason="test"))
    eng = CountingEngine(real.endpoint, real.api, real.version_info)
    try:
        caps = probe_capabilities(eng, env=cli_env())
        CountingEngine.calls.clear()
        classifier = Classifier(eng)
        with ThreadPoolExecutor(max_workers=4) as pool:
            results: list[list[Check]] = list(pool.map(
                lambda c: run_container_checks(eng, c, caps=caps, classifier=classifier), cids))
    finally:
        eng.close()
    calls = dict(CountingEngine.calls)
    calls.pop("inspect_toolbox", None)
    assert calls == {"inspect_image": 1, "read_file /etc/passwd": 1, "read_file /etc/group": 1}
    for cid, checks in zip(cids, results, strict=True):
        assert {c.container.id for c in checks if c.container} == {cid}
        assert any(c.id == "container.debug" and c.data["chosen"] == "image-mount"
                   for c in checks)


@pytest.mark.engine
def test_socket_mount_of_a_missing_socket_became_a_directory(
        engine20: EngineUnderTest, containers: Callable[..., str], tmp_path: Path) -> None:
    src = tmp_path / "gone" / "docker.sock"  # Docker creates it, as a directory
    cid = containers(engine20, HARDENED_IMAGE, "-v", f"{src}:/var/run/docker.sock")
    assert src.is_dir()
    _, checks = doctor("-H", engine20.host, cid, expect=1)
    c = one(checks, "container.socket", cid)
    assert c["status"] == "fail" and "that is a directory, not a socket" in c["summary"]
    assert c["fix"] == f"recreate the container once the engine's socket exists at {src}"


@pytest.mark.engine
def test_host_paths_are_not_judged_when_they_cannot_be_seen(
        engine28: EngineUnderTest, containers: Callable[..., str], tmp_path: Path) -> None:
    """A remote or remapped engine: the same mounts that fail above are "cannot check from
    here" warnings, never a guess."""
    from dhitui.diagnostics import HostView, run_container_checks
    from dhitui.engine.client import connect
    from dhitui.engine.endpoint import Endpoint

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    cid = containers(engine28, HARDENED_IMAGE, "-v", f"{private}:/data",
                     "-v", f"{engine28.socket}:/var/run/docker.sock")
    eng = connect(Endpoint(url=engine28.host, source="flag", reason="test"))
    try:
        local = run_container_checks(eng, cid)
        remote = run_container_checks(eng, cid, view=HostView(False, "the engine is remote"))
        remapped = run_container_checks(eng, cid, view=HostView(True, remapped="userns"))
    finally:
        eng.close()
    statuses = {c.id: c.status for c in local if c.id in ("container.mount", "container.socket")}
    assert statuses == {"container.mount": "fail", "container.socket": "fail"}
    for checks, why in ((remote, "the engine is remote"), (remapped, "the engine is userns")):
        judged = [c for c in checks if c.id in ("container.mount", "container.socket")]
        assert [c.status for c in judged] == ["warn", "warn"]
        assert all("cannot check" in c.summary and why in c.detail for c in judged)
