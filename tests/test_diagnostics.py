"""The diagnostics' building blocks, without engines: permission arithmetic, the container's
groups, inside-a-container detection through a fake root, discovery parsing, fix texts.

Detection takes a root directory on purpose: dhitui cannot run inside a container here (the
fixture images have no Python), so a directory laid out like a container's root is the seam.
"""

from __future__ import annotations

import grp
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from dhitui.diagnostics import Check, ContainerRef, HostProbe, fixes, run_host_checks
from dhitui.diagnostics.containers import go_mtime_ns, same_file
from dhitui.diagnostics.discovery import (
    discover_engines,
    engine_processes,
    host_args,
    listening_unix_sockets,
    looks_like_engine_socket,
)
from dhitui.diagnostics.host import ConnectionAttempt
from dhitui.diagnostics.hostenv import detect_container, parse_mountinfo
from dhitui.diagnostics.unixperm import Identity, PathFacts, access_for, stat_facts
from dhitui.engine.endpoint import Endpoint
from dhitui.errors import EngineUnavailable
from dhitui.models import container_user, parse_group_members, parse_passwd

from conftest import require_root

SOCK = stat.S_IFSOCK
DIR = stat.S_IFDIR


# ---------------------------------------------------------------- permission arithmetic


@pytest.mark.parametrize(("mode", "uid", "gids", "read", "write", "via"), [
    (SOCK | 0o660, 1000, {1000}, False, False, "other"),
    (SOCK | 0o660, 1000, {1000, 105}, True, True, "group"),
    (SOCK | 0o600, 1000, {105}, False, False, "group"),  # group class decides, not "other"
    (SOCK | 0o606, 1000, {105}, False, False, "group"),  # in the group: other bits ignored
    (SOCK | 0o666, 1000, {1000}, True, True, "other"),
    (SOCK | 0o060, 0, set(), True, True, "root"),
    (SOCK | 0o066, 7, {105}, False, False, "owner"),  # the owner class even when it is 0
])
def test_access_for(mode: int, uid: int, gids: set[int], read: bool, write: bool,
                    via: str) -> None:
    acc = access_for(mode, 7 if via == "owner" else 0, 105, uid, gids)
    assert (acc.read, acc.write, acc.via) == (read, write, via)
    assert acc.via_gid == (105 if via == "group" else None)


def test_access_for_directories_need_execute() -> None:
    acc = access_for(DIR | 0o700, 0, 0, 65532, {65532})
    assert (acc.read, acc.write, acc.execute, acc.via) == (False, False, False, "other")
    acc = access_for(DIR | 0o755, 0, 0, 65532, {65532})
    assert (acc.read, acc.write, acc.execute) == (True, False, True)


