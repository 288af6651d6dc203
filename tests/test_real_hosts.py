"""Targets in between states, and the words a refusal uses: every refusal's advice is
followed here, and must work for that target."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import HARDENED_IMAGE, EngineUnderTest, docker, run_dhitui, run_json

pytestmark = pytest.mark.engine


def test_a_paused_container_is_listed_and_opened_or_refused_with_the_fix(
    engine: EngineUnderTest, containers: Callable[..., str],
) -> None:
    cid = containers(engine, HARDENED_IMAGE)
    docker(engine, "pause", cid)
    try:
        # Listed alike: Docker Engine's running-only list has paused containers, Podman's
        # leaves them out unless asked.
        code, rows = run_json("ls", "--json", "-H", engine.host)
        assert code == 0 and isinstance(rows, list)
        assert [r["state"] for r in rows if r["id"] == cid] == ["paused"], rows
        # The plan says what a session can be, before it is tried.
        code, plan = run_json("debug", "--print", "--json", "-H", engine.host, cid, "--",
                              "true")
        assert code == 0 and isinstance(plan, dict), plan
        if engine.podman:
            # Podman starts no container in a paused one's namespaces: a copy of its files.
            assert plan["strategy"] == "snapshot" and "is paused" in plan["why"]
            assert "docker unpause" in plan["why"]
            where = "/app"
        else:
            # Docker Engine does: beside it (no process starts in a paused container).
            assert plan["strategy"] in ("image-mount", "toolbox") and plan["view"] == "beside"
            chosen = next(s for s in plan["strategies"] if s["name"] == plan["strategy"])
            assert "is paused" in chosen["view_problem"]
            where = "/proc/1/root/app"
        proc = run_dhitui("debug", "-q", "-H", engine.host, cid, "--", "ls", where, input="")
        assert (proc.returncode, proc.stdout) == (0, "app\n"), proc.stderr
        # Asked to stand inside: refused before anything starts, with the fix...
        asked = run_dhitui("debug", "--view", "inside", "-H", engine.host, cid, "--", "true",
                           input="")
        assert asked.returncode == 6 and "Traceback" not in asked.stderr, asked.stderr
        assert f"docker unpause {docker_name(engine, cid)}" in asked.stderr, asked.stderr
    finally:
        docker(engine, "unpause", cid, check=False)
    # ...which works: followed, the same request opens the session inside.
    again = run_dhitui("debug", "-q", "--view", "inside", "-H", engine.host, cid, "--", "ls",
                       "/app", input="")
    assert (again.returncode, again.stdout) == (0, "app\n"), again.stderr


def docker_name(engine: EngineUnderTest, cid: str) -> str:
    return docker(engine, "inspect", "-f", "{{.Name}}", cid).stdout.strip().lstrip("/")


def test_an_ambiguous_id_prefix_names_the_candidates(
    engine: EngineUnderTest, containers: Callable[..., str],
) -> None:
    """Docker Engine says "multiple IDs found" (400), Podman "more than one result" (404,
    which read as "no such container"): the report and the error name the containers."""
    made: list[str] = []
    while True:  # until two of them share a first character (at most 17)
        made.append(containers(engine, "busybox:latest", command=["sleep", "300"]))
        firsts = [c[0] for c in made]
        prefix = next((f for f in firsts if firsts.count(f) > 1), None)
        if prefix is not None:
            break
    sharing = {c[:12] for c in made if c.startswith(prefix)}
    code, report = run_json("doctor", "--json", "-H", engine.host, prefix)
    assert code == 5 and isinstance(report, dict)
    check = next(c for c in report["checks"] if c["id"] == "container.exists")
    assert check["status"] == "fail" and f"the id prefix {prefix} matches" in check["summary"]
    assert {c.split()[0] for c in check["data"]["candidates"]} >= sharing
    human = run_dhitui("doctor", "-H", engine.host, prefix)
    assert human.returncode == 5 and f"the id prefix {prefix} matches" in human.stdout
    proc = run_dhitui("debug", "-H", engine.host, prefix, "--", "true", input="")
    assert proc.returncode == 5 and "Traceback" not in proc.stderr
    assert all(c in proc.stderr for c in sharing) and "give more of the id" in proc.stderr


def test_a_network_the_engine_lacks_is_named_before_anything_is_made(
    engine: EngineUnderTest, containers: Callable[..., str],
) -> None:
    cid = containers(engine, HARDENED_IMAGE, start=False)
    images = set(docker(engine, "images", "-aq").stdout.split())
    proc = run_dhitui("debug", "-H", engine.host, "--network", "no-such-net", cid, "--",
                      "true", input="")
    assert proc.returncode == 6, proc.stderr
    assert "the engine has no network named no-such-net" in proc.stderr
    assert "snapshot strategy opens" not in proc.stderr  # not advice that points back
    assert set(docker(engine, "images", "-aq").stdout.split()) == images  # no snapshot taken
    # The advice: without --network the snapshot runs with none.
    ok = run_dhitui("debug", "-q", "-H", engine.host, cid, "--", "true", input="")
    assert ok.returncode == 0, ok.stderr


def test_a_toolbox_that_cannot_run_elsewhere_is_refused_with_advice_that_works(
    engine: EngineUnderTest, containers: Callable[..., str],
) -> None:
    """A stopped target and an absolute-link toolbox: the snapshot cannot use it, and the
    refusal does not send the user to the toolbox strategy (which needs a running one)."""
    from conftest import ABSOLUTE_LINKS_TOOLBOX, TOOLBOX_IMAGE

    cid = containers(engine, HARDENED_IMAGE, start=False)
    proc = run_dhitui("debug", "-H", engine.host, "--toolbox", ABSOLUTE_LINKS_TOOLBOX, cid,
                      "--", "true", input="")
    assert proc.returncode == 6, proc.stderr
    # (Podman's path stats resolve links: there it is "a symlink that could not be read".)
    assert "symlink" in proc.stderr and "with --toolbox" in proc.stderr
    assert "-s toolbox" not in proc.stderr and "toolbox strategy" not in proc.stderr
    ok = run_dhitui("debug", "-q", "-H", engine.host, "--toolbox", TOOLBOX_IMAGE, cid, "--",
                    "true", input="")
    assert ok.returncode == 0, ok.stderr


def test_ls_marks_a_user_it_did_not_inspect(
    engine: EngineUnderTest, containers: Callable[..., str],
) -> None:
    """A hardened image run as root: its verdict is the same whoever it runs as, so the
    list does not inspect it; the user shown is the image's, and says so."""
    name = f"dhitui-test-root-{containers(engine, 'busybox:latest', command=['true'])[:6]}"
    containers(engine, HARDENED_IMAGE, "--user", "0", name=name)
    plain = run_dhitui("ls", "-H", engine.host)
    row = next(line for line in plain.stdout.splitlines() if line.startswith(name))
    # Never the image's user unmarked: either marked, or the container's own (Podman's list
    # names no entrypoint, so a container of an image with one is inspected anyway).
    if engine.podman:
        assert " root " in row and "*" not in row, row
    else:
        assert "65532 (nonroot)*" in row, row
        assert "* the image's USER: the container was not inspected" in plain.stdout
    inspected = run_dhitui("ls", "--inspect", "-H", engine.host)
    row = next(line for line in inspected.stdout.splitlines() if line.startswith(name))
    assert " root " in row and "*" not in row


