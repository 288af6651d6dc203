"""Which engines `dhitui` and `dhitui ls` follow: --engines, -H repeated, config.toml's
`engines`, and the names they are shown under. No engine needed: addresses are files here
(a unix socket that accepts is a real listening socket)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_endpoint import env_for, make_context

from dhitui.config import load_settings
from dhitui.engine.selection import name_for_url, parse_engines, select_engines
from dhitui.errors import ConfigError, UsageError

from conftest import run_dhitui


@pytest.fixture
def config(tmp_path: Path) -> Path:
    c = tmp_path / "docker"
    c.mkdir()
    make_context(c, "prod", "ssh://deploy@prod.example")
    make_context(c, "lab", "tcp://198.51.100.7:2376")
    make_context(c, "lab-again", "tcp://198.51.100.7:2376")  # the same engine, twice
    return c


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[Path]:
    """A real listening unix socket where a rootless engine's would be."""
    runtime = tmp_path / "run"
    runtime.mkdir()
    path = runtime / "docker.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen()
    try:
        yield runtime
    finally:
        sock.close()


def names(found: list) -> list[str]:  # type: ignore[type-arg]
    return [n.name for n in found]


def test_one_engine_when_none_is_asked_for(config: Path) -> None:
    env = env_for(config, DOCKER_HOST="tcp://192.0.2.1:2375")
    found = select_engines(env=env)
    assert [(n.name, n.endpoint.url) for n in found] == [("default", "tcp://192.0.2.1:2375")]
    found = select_engines(hosts=["unix:///srv/e28/docker.sock"], env=env)
    assert [(n.name, n.endpoint.url) for n in found] == [
        ("default", "unix:///srv/e28/docker.sock")]


def test_all_is_the_default_every_context_and_every_socket_that_answers(
        config: Path, listening: Path) -> None:
    env = env_for(config, DOCKER_HOST="tcp://192.0.2.1:2375",
                  XDG_RUNTIME_DIR=str(listening))
    found = select_engines(engines=["all"], env=env)
    # The default first; one entry per address (lab-again is lab's engine); a socket only
    # where something listens (the rootless one here: rootful, desktop and podman are not).
    assert [(n.name, n.endpoint.url) for n in found] == [
        ("default", "tcp://192.0.2.1:2375"),
        ("lab", "tcp://198.51.100.7:2376"),
        ("prod", "ssh://deploy@prod.example"),
        ("rootless", f"unix://{listening}/docker.sock"),
    ]


def test_a_default_only_guessed_at_is_left_out_of_all(config: Path, tmp_path: Path) -> None:
    """No DOCKER_HOST, no context, no socket that accepts: `all` is the contexts alone, not
    a "default" that points at nothing."""
    env = env_for(config, XDG_RUNTIME_DIR=str(tmp_path / "nothing"))
    found = select_engines(engines=["all"], env=env)
    if any(n.endpoint.source in ("default", "well-known") for n in found):
        # This machine has an engine at a well-known socket: it is there, under its kind.
        assert found[0].name in ("rootful", "rootless", "podman", "podman-rootless",
                                 "desktop", "colima", "orbstack")
        found = found[1:]
    assert names(found) == ["lab", "prod"]


def test_all_with_nothing_there_is_the_default_engine(tmp_path: Path) -> None:
    """No context, no connection, no socket that accepts: `all` is the one engine the docker
    CLI would use (shown as down, with the reason), not an empty list."""
    empty = tmp_path / "docker"
    empty.mkdir()
    env = env_for(empty, XDG_RUNTIME_DIR=str(tmp_path / "nothing"))
    found = select_engines(engines=["all"], env=env)
    assert len(found) == 1
    if found[0].name == "default":  # else this machine has an engine at a well-known socket
        assert found[0].endpoint.url == "unix:///var/run/docker.sock"


def test_engines_by_name_in_the_order_given(config: Path) -> None:
    env = env_for(config)
    assert names(select_engines(engines=["prod", "lab"], env=env)) == ["prod", "lab"]
    # The same address twice is followed once.
    assert names(select_engines(engines=["lab", "lab-again"], env=env)) == ["lab"]