def test_stat_facts_of_a_real_socket(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    try:
        os.chmod(path, 0o660)
        facts = stat_facts(str(path))
    finally:
        s.close()
    assert facts.kind == "socket" and facts.perm == "0660"
    assert facts.uid == os.geteuid() and facts.gid == os.stat(path).st_gid
    assert stat_facts(str(tmp_path / "none")).error == "missing"


# ---------------------------------------------------------------- the container's groups

PASSWD = "root:x:0:0::/root:/bin/sh\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n"
GROUP = "root:x:0:\nnonroot:x:65532:\ndocker:x:999:nonroot\nstaff:x:50:other,nonroot\n"


def test_container_user_gets_membership_groups_and_group_add() -> None:
    u = container_user("65532", "image", parse_passwd(PASSWD), parse_group_members(GROUP),
                       ["105", "staff", "nope"])
    assert u.spec.uid == 65532 and u.spec.gid == 65532
    # /etc/group lists nonroot in docker (999) and staff (50); --group-add adds 105 and staff.
    assert u.gids == {65532, 999, 50, 105}
    assert u.unresolved == ("nope",)


def test_explicit_group_in_user_drops_membership_groups() -> None:
    """runc: supplementary groups from /etc/group only when User names no group."""
    u = container_user("nonroot:nonroot", "container", parse_passwd(PASSWD),
                       parse_group_members(GROUP), None)
    assert u.gids == {65532}


def test_uid_missing_from_passwd_runs_with_gid_0() -> None:
    u = container_user("4242", "container", parse_passwd(PASSWD), parse_group_members(GROUP),
                       None)
    assert (u.spec.uid, u.spec.gid, u.gids) == (4242, 0, frozenset({0}))


def test_name_without_passwd_has_no_uid() -> None:
    u = container_user("app", "image", {}, {}, None)
    assert u.spec.uid is None and u.gids == frozenset()


# ---------------------------------------------------------------- the engine's view of a path


def test_go_mtime_and_same_file(tmp_path: Path) -> None:
    assert go_mtime_ns("1970-01-01T00:00:01.5Z") == 1_500_000_000
    assert go_mtime_ns("2024-01-01T00:00:00.123456789+00:00") == \
        1704067200 * 10**9 + 123456789
    assert go_mtime_ns("garbage") is None
    d = tmp_path / "d"
    d.mkdir(mode=0o750)
    os.chmod(d, 0o750)
    facts = stat_facts(str(d))
    assert facts.mtime_ns is not None
    secs, ns = divmod(facts.mtime_ns, 10**9)
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    remote = {"mode": (1 << 31) | 0o750, "mtime": f"{when}.{ns:09d}Z"}
    assert same_file(facts, remote)
    assert not same_file(facts, {**remote, "mode": (1 << 31) | 0o755})
    assert not same_file(facts, {**remote, "mode": 0o750})  # not a directory there
    assert not same_file(facts, {**remote, "mtime": f"{when}.{(ns + 1) % 10**9:09d}Z"})
    assert not same_file(facts, None)
    assert not same_file(PathFacts("/x", exists=False), remote)


# ---------------------------------------------------------------- inside a container (seam)


def _fake_root(tmp_path: Path, *, dockerenv: bool = False, rootfs: str = "ext4 /dev/vda",
               cgroup: str = "0::/\n", extra_mounts: str = "") -> Path:
    root = tmp_path / "root"
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/1").mkdir(parents=True)
    fstype, source = rootfs.split()
    (root / "proc/self/mountinfo").write_text(
        f"27 1 254:0 / / rw,relatime - {fstype} {source} rw\n"
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n" + extra_mounts)
    (root / "proc/1/cgroup").write_text(cgroup)
    if dockerenv:
        (root / ".dockerenv").write_text("")
    return root


def test_detect_not_inside(tmp_path: Path) -> None:
    d = detect_container(_fake_root(tmp_path), {})
    assert not d.inside and d.evidence == () and d.doubts == ()


def test_detect_docker_overlay_root(tmp_path: Path) -> None:
    d = detect_container(_fake_root(tmp_path, dockerenv=True, rootfs="overlay overlay"), {})
    assert d.inside and d.runtime == "docker"
    assert any(".dockerenv" in e for e in d.evidence)
    assert any("overlay" in e for e in d.evidence)


def test_dockerenv_on_a_block_device_root_is_doubted(tmp_path: Path) -> None:
    """Machines built from a Docker image keep /.dockerenv; a container's root is not ext4
    on a block device."""
    d = detect_container(_fake_root(tmp_path, dockerenv=True), {})
    assert not d.inside
    assert d.doubts and "ext4 on /dev/vda" in d.doubts[0]


def test_detect_cgroup_v1_docker_path(tmp_path: Path) -> None:
    root = _fake_root(tmp_path, cgroup="12:pids:/docker/3f2a1b\n11:cpu:/docker/3f2a1b\n")
    d = detect_container(root, {})
    assert d.inside and d.runtime == "docker"
    assert "/docker/3f2a1b" in d.evidence[0]


def test_host_cgroup_paths_are_not_evidence(tmp_path: Path) -> None:
    root = _fake_root(tmp_path, cgroup="1:name=systemd:/init.scope\n0::/init.scope\n")
    assert not detect_container(root, {}).inside


def test_detect_podman_and_env(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    (root / "run").mkdir()
    (root / "run/.containerenv").write_text("")
    assert detect_container(root, {}).runtime == "podman"
    d = detect_container(_fake_root(tmp_path / "b"), {"container": "systemd-nspawn"})
    assert d.inside and d.runtime == "systemd-nspawn"


@pytest.fixture
def docker_group_socket(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A real listening unix socket, root:<a real group> 0660, like a mounted docker.sock."""
    require_root("to chown a socket to another group")
    try:
        gid = grp.getgrnam("docker").gr_gid
    except KeyError:
        gid = 4242  # a GID no group has, as often seen inside containers
    path = tmp_path / "docker.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.listen(1)
    os.chown(path, 0, gid)
    os.chmod(path, 0o660)
    try:
        yield path, gid
    finally:
        s.close()


def _host_checks_inside(tmp_path: Path, sock: Path, identity: Identity) -> dict[str, Check]:
    root = _fake_root(tmp_path, dockerenv=True, rootfs="overlay overlay", extra_mounts=(
        f"600 27 254:0 /run/docker.sock {sock} rw,nosuid - tmpfs tmpfs rw\n"))
    endpoint = Endpoint(url=f"unix://{sock}", source="default", reason="test")
    # How connecting went is an input here: the process running the test is root and would
    # get in; the identity under test is a nonroot container user.
    attempt = ConnectionAttempt(endpoint, None, EngineUnavailable(
        f"cannot reach the Docker Engine at {sock}: permission denied",
        kind="permission-denied"), 0.001)
    checks = run_host_checks(endpoint, {}, attempt=attempt,
                             probe=HostProbe(root=root, identity=identity, discover=False))
    return {c.id: c for c in checks}


def test_inside_container_nonroot_gets_group_add_with_the_real_gid(
        tmp_path: Path, docker_group_socket: tuple[Path, int]) -> None:
    sock, gid = docker_group_socket
    checks = _host_checks_inside(tmp_path, sock, Identity(65532, 65532, (), "nonroot"))
    inside = checks["host.in-container"]
    assert inside.status == "fail"
    assert inside.data["inside"] is True and inside.data["socket_mounted"] is True
    assert inside.fix is not None and f"--group-add {gid}" in inside.fix
    assert any(f"--group-add $(stat -c '%g' {sock})" in a for a in inside.alternatives)
    # The socket check gives the container fix too, not usermod (useless in a container).
    sock_check = checks["host.socket"]
    assert sock_check.status == "fail" and sock_check.data["gid"] == gid
    assert sock_check.fix is not None and f"--group-add {gid}" in sock_check.fix
    assert "usermod" not in sock_check.fix
    assert "initgroups" in sock_check.detail


def test_inside_container_with_the_group_is_ok(
        tmp_path: Path, docker_group_socket: tuple[Path, int]) -> None:
    sock, gid = docker_group_socket
    checks = _host_checks_inside(tmp_path, sock, Identity(65532, 65532, (gid,), "nonroot"))
    assert checks["host.in-container"].status == "ok"
    assert checks["host.socket"].status == "ok"
    assert checks["host.socket"].data["via"] == "group"
    assert checks["host.socket"].data["via_gid"] == gid


def test_parse_mountinfo_unescapes() -> None:
    [m] = parse_mountinfo("61 27 0:5 /a\\040b /mnt/with\\040space rw - tmpfs none rw\n"
                          "garbage line\n")
    assert (m.mount_point, m.root, m.fstype) == ("/mnt/with space", "/a b", "tmpfs")


# ---------------------------------------------------------------- discovery parsing


def test_listening_unix_sockets_from_a_proc_file(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net/unix").write_text(
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        "0000: 00000002 00000000 00010000 0001 01 1 /run/docker.sock\n"
        "0000: 00000003 00000000 00000000 0001 03 2 /run/connected.sock\n"
        "0000: 00000002 00000000 00010000 0001 01 3 @abstract\n"
        "0000: 00000002 00000000 00010000 0001 01 4 /run/with space/podman.sock\n")
    assert listening_unix_sockets(tmp_path) == ["/run/docker.sock",
                                                "/run/with space/podman.sock"]


@pytest.mark.parametrize(("path", "engine"), [
    ("/var/run/docker.sock", True),
    ("/run/user/1000/podman/podman.sock", True),
    ("/var/lib/x/e20/docker.sock", True),
    ("/run/containerd/containerd.sock", False),
    ("/var/lib/x/e20/exec/containerd/containerd.sock", False),
    ("/var/run/docker/metrics.sock", False),
    ("/var/lib/x/exec/docker-plugin.sock", False),
])
def test_engine_socket_names(path: str, engine: bool) -> None:
    assert looks_like_engine_socket(path) is engine


def test_host_args() -> None:
    argv = ["dockerd", "-H", "unix:///a.sock", "--host=tcp://0.0.0.0:2375", "--data-root",
            "/x", "--host", "fd://", "-H=unix:///b.sock"]
    assert host_args(argv) == ["unix:///a.sock", "tcp://0.0.0.0:2375", "fd://",
                               "unix:///b.sock"]


def test_discovery_excludes_the_configured_endpoint(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    sock = tmp_path / "docker.sock"
    (tmp_path / "net/unix").write_text(
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        f"0000: 00000002 00000000 00010000 0001 01 1 {sock}\n")
    found = discover_engines({"HOME": str(tmp_path)}, proc=tmp_path, use_processes=False)
    assert [f.url for f in found if f.url.startswith(f"unix://{tmp_path}")] == \
        [f"unix://{sock}"]
    assert found[[f.url for f in found].index(f"unix://{sock}")].error == "missing"
    found = discover_engines({"HOME": str(tmp_path)}, proc=tmp_path, use_processes=False,
                             exclude=f"unix://{sock}")
    assert f"unix://{sock}" not in [f.url for f in found]


def _fake_process(proc: Path, pid: int, comm: str | None, argv: list[str]) -> None:
    d = proc / str(pid)
    d.mkdir()
    if comm is not None:  # None: a process that exited between listing and reading
        (d / "comm").write_text(comm + "\n")
        (d / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in argv))


def test_engine_processes_from_a_proc_table(tmp_path: Path) -> None:
    (tmp_path / "self").mkdir()
    (tmp_path / "net").mkdir()
    _fake_process(tmp_path, 10, "dockerd", ["/usr/bin/dockerd", "-H", "unix:///a.sock",
                                            "--host=tcp://0.0.0.0:2375"])
    _fake_process(tmp_path, 11, "dockerd", ["/usr/sbin/dockerd"])  # its default socket
    _fake_process(tmp_path, 12, "podman", ["podman", "system", "service", "unix:///p.sock"])
    _fake_process(tmp_path, 13, "podman", ["podman", "ps"])  # not an engine
    _fake_process(tmp_path, 14, "docker-wrapper", ["/opt/x/dockerd", "-H", "unix:///w.sock"])
    _fake_process(tmp_path, 15, "containerd-shim", ["containerd-shim-runc-v2", "-id", "x"])
    _fake_process(tmp_path, 16, None, [])
    assert sorted(engine_processes(tmp_path)) == [
        (10, "dockerd", ["unix:///a.sock", "tcp://0.0.0.0:2375"]),
        (11, "dockerd", ["unix:///var/run/docker.sock"]),
        (12, "podman", ["unix:///p.sock"]),
        (14, "docker-wrapper", ["unix:///w.sock"]),
    ]
    found = discover_engines({"HOME": str(tmp_path)}, proc=tmp_path)
    by_url = {f.url: f for f in found}
    assert by_url["unix:///a.sock"].found_by == ("dockerd (pid 10) --host",)
    assert by_url["tcp://127.0.0.1:2375"].pids == (10,)


@pytest.mark.engine
def test_engine_processes_reads_the_real_process_table(engine: object) -> None:
    """The test engines' dockerd processes, found in the real /proc and, without /proc, the
    same through psutil."""
    host = engine.host  # type: ignore[attr-defined]
    ours = [(pid, name, hosts) for pid, name, hosts in engine_processes() if host in hosts]
    assert len(ours) == 1 and ours[0][1] == ("podman" if engine.podman else "dockerd")  # type: ignore[attr-defined]
    no_proc = engine_processes(Path("/nonexistent-proc"))
    assert ours[0] in no_proc


# ---------------------------------------------------------------- fix texts


@pytest.mark.parametrize("inside", [False, True])
@pytest.mark.parametrize("listed", [False, True])
@pytest.mark.parametrize("gid", [0, 105])
def test_socket_fixes_never_suggest_chmod(inside: bool, listed: bool, gid: int) -> None:
    fx = fixes.socket_permission(group="root" if gid == 0 else "docker", gid=gid,
                                 user_name="alice", listed_in_group=listed,
                                 socket_path="/var/run/docker.sock", inside_container=inside,
                                 answering_elsewhere=["unix:///run/user/1000/docker.sock"])
    for text in (fx.fix or "", *fx.alternatives):
        assert "chmod" not in text and "666" not in text
    assert "Do not `chmod 666`" in fx.caution
    assert fx.fix is not None
    if gid == 0 and not inside:
        assert "usermod -aG root" not in fx.fix
    elif not inside and not listed:
        assert fx.fix.startswith("`sudo usermod -aG docker alice`")
    if not inside:
        assert "root-equivalent" in fx.caution


def test_bind_mount_fix_uses_real_numbers_and_quotes_paths() -> None:
    fx = fixes.bind_mount("/srv/my data", 65532, 65532, write=True, is_dir=True,
                          owner_uid=1000, owner_gid=1000)
    assert fx.fix == "sudo chown 65532:65532 '/srv/my data'"
    assert any("setfacl -m u:65532:rwX '/srv/my data'" in a for a in fx.alternatives)
    assert any("--user 1000:1000" in a for a in fx.alternatives)
    root_owned = fixes.bind_mount("/srv/d", 65532, 65532, write=False, is_dir=True,
                                  owner_uid=0, owner_gid=0)
    assert not any("--user 0" in a for a in root_owned.alternatives)  # never "run as root"


def test_docker_argv_adds_host_only_when_the_cli_would_not_find_it() -> None:
    flag = Endpoint(url="unix:///x.sock", source="flag", reason="")
    env = Endpoint(url="unix:///x.sock", source="env", reason="")
    assert fixes.docker_argv(flag) == ["docker", "-H", "unix:///x.sock"]
    assert fixes.docker_argv(env) == ["docker"]


def test_check_json_shape() -> None:
    c = Check("container.socket", "fail", "s", "d", "f", ("a",), ContainerRef("abc", "web"),
              {"gid": 105})
    assert c.to_json() == {"id": "container.socket", "status": "fail", "summary": "s",
                           "detail": "d", "fix": "f", "alternatives": ["a"],
                           "container": {"id": "abc", "name": "web"}, "data": {"gid": 105}}
    assert c.area == "container"