@pytest.mark.parametrize("userns", ["remapped", "host"])
def test_sessions_on_a_userns_remapped_engine(engine28_userns: EngineUnderTest,
                                              containers: Callable[..., str],
                                              userns: str) -> None:
    """On a remapped engine a target run with `--userns host` is not remapped, and a
    sidecar must join it there (else runc: "can't get final child's PID from pipe"); an
    ordinary target is joined in the remapped namespace. Both views, and a snapshot."""
    engine = engine28_userns
    info = docker(engine, "info", "--format", "{{json .SecurityOptions}}").stdout
    assert "name=userns" in info  # really remapped
    extra = ("--userns", "host") if userns == "host" else ()
    cid = containers(engine, HARDENED_IMAGE, *extra)
    for view in ("inside", "beside"):
        where = "/app" if view == "inside" else "/proc/1/root/app"
        proc = run_dhitui("debug", "-q", "--view", view, "-H", engine.host, cid, "--", "sh",
                          "-c", f"id -u; ls {where}", input="")
        assert (proc.returncode, proc.stdout) == (0, "65532\napp\n"), (view, proc.stderr)
    docker(engine, "stop", "-t", "1", cid)
    snap = run_dhitui("debug", "-q", "-H", engine.host, cid, "--", "ls", "/app", input="")
    assert (snap.returncode, snap.stdout) == (0, "app\n"), snap.stderr
    assert docker(engine, "ps", "-aq", "--filter", "label=dhitui.sidecar").stdout == ""


