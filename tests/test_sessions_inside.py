"""Sessions inside the target, on the real engines: `/` is the container's live root.

For targets a user meets (nonroot 65532, root, a uid with no passwd entry, extra groups,
`--read-only` with a tmpfs, `--cap-drop ALL` with no-new-privileges), each with a named
volume and a bind mount and files written after the start, a session reads the same bytes
the engine's own archive API gives for those paths (`docker cp`), runs as the uid, gid and
groups the target's process has (read from the host's /proc), leaves `docker diff` of the
target as it was, and leaves no container behind. Where the engine cannot start the session
inside (a toolbox whose shell its user cannot read: the kernel then keeps the holder's root
closed), the automatic view falls back to beside and says so; `--view inside` does not.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import (
    HARDENED_IMAGE,
    REPO,
    TOOLBOX_IMAGE,
    EngineUnderTest,
    HardLink,
    cli_env,
    docker,
    docker_cli_path,
    docker_shim,
    import_rootfs,
    run_dhitui,
)
from ptytools import Terminal

pytestmark = pytest.mark.engine

# Prints who the session is, then each path given with the sha256 of its content.
REPORT = ('id -u; id -g; id -G; for f do h=$(sha256sum < "$f") || h=unreadable; '
          'echo "$f ${h%% *}"; done')


@dataclass(frozen=True)
class Kind:
    """A kind of target: its `docker run` options and whether its root is writable."""

    name: str
    args: tuple[str, ...]
    writable_root: bool = True


KINDS = [
    Kind("nonroot-65532", ()),  # the image's USER
    Kind("root", ("--user", "0")),
    Kind("uid-without-passwd-entry", ("--user", "12345")),
    Kind("uid-gid-and-extra-groups", ("--user", "12345:4242", "--group-add", "777")),
    Kind("read-only-with-tmpfs", ("--read-only", "--tmpfs", "/tmp"), writable_root=False),
    Kind("cap-drop-all", ("--cap-drop", "ALL", "--security-opt", "no-new-privileges")),
]


@pytest.fixture
def volume(engine: EngineUnderTest) -> Iterator[str]:
    name = f"dhitui-test-vol-{uuid.uuid4().hex[:8]}"
    docker(engine, "volume", "create", name)
    yield name
    docker(engine, "volume", "rm", "-f", name, check=False)


@pytest.fixture
def bind_dir(tmp_path: Path) -> Path:
    """A host directory every uid may read, with a file in it."""
    d = tmp_path / "bind"
    d.mkdir()
    (d / "from-the-host").write_bytes(b"bound from the host\n" + os.urandom(64))
    d.chmod(0o755)
    (d / "from-the-host").chmod(0o644)
    tmp_path.chmod(0o755)
    return d


def copy_in(engine: EngineUnderTest, cid: str, path: str, data: bytes) -> None:
    """`docker cp` a file into the running container (a tar on stdin)."""
    directory, name = path.rsplit("/", 1)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    docker(engine, "cp", "-", f"{cid}:{directory or '/'}", input=buf.getvalue())


def engine_bytes(engine: EngineUnderTest, cid: str, path: str) -> bytes:
    """What the engine's archive API (`docker cp C:PATH -`) holds at a path."""
    raw = subprocess.run([docker_cli_path(), "-H", engine.host, "cp", f"{cid}:{path}", "-"],
                         capture_output=True, timeout=60, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        member = tar.getmembers()[0]
        f = tar.extractfile(member)
        assert f is not None, f"{path} is not a file in the archive"
        return f.read()


def diff(engine: EngineUnderTest, cid: str) -> list[str]:
    return sorted(docker(engine, "diff", cid).stdout.splitlines())


def process_ids(engine: EngineUnderTest, cid: str) -> tuple[int, int, set[int]]:
    """uid, gid and every group of the target's process, as the kernel has them (the host's
    /proc of its PID 1; rootful engines map no ids)."""
    pid = docker(engine, "inspect", "-f", "{{.State.Pid}}", cid).stdout.strip()
    status = Path(f"/proc/{pid}/status").read_text()
    uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M)
    gids = re.search(r"^Gid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M)
    groups = re.search(r"^Groups:(.*)$", status, re.M)
    assert uids and gids and groups
    assert len(set(uids.groups())) == 1 and len(set(gids.groups())) == 1
    gid = int(gids.group(1))
    return int(uids.group(1)), gid, {gid, *map(int, groups.group(1).split())}


def sidecars_of(engine: EngineUnderTest, cid: str) -> str:
    return docker(engine, "ps", "-aq", "--filter", "label=dhitui.sidecar",
                  "--filter", f"label=dhitui.target={cid}").stdout.strip()


def report(engine: EngineUnderTest, cid: str, paths: list[str], *args: str,
           env: dict[str, str] | None = None) -> tuple[tuple[int, int, set[int]],
                                                       dict[str, str],
                                                       subprocess.CompletedProcess[str]]:
    proc = run_dhitui("debug", "-H", engine.host, *args, cid, "--", "sh", "-c", REPORT,
                      "report", *paths, input="", env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    uid, gid = int(lines[0]), int(lines[1])
    groups = {int(g) for g in lines[2].split()}
    hashes = dict(line.split(" ", 1) for line in lines[3:])
    return (uid, gid, groups), hashes, proc


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_the_session_sees_the_live_container(
    engine: EngineUnderTest, containers: Callable[..., str], volume: str, bind_dir: Path,
    kind: Kind,
) -> None:
    cid = containers(engine, HARDENED_IMAGE, *kind.args, "-v", f"{volume}:/data",
                     "-v", f"{bind_dir}:/bind:ro")
    # Written after the start: into the volume and, where the root is writable, into the
    # container's writable layer (a file the image does not have).
    copy_in(engine, cid, "/data/after-start", b"in the volume " + os.urandom(32))
    paths = ["/data/after-start", "/bind/from-the-host", "/etc/passwd"]
    if kind.writable_root:
        copy_in(engine, cid, "/app/app.conf", b"live config " + os.urandom(32))
        paths.append("/app/app.conf")
    before = diff(engine, cid)

    ids, hashes, proc = report(engine, cid, paths)

    for path in paths:
        assert hashes[path] == hashlib.sha256(engine_bytes(engine, cid, path)).hexdigest(), (
            f"{path} in the session differs from the container's own file:\n{proc.stderr}")
    uid, gid, groups = process_ids(engine, cid)
    if engine.podman and kind.name.startswith("uid-"):
        # Podman's own exec adds a group equal to the uid for a uid its /etc/passwd does not
        # list (an explicit exec user would drop the --group-add groups instead).
        assert ids[:2] == (uid, gid) and ids[2] - groups <= {uid}, proc.stderr
    else:
        assert ids == (uid, gid, groups), proc.stderr
    assert "holder: " in proc.stderr and " exec " in proc.stderr  # it stood inside
    assert "could not start the session inside" not in proc.stderr
    assert diff(engine, cid) == before  # nothing was written into the target
    assert sidecars_of(engine, cid) == ""  # the holder is gone


def test_a_file_the_image_has_is_shown_as_the_container_has_it(
    engine: EngineUnderTest, containers: Callable[..., str],
) -> None:
    """The issue's own case: the container's /etc/passwd was changed after it started; the
    image's copy is not what the session shows."""
    cid = containers(engine, HARDENED_IMAGE)
    image_copy = docker(engine, "run", "--rm", "--network", "none", "--entrypoint",
                        "/bin/cat", TOOLBOX_IMAGE, "/etc/passwd").stdout  # not the target's
    live = engine_bytes(engine, cid, "/etc/passwd") + b"appended:x:4000:4000::/:/nologin\n"
    copy_in(engine, cid, "/etc/passwd", live)
    proc = run_dhitui("debug", "-q", "-H", engine.host, cid, "--", "cat", "/etc/passwd",
                      input="")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.encode() == live and proc.stdout != image_copy


def test_explicit_views_and_the_print_say_where_the_session_stands(
    engine: EngineUnderTest, containers: Callable[..., str],
) -> None:
    cid = containers(engine, HARDENED_IMAGE)
    copy_in(engine, cid, "/app/app.conf", b"live\n")
    beside = run_dhitui("debug", "-q", "--view", "beside", "-H", engine.host, cid, "--",
                        "cat", "/app/app.conf", input="")
    assert beside.returncode == 1 and "can't open" in beside.stderr  # / is not the target's
    via_proc = run_dhitui("debug", "-q", "--view", "beside", "-H", engine.host, cid, "--",
                          "cat", "/proc/1/root/app/app.conf", input="")
    assert via_proc.stdout == "live\n"
    printed = run_dhitui("debug", "--print", "-H", engine.host, cid)
    assert printed.returncode == 0, printed.stderr
    assert "inside " in printed.stdout and "no capability is added" in printed.stdout
    assert re.search(r"^\S+ .*exec -i -t? ?.*/proc/<pid>/root", printed.stdout, re.M)
    assert "--cap-add" not in printed.stdout and "--privileged" not in printed.stdout
    assert sidecars_of(engine, cid) == ""


@pytest.fixture
def execute_only_toolbox(engine: EngineUnderTest) -> Iterator[str]:
    """A static busybox its users may run but not read (mode 0711, as some hardened images
    ship binaries), with hard links: the kernel makes a process running it non-dumpable,
    so another process without CAP_SYS_PTRACE cannot follow its /proc/PID/root."""
    busybox = Path("/bin/busybox").read_bytes()
    entries: dict[str, bytes | str | HardLink | None] = {"bin": None, "bin/busybox": busybox}
    for applet in ("sh", "cat", "id", "ls", "sha256sum"):
        entries[f"bin/{applet}"] = HardLink("bin/busybox")
    tag = import_rootfs(engine, entries, prefix="dhitui-test/execute-only-toolbox",
                        modes={"bin/busybox": 0o711})
    yield tag
    docker(engine, "rmi", "-f", tag, check=False)


def test_where_the_engine_cannot_start_it_inside_auto_falls_back_beside(
    engine: EngineUnderTest, containers: Callable[..., str], execute_only_toolbox: str,
) -> None:
    cid = containers(engine, HARDENED_IMAGE)
    tb = ("--toolbox", execute_only_toolbox, "-s", "toolbox")
    proc = run_dhitui("debug", "-H", engine.host, *tb, cid, "--", "ls", "/", input="")
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines()
            if line.startswith("dhitui: could not start the session inside")]
    assert len(said) == 1 and "permission denied" in said[0], proc.stderr
    assert said[0].endswith("opening it beside instead: / is the toolbox; the target's live "
                            "files: /proc/1/root")
    listed = proc.stdout.split()
    assert "bin" in listed and "app" not in listed  # the toolbox's own root, not the target's
    # Asked for inside: the engine's words and its status, no session beside.
    asked = run_dhitui("debug", "-H", engine.host, *tb, "--view", "inside", cid, "--",
                       "ls", "/", input="")
    assert asked.returncode == 126 and asked.stdout == ""
    assert "dhitui: error: the session could not be started inside" in asked.stderr
    assert "--view beside" in asked.stderr and "Traceback" not in asked.stderr
    assert sidecars_of(engine, cid) == ""


def test_an_interactive_session_inside_through_a_real_terminal(
    engine: EngineUnderTest, containers: Callable[..., str],
) -> None:
    """The prompt says where it stands; the toolbox's own programs work there: ps of the
    target, its PID 1's descriptors, vi on a live file; the exit status comes back."""
    cid = containers(engine, HARDENED_IMAGE)
    copy_in(engine, cid, "/app/app.conf", b"first line of the live config\n")
    term = Terminal([sys.executable, "-m", "dhitui", "debug", "-H", engine.host, cid],
                    env=cli_env({"TERM": "xterm"}), cwd=str(REPO))
    try:
        term.wait_for("[dhitui inside] /")
        term.send("ps; ls /proc/1/fd | wc -l | sed s/^/fds:/\r")
        term.wait_for("/app/app --serve")
        term.wait_for("fds:")
        term.send("vi /app/app.conf\r")
        term.wait_for("first line of the live config")
        term.send(":q!\r")
        term.send("exit 7\r")
        term.wait_for("session ended (exit status 7)")
        assert term.wait_exit() == 7
    finally:
        term.close()
    assert sidecars_of(engine, cid) == ""


def _api(engine: EngineUnderTest, method: str, path: str,
         body: dict[str, object] | None = None) -> dict[str, object]:
    """One Engine API request on the engine's socket, without dhitui's client."""
    import http.client
    import json
    import socket

    conn = http.client.HTTPConnection("engine", timeout=60)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(engine.socket)
    conn.sock = sock
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        assert response.status < 300, f"{method} {path}: {response.status} {data!r}"
        return json.loads(data) if data else {}
    finally:
        conn.close()


@pytest.fixture
def keep_id_target(podman_rootless: EngineUnderTest) -> Iterator[str]:
    """A hardened target with `--userns keep-id` (a user namespace of its own), made through
    the API: the docker CLI does not take Podman's user namespace modes."""
    from conftest import TEST_LABEL

    name = f"dhitui-test-keepid-{uuid.uuid4().hex[:8]}"
    created = _api(podman_rootless, "POST", f"/containers/create?name={name}", {
        "Image": HARDENED_IMAGE, "Labels": {TEST_LABEL: "1"},
        "HostConfig": {"UsernsMode": "keep-id", "NetworkMode": "none"}})
    cid = str(created["Id"])
    try:
        _api(podman_rootless, "POST", f"/containers/{cid}/start")
        yield cid
    finally:
        docker(podman_rootless, "rm", "-f", cid, check=False)


def test_rootless_podman_sessions_stand_inside_too(
    podman_rootless: EngineUnderTest, containers: Callable[..., str], keep_id_target: str,
) -> None:
    """Rootless: every container in the user's namespace; `--userns keep-id` gives the
    target a namespace of its own, which its holder joins."""
    mode = docker(podman_rootless, "inspect", "-f", "{{.HostConfig.UsernsMode}}",
                  keep_id_target).stdout.strip()
    assert mode not in ("", "host")  # really a namespace of its own
    for cid in (containers(podman_rootless, HARDENED_IMAGE), keep_id_target):
        copy_in(podman_rootless, cid, "/app/app.conf", b"rootless live\n")
        before = diff(podman_rootless, cid)
        proc = run_dhitui("debug", "-H", podman_rootless.host, cid, "--", "sh", "-c",
                          "id -u; cat /app/app.conf", input="")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "65532\nrootless live\n", proc.stderr
        assert "could not start the session inside" not in proc.stderr
        assert diff(podman_rootless, cid) == before
        assert sidecars_of(podman_rootless, cid) == ""


def test_through_the_cli_the_shown_command_is_what_runs(
    engine: EngineUnderTest, containers: Callable[..., str], tmp_path: Path,
) -> None:
    """`--transport cli`: the holder is started over the API (the CLI cannot say a pid), then
    `docker exec` runs through the CLI. A shim first on PATH records what the CLI was given:
    the line dhitui showed, and `--print`'s with `<pid>` for the holder's pid."""
    import json
    import shlex

    shim = docker_shim(tmp_path)
    env = cli_env({"PATH": f"{shim.bin_dir}:{os.environ['PATH']}"})
    cid = containers(engine, HARDENED_IMAGE)
    copy_in(engine, cid, "/app/app.conf", b"through the cli\n")
    args = ("--transport", "cli", "-H", engine.host, cid, "--", "cat", "/app/app.conf")
    printed = json.loads(run_dhitui("debug", "--print", "--json", *args, env=env).stdout)
    proc = run_dhitui("debug", *args, env=env, input="")
    assert (proc.returncode, proc.stdout) == (0, "through the cli\n"), proc.stderr
    ran = [call["argv"] for call in shim.calls()]
    assert len(ran) == 1 and ran[0][3] == "exec", ran
    shown = next(line.removeprefix("dhitui: running: ") for line in proc.stderr.splitlines()
                 if line.startswith("dhitui: running: "))
    assert shlex.split(shown) == ran[0]
    pid = re.search(r"/proc/(\d+)/root", shown)
    assert pid is not None
    assert [a.replace("<pid>", pid.group(1)) for a in printed["argv"]] == ran[0]
    assert sidecars_of(engine, cid) == ""
