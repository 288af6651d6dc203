"""Why a container stopped (pure), the start check's parsing, and snapshot images' owners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dhitui.detect.exitreason import exit_code_meaning, exit_reason, parse_time
from dhitui.diagnostics.entrypoint import parse_shebang
from dhitui.sessions import labels as L
from dhitui.sessions.orphans import judge, judge_image
from dhitui.sessions.snapshot import SnapshotSpec

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def inspect(**state: Any) -> dict[str, Any]:
    base = {"Status": "exited", "Running": False, "Restarting": False, "OOMKilled": False,
            "ExitCode": 0, "Error": "", "StartedAt": "2026-12-01T11:59:00.123456789Z",
            "FinishedAt": "2026-12-01T11:59:01.5Z"}
    restarts = state.pop("restarts", 0)
    policy = state.pop("policy", "no")
    return {"Id": "c" * 64, "State": {**base, **state}, "RestartCount": restarts,
            "HostConfig": {"RestartPolicy": {"Name": policy, "MaximumRetryCount": 0}}}


@pytest.mark.parametrize(("code", "oom", "words"), [
    (0, False, "success"),
    (1, False, "general error"),
    (126, False, "could not be executed"),
    (127, False, "not found"),
    (137, False, "SIGKILL"),
    (137, True, "OOM killer"),
    (139, False, "segmentation fault"),
    (143, False, "docker stop"),
    (134, False, "abort"),
    (42, False, "own exit code"),
])
def test_exit_code_meanings(code: int, oom: bool, words: str) -> None:
    assert words in exit_code_meaning(code, oom_killed=oom)


def test_a_crash_with_logs_cleaned_for_display() -> None:
    logs = b"starting\n\x1b[31mfatal\x1b[0m: config missing\x1b]0;pwned\x07\n"
    r = exit_reason(inspect(ExitCode=3), logs, now=NOW)
    assert (r.state, r.exit_code, r.restart_count, r.restart_policy, r.crash_looping) == (
        "exited", 3, 0, "no", False)
    assert r.headline == "exited with 3"
    assert r.log_lines == ("starting", "fatal: config missing")
    assert r.finished_at == "2026-12-01T11:59:01.5Z"
    assert r.to_json()["last_logs"] == ["starting", "fatal: config missing"]


def test_oom_and_engine_error() -> None:
    r = exit_reason(inspect(ExitCode=137, OOMKilled=True, Error="x"), None, now=NOW)
    assert r.headline == "exited with 137, OOM-killed" and "OOM killer" in r.meaning
    assert r.error == "x"


def test_runc_exec_failure_names_the_entrypoint() -> None:
    r = exit_reason(inspect(ExitCode=1), b"exec /app/start.sh: no such file or directory\n",
                    now=NOW)
    assert r.meaning.startswith("the entrypoint /app/start.sh could not be started")
    r = exit_reason(inspect(ExitCode=126, Error='exec: "/app/run": permission denied'), None,
                    now=NOW)
    assert "permission denied (not executable)" in r.meaning


def test_crash_loops_restarting_or_just_restarted() -> None:
    looping = exit_reason(inspect(Status="restarting", Restarting=True, ExitCode=4,
                                  restarts=7, policy="always"), b"", now=NOW)
    assert looping.crash_looping and looping.headline == "crash-looping, last exit 4"
    up = exit_reason(inspect(Status="running", Running=True, ExitCode=0, restarts=7,
                             StartedAt="2026-12-01T11:59:50Z", FinishedAt="2026-12-01T11:59:49Z"),
                     b"", now=NOW)
    assert up.crash_looping and up.exit_code is None and "between restarts" in up.meaning
    stable = exit_reason(inspect(Status="running", Running=True, restarts=1,
                                 StartedAt="2026-12-01T10:00:00Z"), b"", now=NOW)
    assert not stable.crash_looping


def test_created_never_started() -> None:
    r = exit_reason(inspect(Status="created", StartedAt="0001-01-01T00:00:00Z",
                            FinishedAt="0001-01-01T00:00:00Z"), None, now=NOW)
    assert r.headline == "created, never started" and r.exit_code is None
    assert r.started_at is None and r.finished_at is None


def test_engine_timestamps() -> None:
    assert parse_time("2026-12-01T11:59:00.123456789Z") == datetime(
        2026, 12, 1, 11, 59, 0, 123456, tzinfo=UTC)
    assert parse_time("2026-12-01T11:59:00Z") == datetime(2026, 12, 1, 11, 59, tzinfo=UTC)
    parsed = parse_time("2026-12-01T13:59:00.5+02:00")
    assert parsed is not None and parsed - timedelta(seconds=0.5) == NOW - timedelta(minutes=1)
    assert parse_time("nonsense") is None


def test_shebang_lines() -> None:
    assert parse_shebang(b"#!/bin/sh\nexec app\n") == ["/bin/sh"]
    assert parse_shebang(b"#! /usr/bin/env python3 -u\n") == ["/usr/bin/env", "python3", "-u"]
    assert parse_shebang(b"\x7fELF...") is None
    assert parse_shebang(b"#!\n") == [""]


MACHINE = L.Machine(host="workstation", boot="b" * 36)


def image_labels(**extra: str) -> dict[str, str]:
    return {**L.snapshot_labels(session="a" * 32, machine=MACHINE, target_id="c" * 64,
                                target_name="app"), L.OWNER_PID: "999999999", **extra}


def test_snapshot_images_belong_to_their_session_or_maker() -> None:
    assert judge_image(image_labels(), MACHINE, ["a" * 32])[0] == "live"
    status, reason = judge_image(image_labels(), MACHINE, [])
    assert status == "orphan" and "no process" in reason
    other = L.Machine(host="laptop", boot="c" * 36)
    assert judge_image(image_labels(), other, [])[0] == "unknown"
    rebooted = L.Machine(host="workstation", boot="d" * 36)
    assert judge_image(image_labels(), rebooted, [])[0] == "orphan"


def test_a_snapshot_sidecar_does_not_need_its_target_running() -> None:
    labels = L.session_labels(session="a" * 32, strategy=L.SNAPSHOT_STRATEGY, machine=MACHINE,
                              target_id="c" * 64, target_name="app")
    assert judge(labels, "running", "exited", MACHINE, ["a" * 32])[0] == "live"
    other = {**labels, L.STRATEGY: "toolbox"}
    assert judge(other, "running", "exited", MACHINE, ["a" * 32])[0] == "orphan"


def test_snapshot_labels_cannot_break_out_of_the_label_instruction() -> None:
    spec = SnapshotSpec(container="c" * 64, label="app", session="a" * 32,
                        labels={"dhitui.target-name": 'x" "evil"="1'}, copy_toolbox=None,
                        mount_point="/dbg")
    assert spec.changes() == ['LABEL "dhitui.target-name"="x\\" \\"evil\\"=\\"1"']
