"""Podman's ways of choosing an engine: CONTAINER_HOST, named connections (containers.conf
and podman-connections.json), `--context` falling back to them, and its sockets. Docker's
own settings always come first. The last test has the real podman write its connection."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from dhitui.engine import endpoint as ep
from dhitui.engine.podman_connections import read_connections
from dhitui.errors import ConfigError

from conftest import EngineUnderTest, cli_env, run_json


def podman_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A user with no docker configuration and podman's files under tmp_path (the system's
    containers.conf files are replaced by CONTAINERS_CONF when a test sets it)."""
    docker = tmp_path / "docker"
    docker.mkdir(exist_ok=True)
    return {"HOME": str(tmp_path), "DOCKER_CONFIG": str(docker),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "CONTAINERS_CONF": str(tmp_path / "none.conf"), **extra}


def write_conf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "containers.conf"
    path.write_text(text)
    return path


def write_json(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config" / "containers" / "podman-connections.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


CONF = """
[engine]
active_service = "box"
[engine.service_destinations.box]
uri = "unix:///run/user/1000/podman/podman.sock"
[engine.service_destinations.far]
uri = "ssh://core@192.0.2.5:2222/run/user/1000/podman/podman.sock"
identity = "/home/u/.ssh/id_ed25519"
"""


def test_container_host_is_podmans_docker_host(tmp_path: Path) -> None:
    e = ep.resolve_endpoint(env=podman_env(tmp_path, CONTAINER_HOST="unix:///run/p.sock"))
    assert (e.url, e.source) == ("unix:///run/p.sock", "podman-env")
    assert "CONTAINER_HOST" in e.reason


def test_docker_settings_come_before_podmans(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, CONF)
    env = podman_env(tmp_path, CONTAINER_HOST="unix:///run/p.sock",
                     DOCKER_HOST="unix:///run/d.sock", CONTAINERS_CONF=str(conf))
    assert ep.resolve_endpoint(env=env).url == "unix:///run/d.sock"
    assert ep.resolve_endpoint(host="unix:///run/h.sock", env=env).source == "flag"


def test_default_connection_from_containers_conf(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, CONF)
    e = ep.resolve_endpoint(env=podman_env(tmp_path, CONTAINERS_CONF=str(conf)))
    assert (e.url, e.source, e.context) == ("unix:///run/user/1000/podman/podman.sock",
                                            "podman-connection", "box")
    assert f'default connection "box" (set in {conf}' in e.reason


def test_json_connections_win_over_containers_conf(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, CONF)
    path = write_json(tmp_path, {"Connection": {"Default": "box", "Connections": {
        "box": {"URI": "unix:///run/podman/podman.sock", "Identity": "", "IsMachine": False}}}})
    conns = read_connections(podman_env(tmp_path, CONTAINERS_CONF=str(conf)))
    assert conns.default == "box" and conns.default_source == str(path)
    assert conns.connections["box"].uri == "unix:///run/podman/podman.sock"
    assert conns.connections["far"].identity == "/home/u/.ssh/id_ed25519"


def test_container_connection_names_one(tmp_path: Path) -> None:
    path = write_json(tmp_path, {"Connection": {"Default": "a", "Connections": {
        "a": {"URI": "unix:///run/a.sock"}, "b": {"URI": "unix:///run/b.sock"}}}})
    e = ep.resolve_endpoint(env=podman_env(tmp_path, CONTAINER_CONNECTION="b"))
    assert (e.url, e.context) == ("unix:///run/b.sock", "b")
    assert "CONTAINER_CONNECTION" in e.reason
    with pytest.raises(ConfigError, match='"c", which does not exist') as err:
        ep.resolve_endpoint(env=podman_env(tmp_path, CONTAINER_CONNECTION="c"))
    assert "a, b" in (err.value.hint or "")
    assert path.exists()


def test_context_flag_falls_back_to_a_podman_connection(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, CONF)
    env = podman_env(tmp_path, CONTAINERS_CONF=str(conf))
    e = ep.resolve_endpoint(context="box", env=env)
    assert (e.url, e.source) == ("unix:///run/user/1000/podman/podman.sock", "podman-connection")
    assert "no docker context has that name" in e.reason
    with pytest.raises(ConfigError) as err:
        ep.resolve_endpoint(context="nope", env=env)
    assert "podman connections: box, far" in (err.value.hint or "")


def test_ssh_connection_explained_not_attempted(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, CONF)
    with pytest.raises(ConfigError, match="ssh connection") as err:
        ep.resolve_endpoint(context="far", env=podman_env(tmp_path, CONTAINERS_CONF=str(conf)))
    hint = err.value.hint or ""
    assert "-L /tmp/podman.sock:/run/user/1000/podman/podman.sock core@192.0.2.5" in hint


def test_dangling_default_and_corrupt_files(tmp_path: Path) -> None:
    write_json(tmp_path, {"Connection": {"Default": "gone", "Connections": {}}})
    with pytest.raises(ConfigError, match='default connection "gone"'):
        ep.resolve_endpoint(env=podman_env(tmp_path))
    bad = write_conf(tmp_path, "[engine\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        ep.resolve_endpoint(env=podman_env(tmp_path, CONTAINERS_CONF=str(bad)))
    # An explicit -H never reads podman's files.
    assert ep.resolve_endpoint(host="unix:///run/x.sock",
                               env=podman_env(tmp_path, CONTAINERS_CONF=str(bad))).url


def test_podman_sockets_rootless_before_rootful() -> None:
    kinds = [k for k, _ in ep.well_known_sockets({"HOME": "/home/u",
                                                  "XDG_RUNTIME_DIR": "/run/user/1000"})]
    paths = dict((k, p) for k, p in ep.well_known_sockets({"HOME": "/home/u",
                                                          "XDG_RUNTIME_DIR": "/run/user/1000"}))
    assert kinds.index("podman-rootless") < kinds.index("podman")
    assert paths["podman-rootless"] == "/run/user/1000/podman/podman.sock"
    assert paths["podman"] == "/run/podman/podman.sock"


@pytest.mark.engine
def test_connection_written_by_podman_itself(podman_engine: EngineUnderTest,
                                             tmp_path: Path) -> None:
    """Our reading of podman's connection store matches what `podman system connection add`
    writes (Debian's 4.3: containers.conf), and the chosen engine answers as Podman."""
    home = tmp_path / "home"
    home.mkdir()
    # Root's podman writes its connections to /etc/containers/containers.conf unless
    # CONTAINERS_CONF names (an existing) file: this test must not touch the machine's.
    conf = tmp_path / "containers.conf"
    conf.touch()
    penv = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "XDG_CONFIG_HOME": str(home / ".config"), "CONTAINERS_CONF": str(conf)}
    subprocess.run(["podman", "system", "connection", "add", "--default", "testpod",
                    podman_engine.host], env=penv, check=True, capture_output=True, timeout=60)
    assert "testpod" in conf.read_text()
    env = cli_env({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                   "DOCKER_CONFIG": str(home / ".docker"), "CONTAINERS_CONF": str(conf)})
    code, data = run_json("info", "--json", env=env)
    assert code == 0 and isinstance(data, dict), data
    assert data["endpoint"] == podman_engine.host
    assert data["source"] == "podman-connection" and "testpod" in data["reason"]
    assert data["engine"] == "Podman"
