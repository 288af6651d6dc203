"""The docker CLI and its plugins, found without talking to any engine.

`docker debug` is a CLI plugin (Docker Desktop's). A plugin is an executable named
`docker-<name>` in one of the CLI's plugin directories that answers
`docker-<name> docker-cli-plugin-metadata` with JSON carrying a `SchemaVersion`.
We search the same directories the docker CLI searches, in the same order.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dhitui.engine.endpoint import docker_config_dir

SYSTEM_PLUGIN_DIRS = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)
TOOL_TIMEOUT = 5.0


@dataclass(frozen=True)
class DockerCLI:
    path: str
    version: str | None  # None: not asked (it costs a process start)


@dataclass(frozen=True)
class PluginInfo:
    name: str
    path: str
    schema_version: str
    vendor: str
    version: str
    short_description: str


def docker_cli_path(env: Mapping[str, str] | None = None) -> str | None:
    """The `docker` executable on PATH (no process started)."""
    env = os.environ if env is None else env
    return shutil.which("docker", path=env.get("PATH"))


def docker_cli_version(path: str, env: Mapping[str, str] | None = None) -> str | None:
    """The client version `docker --version` reports ("unknown" when it says none; None
    when it does not run)."""
    env = os.environ if env is None else env
    try:
        out = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            env=dict(env),
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"version\s+([^\s,]+)", out)
    return m.group(1) if m else "unknown"


def plugin_dirs(env: Mapping[str, str] | None = None) -> list[str]:
    """The CLI plugin search path: config.json `cliPluginsExtraDirs`, the user's
    `$DOCKER_CONFIG/cli-plugins`, then the system directories."""
    env = os.environ if env is None else env
    dirs: list[str] = []
    cfg_dir = docker_config_dir(env)
    try:
        extra = json.loads((cfg_dir / "config.json").read_text()).get("cliPluginsExtraDirs")
    except (OSError, ValueError, AttributeError):
        extra = None  # a corrupt config.json is reported elsewhere; it only hides extra dirs
    if isinstance(extra, list):
        dirs.extend(d for d in extra if isinstance(d, str))
    dirs.append(str(cfg_dir / "cli-plugins"))
    dirs.extend(SYSTEM_PLUGIN_DIRS)
    return dirs


def plugin_metadata(path: str, env: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """Ask a plugin executable for its metadata; None if it does not speak the protocol."""
    try:
        proc = subprocess.run(
            [path, "docker-cli-plugin-metadata"],
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            env=dict(os.environ if env is None else env),
            check=False,
        )
        data = json.loads(proc.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if proc.returncode != 0 or not isinstance(data, dict) or not data.get("SchemaVersion"):
        return None
    return {k: str(v) for k, v in data.items() if isinstance(v, str | int | float)}


def find_plugin(name: str, env: Mapping[str, str] | None = None) -> PluginInfo | None:
    """The first valid `docker-<name>` plugin on the CLI's search path."""
    for d in plugin_dirs(env):
        candidate = Path(d) / f"docker-{name}"
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        meta = plugin_metadata(str(candidate), env)
        if meta is None:
            continue
        return PluginInfo(
            name=name,
            path=str(candidate),
            schema_version=meta.get("SchemaVersion", ""),
            vendor=meta.get("Vendor", ""),
            version=meta.get("Version", ""),
            short_description=meta.get("ShortDescription", ""),
        )
    return None