def test_an_unknown_name_lists_the_names_there_are(config: Path) -> None:
    with pytest.raises(UsageError) as caught:
        select_engines(engines=["lab", "nosuch"], env=env_for(config))
    assert "no engine is named 'nosuch'" in caught.value.message
    assert "lab" in (caught.value.hint or "") and "prod" in (caught.value.hint or "")


def test_engines_with_host_or_context_is_a_usage_error(config: Path) -> None:
    env = env_for(config)
    with pytest.raises(UsageError, match="--engines chooses the engines itself"):
        select_engines(engines=["all"], hosts=["tcp://192.0.2.1:2375"], env=env)
    with pytest.raises(UsageError, match="--engines chooses the engines itself"):
        select_engines(engines=["lab"], context="prod", env=env)
    with pytest.raises(UsageError, match="stands alone"):
        select_engines(engines=["lab", "all"], env=env)
    with pytest.raises(UsageError, match="both --host and --context"):
        select_engines(hosts=["tcp://a:1", "tcp://b:2"], context="lab", env=env)


def test_several_hosts_are_named_after_their_addresses(config: Path) -> None:
    found = select_engines(hosts=["unix:///srv/e20/docker.sock", "unix:///srv/e28/docker.sock",
                                  "tcp://10.0.0.5:2376", "ssh://me@build",
                                  "unix:///other/e28/docker.sock",
                                  "unix:///srv/e20/docker.sock"], env=env_for(config))
    # Named by directory, host:port, user@host; a name taken twice gets -2; the same
    # address twice is followed once.
    assert names(found) == ["e20", "e28", "10.0.0.5:2376", "me@build", "e28-2"]


def test_names_of_addresses(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_RUNTIME_DIR": "/run/user/1000"}
    assert name_for_url("unix:///var/run/docker.sock", env) == "rootful"
    assert name_for_url("unix:///run/user/1000/podman/podman.sock", env) == "podman-rootless"
    assert name_for_url("unix:///run/podman/podman.sock", env) == "podman"
    assert name_for_url("unix:///var/lib/engines/blue/docker.sock", env) == "blue"
    assert name_for_url("unix:///run/docker-alt.sock", env) == "docker-alt"
    assert name_for_url("tcp://10.0.0.5:2376", env) == "10.0.0.5:2376"
    assert name_for_url("ssh://deploy@prod.example", env) == "deploy@prod.example"


def test_parse_engines() -> None:
    assert parse_engines(None) == ()
    assert parse_engines("all") == ("all",)
    assert parse_engines(" a, b ,") == ("a", "b")
    assert parse_engines(["a", "b"]) == ("a", "b")
    with pytest.raises(UsageError, match="needs `all` or engine names"):
        parse_engines(",")


@pytest.mark.parametrize(("text", "expected"), [
    ('engines = "all"\n', ("all",)),
    ('engines = "lab,prod"\n', ("lab", "prod")),
    ('engines = ["lab", "prod"]\n', ("lab", "prod")),
])
def test_the_engines_setting(tmp_path: Path, text: str, expected: tuple[str, ...]) -> None:
    (tmp_path / "dhitui").mkdir()
    (tmp_path / "dhitui" / "config.toml").write_text(text)
    assert load_settings({"XDG_CONFIG_HOME": str(tmp_path)}).engines == expected


@pytest.mark.parametrize("text", ['engines = 3\n', 'engines = ["lab", ""]\n', 'engines = [1]\n'])
def test_a_bad_engines_setting_is_a_config_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "dhitui").mkdir()
    (tmp_path / "dhitui" / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match="engines must be"):
        load_settings({"XDG_CONFIG_HOME": str(tmp_path)})


def test_the_command_line_says_what_is_wrong(config: Path) -> None:
    env = {**env_for(config), "PATH": "/usr/bin:/bin"}
    for args, words in [
        (["debug", "-H", "tcp://a:1", "-H", "tcp://b:2", "x"],
         "several -H are for `dhitui`, `ls` and `info`; `dhitui debug` works on one engine"),
        (["doctor", "--engines", "all"], "--engines is for `dhitui`, `ls` and `info`"),
        (["ls", "--engines", "nosuch"], "no engine is named 'nosuch'"),
        (["ls", "--engines", "lab", "-H", "tcp://a:1"], "--engines chooses the engines"),
    ]:
        proc = run_dhitui(*args, env=env)
        assert proc.returncode == 2, (args, proc.stderr)
        assert words in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
