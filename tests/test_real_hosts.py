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
