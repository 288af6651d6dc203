"""`dhitui info` against the real engines, and the bad inputs of engine selection."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import (
    HARDENED_IMAGE,
    EngineUnderTest,
    User,
    cli_env,
    docker_cli_path,
    run_dhitui,
    run_json,
)

pytestmark = pytest.mark.engine

INFO_KEYS = {"endpoint", "source", "engine_version", "api_version", "image_mounts", "docker_cli",
             "docker_debug", "toolbox_image_present", "rootless"}


def test_info_json_per_engine(engine: EngineUnderTest) -> None:
    code, data = run_json("info", "--json", "-H", engine.host)
    assert code == 0
    assert isinstance(data, dict) and data.keys() >= INFO_KEYS
    assert data["endpoint"] == engine.host
    assert data["source"] == "flag"
    assert data["engine"] == engine.product
    assert data["engine_product"] == ("podman" if engine.podman else "docker")
    assert data["image_mounts"] is engine.image_mounts
    if engine.podman:
        # Podman reports the Docker-compatible API 1.41, yet mounts images (2.2+).
        assert data["api_version"] == "1.41"
        assert tuple(map(int, data["engine_version"].split(".")[:2])) >= (2, 2)
        assert data["image_mounts_requirement"] == "Podman 2.2+"
    elif engine.name == "e20":
        assert data["engine_version"].startswith("20.10.")
        assert data["api_version"] == "1.41"
        assert data["image_mounts"] is False
    else:
        assert data["engine_version"].startswith("28.")
        assert data["image_mounts"] is True
        assert tuple(map(int, data["api_version"].split("."))) >= (1, 48)
    assert data["rootless"] is False
    assert data["toolbox_image_present"] is True
    assert data["docker_debug"] is False
    version = subprocess.run([docker_cli_path(), "--version"], capture_output=True,
                             text=True).stdout
    assert data["docker_cli"] and data["docker_cli"] in version


def test_info_toolbox_missing(engine28: EngineUnderTest) -> None:
    code, data = run_json("info", "--json", "-H", engine28.host, "--toolbox", "nope/absent:1")
    assert code == 0 and isinstance(data, dict)
    assert data["toolbox_image"] == "nope/absent:1"
    assert data["toolbox_image_present"] is False


def test_global_options_before_subcommand(engine28: EngineUnderTest) -> None:
    code, data = run_json("-H", engine28.host, "info", "--json")
    assert code == 0 and isinstance(data, dict) and data["endpoint"] == engine28.host


def test_info_human_output(engine20: EngineUnderTest) -> None:
    proc = run_dhitui("info", "-H", engine20.host)
    assert proc.returncode == 0, proc.stderr
    assert "20.10" in proc.stdout
    assert "Docker Engine 20.10" in proc.stdout
    assert "Image mounts" in proc.stdout and "needs Docker Engine 28+ (API 1.48)" in proc.stdout


def test_info_names_podman_and_its_image_mounts(podman_engine: EngineUnderTest) -> None:
    proc = run_dhitui("info", "-H", podman_engine.host)
    assert proc.returncode == 0, proc.stderr
    version = subprocess.run(["podman", "--version"], capture_output=True, text=True,
                             timeout=30).stdout.split()[-1]
    assert f"Podman {version}" in proc.stdout
    lines = {line.split(maxsplit=1)[0]: line for line in proc.stdout.splitlines() if line.strip()}
    assert "yes (Podman 2.2+)" in lines["Image"]


def test_standin_docker_debug_plugin_detected(engine28: EngineUnderTest,
                                              standin_plugin_config: Path) -> None:
    env = cli_env({"DOCKER_CONFIG": str(standin_plugin_config)})
    code, data = run_json("info", "--json", "-H", engine28.host, env=env)
    assert code == 0 and isinstance(data, dict)
    assert data["docker_debug"] is True
    plugin = data["docker_debug_plugin"]
    assert plugin["version"] == "0.0.0-standin"
    assert plugin["path"] == str(standin_plugin_config / "cli-plugins" / "docker-debug")


def test_plugin_without_metadata_protocol_ignored(engine28: EngineUnderTest,
                                                  tmp_path: Path) -> None:
    plugins = tmp_path / "cfg" / "cli-plugins"
    plugins.mkdir(parents=True)
    fake = plugins / "docker-debug"
    fake.write_text("#!/bin/sh\necho not json\n")
    fake.chmod(0o755)
    code, data = run_json("info", "--json", "-H", engine28.host,
                          env=cli_env({"DOCKER_CONFIG": str(tmp_path / "cfg")}))
    assert code == 0 and isinstance(data, dict) and data["docker_debug"] is False


def test_plugin_in_cli_plugins_extra_dirs(engine20: EngineUnderTest, standin_plugin_config: Path,
                                          tmp_path: Path) -> None:
    cfg = tmp_path / "other"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps(
        {"cliPluginsExtraDirs": [str(standin_plugin_config / "cli-plugins")]}))
    code, data = run_json("info", "--json", "-H", engine20.host,
                          env=cli_env({"DOCKER_CONFIG": str(cfg)}))
    assert code == 0 and isinstance(data, dict) and data["docker_debug"] is True


def test_context_made_by_the_real_docker_cli(engine28: EngineUnderTest, tmp_path: Path) -> None:
    """Our reading of the context store matches what the docker CLI writes."""
    cfg = tmp_path / "cfg"
    base = [docker_cli_path(), "--config", str(cfg)]
    subprocess.run([*base, "context", "create", "t28", "--docker", f"host={engine28.host}"],
                   check=True, capture_output=True, timeout=30)
    subprocess.run([*base, "context", "use", "t28"], check=True, capture_output=True, timeout=30)
    env = cli_env({"DOCKER_CONFIG": str(cfg)})
    code, data = run_json("info", "--json", env=env)
    assert code == 0 and isinstance(data, dict)
    assert (data["endpoint"], data["source"], data["context"]) == (engine28.host, "context", "t28")
    assert data["image_mounts"] is True
    code, data = run_json("info", "--json", "--context", "t28",
                          env=cli_env({"DOCKER_CONFIG": str(cfg), "DOCKER_HOST": "unix:///nope"}))
    assert code == 0 and isinstance(data, dict) and data["endpoint"] == engine28.host


def test_docker_host_env(engine20: EngineUnderTest) -> None:
    code, data = run_json("info", "--json", env=cli_env({"DOCKER_HOST": engine20.host}))
    assert code == 0 and isinstance(data, dict)
    assert (data["endpoint"], data["source"]) == (engine20.host, "env")


# ------------------------------------------------------------------ bad input, one line each


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    first = proc.stderr.splitlines()[-2 if "hint:" in proc.stderr else -1]
    for n in needles:
        assert n in proc.stderr, proc.stderr
    assert first.startswith(("dhitui: error:", "  hint:")), proc.stderr


@pytest.mark.parametrize("bad", ["foo", "http://x:2375", "tcp://:99999"])
def test_malformed_docker_host_cli(bad: str) -> None:
    proc = run_dhitui("info", env=cli_env({"DOCKER_HOST": bad}))
    assert_one_line_error(proc, 3, "DOCKER_HOST")


def test_unknown_context_cli(tmp_path: Path) -> None:
    proc = run_dhitui("info", "--context", "nope", env=cli_env({"DOCKER_CONFIG": str(tmp_path)}))
    assert_one_line_error(proc, 3, 'context "nope" does not exist')


def test_corrupt_config_json_cli(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{\n  currentContext: x\n")
    proc = run_dhitui("info", env=cli_env({"DOCKER_CONFIG": str(tmp_path)}))
    assert_one_line_error(proc, 3, "config.json is not valid JSON", "line 2")


def test_host_with_context_cli() -> None:
    proc = run_dhitui("info", "-H", "unix:///a.sock", "--context", "x")
    assert proc.returncode == 2 and "cannot specify both --host and --context" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_option_is_a_usage_error() -> None:
    proc = run_dhitui("info", "--bogus")
    assert proc.returncode == 2 and "unrecognized arguments: --bogus" in proc.stderr


def test_socket_missing(tmp_path: Path) -> None:
    proc = run_dhitui("info", "-H", f"unix://{tmp_path}/none.sock")
    assert_one_line_error(proc, 4, "no socket at", "dhitui doctor")


def test_socket_is_a_regular_file(tmp_path: Path) -> None:
    f = tmp_path / "docker.sock"
    f.write_text("")
    proc = run_dhitui("info", "-H", f"unix://{f}")
    assert_one_line_error(proc, 4, "is a regular file, not a socket")


def test_nothing_listening(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()
    assert stat.S_ISSOCK(path.stat().st_mode)
    proc = run_dhitui("info", "-H", f"unix://{path}")
    assert_one_line_error(proc, 4, "connection refused")


def test_unreachable_json_still_says_where(tmp_path: Path) -> None:
    code, data = run_json("info", "--json", "-H", f"unix://{tmp_path}/none.sock")
    assert code == 4 and isinstance(data, dict)
    assert data["error"]["kind"] == "missing" and data["source"] == "flag"


def test_permission_denied_as_real_user(engine20: EngineUnderTest, unprivileged_user: User) -> None:
    st = os.stat(engine20.socket)
    assert stat.S_IMODE(st.st_mode) & 0o006 == 0, "test needs a socket closed to others"
    proc = run_dhitui("info", "-H", engine20.host, user=unprivileged_user)
    assert_one_line_error(proc, 4, "permission denied")
    # The same user, given the socket's group, gets through.
    proc = run_dhitui("info", "--json", "-H", engine20.host, user=unprivileged_user,
                      groups=[st.st_gid])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["engine_version"].startswith("20.10")


def test_rootless_podman_named_and_working(podman_rootless: EngineUnderTest,
                                           containers: Callable[..., str]) -> None:
    """Rootless Podman (an unprivileged user's, through /etc/subuid): info says rootless,
    ls judges, and an image-mount session runs with its exit status."""
    code, data = run_json("info", "--json", "-H", podman_rootless.host)
    assert code == 0 and isinstance(data, dict)
    assert (data["engine"], data["rootless"], data["image_mounts"]) == ("Podman", True, True)
    cid = containers(podman_rootless, HARDENED_IMAGE)
    code, rows = run_json("ls", "--json", "-H", podman_rootless.host)
    assert code == 0 and isinstance(rows, list)
    row = next(r for r in rows if r["id"] == cid)
    assert row["verdict"] == "hardened"
    proc = run_dhitui("debug", "-H", podman_rootless.host, cid, "--", "sh", "-c",
                      "ls /proc/1/root/app; exit 3")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split() == ["app"] and "image-mount session into" in proc.stderr
