"""Endpoint resolution: the docker CLI's precedence, step by step, and bad input."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dhitui.engine import endpoint as ep
from dhitui.errors import ConfigError, UsageError


def make_context(config: Path, name: str, host: str, *, tls: dict[str, str] | None = None,
                 skip_verify: bool = False) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({
        "Name": name, "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_verify}},
    }))
    if tls:
        d = config / "contexts" / "tls" / digest / "docker"
        d.mkdir(parents=True)
        for fname, content in tls.items():
            (d / fname).write_text(content)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    c = tmp_path / "docker"
    c.mkdir()
    make_context(c, "ctx-a", "unix:///run/a.sock")
    make_context(c, "ctx-b", "tcp://198.51.100.7:2376")
    (c / "config.json").write_text(json.dumps({"currentContext": "ctx-b"}))
    return c


def env_for(config: Path, **extra: str) -> dict[str, str]:
    # Podman's connection files (read after docker's settings) are kept out: none here.
    return {"DOCKER_CONFIG": str(config), "HOME": str(config.parent),
            "XDG_CONFIG_HOME": str(config.parent / "xdg-config"),
            "CONTAINERS_CONF": str(config.parent / "no-containers.conf"), **extra}


def test_context_flag_beats_everything(config: Path) -> None:
    env = env_for(config, DOCKER_HOST="unix:///run/env.sock", DOCKER_CONTEXT="ctx-b")
    e = ep.resolve_endpoint(context="ctx-a", env=env)
    assert (e.url, e.source, e.context) == ("unix:///run/a.sock", "context", "ctx-a")
    assert "--context" in e.reason


def test_host_flag_beats_env_and_contexts(config: Path) -> None:
    env = env_for(config, DOCKER_HOST="unix:///run/env.sock", DOCKER_CONTEXT="ctx-a")
    e = ep.resolve_endpoint(host="unix:///run/flag.sock", env=env)
    assert (e.url, e.source, e.context) == ("unix:///run/flag.sock", "flag", None)


def test_docker_host_beats_docker_context(config: Path) -> None:
    env = env_for(config, DOCKER_HOST="unix:///run/env.sock", DOCKER_CONTEXT="ctx-a")
    e = ep.resolve_endpoint(env=env)
    assert (e.url, e.source) == ("unix:///run/env.sock", "env")
    assert "DOCKER_CONTEXT" in e.reason  # says what it shadowed


def test_docker_context_beats_current_context(config: Path) -> None:
    e = ep.resolve_endpoint(env=env_for(config, DOCKER_CONTEXT="ctx-a"))
    assert (e.url, e.source, e.context) == ("unix:///run/a.sock", "context", "ctx-a")
    assert "DOCKER_CONTEXT" in e.reason


def test_current_context_from_config_json(config: Path) -> None:
    e = ep.resolve_endpoint(env=env_for(config))
    assert (e.url, e.source, e.context) == ("tcp://198.51.100.7:2376", "context", "ctx-b")
    assert "currentContext" in e.reason


def test_context_named_default_means_default_endpoint(config: Path) -> None:
    e = ep.resolve_endpoint(context="default", env=env_for(config, DOCKER_HOST="unix:///x.sock"))
    assert (e.url, e.source) == ("unix:///x.sock", "env")


@pytest.fixture
def listening_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "run" / "docker.sock"
    path.parent.mkdir()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.listen(1)
    yield path
    s.close()


def test_well_known_socket_that_answers_wins(
    config: Path, tmp_path: Path, listening_socket: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (config / "config.json").write_text("{}")
    missing = tmp_path / "nothing.sock"
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()  # the file stays, nobody listens
    monkeypatch.setattr(ep, "well_known_sockets", lambda env: [
        ("rootful", str(missing)), ("desktop", str(stale)), ("rootless", str(listening_socket))])
    e = ep.resolve_endpoint(env=env_for(config))
    assert e.url == f"unix://{listening_socket}"
    assert e.source == "well-known"
    assert "rootless" in e.reason and "answers" in e.reason
    assert [c.answers for c in e.candidates] == [False, False, True]
    assert [c.exists for c in e.candidates] == [False, True, True]


def test_existing_socket_chosen_when_none_answers(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (config / "config.json").unlink()
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()
    monkeypatch.setattr(ep, "well_known_sockets", lambda env: [
        ("rootful", str(tmp_path / "none.sock")), ("colima", str(stale))])
    e = ep.resolve_endpoint(env=env_for(config))
    assert e.url == f"unix://{stale}" and "exists" in e.reason


def test_default_when_nothing_exists(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (config / "config.json").unlink()
    monkeypatch.setattr(ep, "well_known_sockets", lambda env: [("rootful", str(tmp_path / "n"))])
    e = ep.resolve_endpoint(env=env_for(config))
    assert (e.url, e.source) == ("unix:///var/run/docker.sock", "default")
    assert "no well-known socket exists" in e.reason


def test_well_known_paths_follow_the_environment(tmp_path: Path) -> None:
    env = {"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1234", "COLIMA_HOME": "/opt/colima"}
    paths = dict((p, k) for k, p in ep.well_known_sockets(env))
    assert paths["/var/run/docker.sock"] == "rootful"
    assert paths["/run/user/1234/docker.sock"] == "rootless"
    assert paths["/home/u/.docker/desktop/docker.sock"] == "desktop"
    assert paths["/opt/colima/default/docker.sock"] == "colima"
    assert paths["/home/u/.orbstack/run/docker.sock"] == "orbstack"
    assert paths["/run/user/1234/podman/podman.sock"] == "podman-rootless"
    assert paths["/run/podman/podman.sock"] == "podman"


# ---------------------------------------------------------------- bad input


def test_host_and_context_conflict(config: Path) -> None:
    with pytest.raises(UsageError, match="cannot specify both --host and --context"):
        ep.resolve_endpoint(host="unix:///a.sock", context="ctx-a", env=env_for(config))


@pytest.mark.parametrize("bad", [
    "foo", "/var/run/docker.sock", "http://localhost:2375", "unix://relative.sock",
    "tcp://", "tcp://host:99999", "tcp://host:port", "npipe:////./pipe/docker_engine", "ssh://",
])
def test_malformed_docker_host(config: Path, bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        ep.resolve_endpoint(env=env_for(config, DOCKER_HOST=bad))
    assert "DOCKER_HOST" in info.value.message
    assert info.value.hint


@pytest.mark.parametrize("good,normalised", [
    ("tcp://192.0.2.1", "tcp://192.0.2.1:2375"),
    ("tcp://[2001:db8::1]:2376", "tcp://[2001:db8::1]:2376"),
    ("ssh://me@host", "ssh://me@host"),
    ("unix:///run/docker.sock", "unix:///run/docker.sock"),
])
def test_valid_hosts_normalised(good: str, normalised: str) -> None:
    assert ep.validate_host(good, "--host") == normalised


def test_unknown_context(config: Path) -> None:
    with pytest.raises(ConfigError, match='context "nope" does not exist') as info:
        ep.resolve_endpoint(context="nope", env=env_for(config))
    assert "ctx-a" in (info.value.hint or "")  # lists the known ones


def test_unknown_current_context(config: Path) -> None:
    (config / "config.json").write_text(json.dumps({"currentContext": "gone"}))
    with pytest.raises(ConfigError, match=r'"gone" does not exist.*currentContext'):
        ep.resolve_endpoint(env=env_for(config))


def test_corrupt_config_json(config: Path) -> None:
    (config / "config.json").write_text('{"currentContext": ')
    with pytest.raises(ConfigError, match="not valid JSON") as info:
        ep.resolve_endpoint(env=env_for(config))
    assert "line 1" in info.value.message


def test_corrupt_config_json_irrelevant_with_explicit_host(config: Path) -> None:
    (config / "config.json").write_text("{nope")
    assert ep.resolve_endpoint(host="unix:///a.sock", env=env_for(config)).url == "unix:///a.sock"


def test_corrupt_context_meta(config: Path) -> None:
    digest = hashlib.sha256(b"ctx-a").hexdigest()
    (config / "contexts" / "meta" / digest / "meta.json").write_text("[")
    with pytest.raises(ConfigError, match='context "ctx-a"'):
        ep.resolve_endpoint(context="ctx-a", env=env_for(config))


def test_tls_env_files_missing(config: Path, tmp_path: Path) -> None:
    env = env_for(config, DOCKER_HOST="tcp://192.0.2.1:2376", DOCKER_TLS_VERIFY="1",
                  DOCKER_CERT_PATH=str(tmp_path / "certs"))
    with pytest.raises(ConfigError, match="TLS files are missing"):
        ep.resolve_endpoint(env=env)


def test_tls_env_files_used(config: Path, tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    for n in ("ca", "cert", "key"):
        (certs / f"{n}.pem").write_text("x")
    env = env_for(config, DOCKER_HOST="tcp://192.0.2.1:2376", DOCKER_TLS_VERIFY="1",
                  DOCKER_CERT_PATH=str(certs))
    e = ep.resolve_endpoint(env=env)
    assert e.tls == ep.TLSFiles(str(certs / "ca.pem"), str(certs / "cert.pem"),
                                str(certs / "key.pem"), verify=True)


def test_context_tls_files(config: Path) -> None:
    make_context(config, "secure", "tcp://192.0.2.9:2376",
                 tls={"ca.pem": "c", "cert.pem": "c", "key.pem": "k"})
    e = ep.resolve_endpoint(context="secure", env=env_for(config))
    assert e.tls is not None and e.tls.verify
    assert e.tls.client_key and e.tls.client_key.endswith("/docker/key.pem")


def test_context_tls_half_a_keypair(config: Path) -> None:
    make_context(config, "half", "tcp://192.0.2.9:2376", tls={"cert.pem": "c"})
    with pytest.raises(ConfigError, match=r"cert\.pem and key\.pem"):
        ep.resolve_endpoint(context="half", env=env_for(config))
