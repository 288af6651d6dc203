"""Podman's named connections (its equivalent of docker contexts), read from its own files.

Podman 5 keeps them in `podman-connections.json`:

    {"Connection": {"Default": "NAME",
                    "Connections": {"NAME": {"URI": "unix:///…", "Identity": "…"}}}}

Podman 4 (and 5, read-only) in `containers.conf`:

    [engine]
    active_service = "NAME"
    [engine.service_destinations.NAME]
    uri = "ssh://user@host:22/run/user/1000/podman/podman.sock"
    identity = "/home/user/.ssh/id_ed25519"

Files read, later ones winning for the same name (as podman layers them): the system
`/usr/share/containers/containers.conf` and `/etc/containers/containers.conf`, the user's
`$XDG_CONFIG_HOME/containers/containers.conf` (or `$CONTAINERS_CONF` alone, which replaces
them all), then `podman-connections.json` under `$XDG_CONFIG_HOME/containers` (and for root
`/etc/containers`). The default is the JSON's `Default`, else `active_service`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dhitui.errors import ConfigError


@dataclass(frozen=True)
class PodmanConnection:
    name: str
    uri: str
    identity: str | None
    source: str  # the file it was read from


@dataclass(frozen=True)
class PodmanConnections:
    connections: dict[str, PodmanConnection]
    default: str | None
    default_source: str | None  # the file that named the default

    def get(self, name: str) -> PodmanConnection | None:
        return self.connections.get(name)


def _config_home(env: Mapping[str, str]) -> Path:
    if env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"])
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".config"


def conf_files(env: Mapping[str, str]) -> list[Path]:
    """containers.conf files in the order podman reads them."""
    if env.get("CONTAINERS_CONF"):
        return [Path(env["CONTAINERS_CONF"])]
    return [Path("/usr/share/containers/containers.conf"),
            Path("/etc/containers/containers.conf"),
            _config_home(env) / "containers" / "containers.conf"]


def json_files(env: Mapping[str, str]) -> list[Path]:
    files = [_config_home(env) / "containers" / "podman-connections.json"]
    if os.geteuid() == 0:
        files.insert(0, Path("/etc/containers/podman-connections.json"))
    return files


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read podman's {path}: {exc.strerror if isinstance(exc, OSError) else exc}",
            hint="fix its permissions, or pass -H/--host to choose the engine explicitly",
        ) from None


def read_connections(env: Mapping[str, str] | None = None) -> PodmanConnections:
    """Podman's named connections; ConfigError for a file that exists but cannot be used."""
    env = os.environ if env is None else env
    found: dict[str, PodmanConnection] = {}
    default: str | None = None
    default_source: str | None = None
    for path in conf_files(env):
        text = _read(path)
        if text is None:
            continue
        import tomllib  # only with a file to read: most machines have none

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"podman's {path} is not valid TOML ({exc})",
                              hint="fix it, or pass -H/--host to choose the engine") from None
        engine = data.get("engine")
        if not isinstance(engine, dict):
            continue
        active = engine.get("active_service")
        if isinstance(active, str) and active:
            default, default_source = active, str(path)
        dests = engine.get("service_destinations")
        for name, dest in (dests.items() if isinstance(dests, dict) else ()):
            if isinstance(dest, dict) and isinstance(dest.get("uri"), str):
                ident = dest.get("identity")
                found[name] = PodmanConnection(name, dest["uri"],
                                               ident if isinstance(ident, str) else None,
                                               str(path))
    for path in json_files(env):
        text = _read(path)
        if text is None or not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"podman's {path} is not valid JSON ({exc.msg} at line "
                              f"{exc.lineno})",
                              hint="fix it, or pass -H/--host to choose the engine") from None
        conn = data.get("Connection") if isinstance(data, dict) else None
        if not isinstance(conn, dict):
            continue
        entries = conn.get("Connections")
        for name, dest in (entries.items() if isinstance(entries, dict) else ()):
            if isinstance(dest, dict) and isinstance(dest.get("URI"), str):
                ident = dest.get("Identity")
                found[name] = PodmanConnection(name, dest["URI"],
                                               ident if isinstance(ident, str) and ident
                                               else None, str(path))
        if isinstance(conn.get("Default"), str) and conn["Default"]:
            default, default_source = conn["Default"], str(path)
    return PodmanConnections(found, default, default_source)