# --------------------------------------------------------------------------- the matrix

LONG_NAME = "dhitui-test-" + "long-name-" * 18 + "end"  # 195 characters
MATRIX = {
    "read-only": ("--read-only", "--tmpfs", "/tmp"),
    "cap-drop-all": ("--cap-drop", "ALL"),
    "no-new-privileges": ("--security-opt", "no-new-privileges"),
    "numeric-uid": ("--user", "12345"),
    "root": ("--user", "0"),
    "group-add": ("--user", "12345:12345", "--group-add", "4242"),
    "tmpfs": ("--tmpfs", "/run/app"),
    "init": ("--init",),
    "paused": (),
    "pid-host": ("--pid", "host"),
    "ipc-host": ("--ipc", "host"),
    "long-name-unicode-labels": ("--label", "com.example.ünïcödé=✓ prüfung [bold]x[/]",
                                 "--label", "note=a\u2028line"),
}


@pytest.mark.parametrize("kind", list(MATRIX))
def test_hostile_target_matrix(engine: EngineUnderTest, containers: Callable[..., str],
                               kind: str) -> None:
    """Each kind of target: a session runs `id` and reads a file; uid, gid and groups are
    the target's process's (the kernel's, through the host's /proc), the file is the
    engine's own copy of the target's, and nothing is left behind."""
    import hashlib
    import re

    from test_sessions_inside import engine_bytes, process_ids, sidecars_of

    if kind == "init" and engine.podman:
        # This Podman has no init binary (as a Debian host with docker.io): such a target
        # cannot be run there at all (tests/test_sessions_identity.py checks it).
        assert docker(engine, "run", "--rm", "--init", "--network", "none",
                      "busybox:latest", "true", check=False).returncode != 0
        return
    name = LONG_NAME if kind == "long-name-unicode-labels" else None
    cid = containers(engine, HARDENED_IMAGE, *MATRIX[kind], name=name)
    if kind == "paused":
        docker(engine, "pause", cid)
    try:
        code, plan = run_json("debug", "--print", "--json", "-H", engine.host, cid, "--",
                              "true")
        assert code == 0 and isinstance(plan, dict), plan
        view, strategy = plan["view"], plan["strategy"]
        pid = docker(engine, "inspect", "-f", "{{.State.Pid}}", cid).stdout.strip()
        root = ("" if view == "inside" or strategy == "snapshot"
                else f"/proc/{pid}/root" if kind == "pid-host" else "/proc/1/root")
        proc = run_dhitui("debug", "-q", "-H", engine.host, cid, "--", "sh", "-c",
                          f"id -u; id -g; id -G; sha256sum < {root}/etc/passwd", input="")
        assert proc.returncode == 0, (kind, plan["strategy"], view, proc.stderr)
        lines = proc.stdout.splitlines()
        ids = (int(lines[0]), int(lines[1]), {int(g) for g in lines[2].split()})
        uid, gid, groups = process_ids(engine, cid)
        if engine.podman and kind == "numeric-uid" and view == "inside":
            # Podman's exec adds the uid as a group when /etc/passwd does not list it.
            assert ids[:2] == (uid, gid) and ids[2] - groups <= {uid}, proc.stderr
        else:
            assert ids == (uid, gid, groups), (kind, strategy, view, proc.stderr)
        digest = re.match(r"[0-9a-f]{64}", lines[3])
        assert digest and digest.group(0) == hashlib.sha256(
            engine_bytes(engine, cid, "/etc/passwd")).hexdigest()
    finally:
        if kind == "paused":
            docker(engine, "unpause", cid, check=False)
    assert sidecars_of(engine, cid) == ""
    assert docker(engine, "images", "-q", "--filter", "label=dhitui.snapshot").stdout == ""
