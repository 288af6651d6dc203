"""What the connected engine and this machine allow, probed once per connection.

The full probe (`dhitui info`, `doctor`, the TUI) costs two Engine API requests beyond the
connection's `/version` (`/info` and one image inspect for the toolbox) plus up to two short
local processes (`docker --version`, and the `docker-debug` plugin's metadata when a plugin
file is found in the CLI's plugin directories), run concurrently with the API calls.

A session's probe (`scope="session"`, what `dhitui debug` needs to make a plan) asks only what
a plan reads: the engine's identity and image mounts (from `/version`, already known), where
the docker CLI is and whether the `docker debug` plugin is installed. No `/info` (the host's
security options, OS and cgroups are for diagnostics), no toolbox inspect (the plan inspects
the toolbox itself), and the CLI's version (a process start) only when the session may run
through the CLI (`cli_version=True`). What was not asked is None.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from dhitui.config import DEFAULT_TOOLBOX
from dhitui.engine.cli_tools import (
    DockerCLI,
    docker_cli_path,
    docker_cli_version,
    find_plugin,
)
from dhitui.engine.client import Engine
from dhitui.engine.identity import EngineIdentity, Product


@dataclass(frozen=True)
class SecurityOptions:
    rootless: bool
    userns: bool
    seccomp_profile: str | None
    apparmor: bool
    selinux: bool


def parse_security_options(options: list[str] | None) -> SecurityOptions:
    """`/info` SecurityOptions entries look like `name=seccomp,profile=builtin`."""
    names: dict[str, dict[str, str]] = {}
    for entry in options or []:
        fields: dict[str, str] = {}
        for part in entry.split(","):
            key, _, value = part.partition("=")
            fields[key] = value
        if "name" in fields:
            names[fields["name"]] = fields
    return SecurityOptions(
        rootless="rootless" in names,
        userns="userns" in names,
        seccomp_profile=names["seccomp"].get("profile", "default") if "seccomp" in names else None,
        apparmor="apparmor" in names,
        selinux="selinux" in names,
    )


@dataclass(frozen=True)
class Capabilities:
    endpoint: str
    source: str
    reason: str
    context: str | None
    engine_version: str
    api_version: str  # the server's maximum API version
    negotiated_api_version: str
    min_api_version: str | None
    os: str
    arch: str
    kernel: str
    operating_system: str | None  # None: not asked (/info; a session's probe)
    rootless: bool | None
    userns: bool | None
    seccomp_profile: str | None
    apparmor: bool | None
    selinux: bool | None
    cgroup_version: str | None
    cgroup_driver: str | None
    storage_driver: str | None
    image_mounts: bool
    docker_cli: str | None  # its version; None: no CLI, or not asked (a session's probe)
    docker_cli_path: str | None
    docker_debug: bool
    docker_debug_plugin: dict[str, str] | None
    toolbox_image: str
    toolbox_image_present: bool | None  # None: not asked (a session's plan inspects it)
    containers_running: int | None
    engine_product: Product = "docker"
    scope: Literal["full", "session"] = "full"

    @property
    def identity(self) -> EngineIdentity:
        """What the engine is; how image mounts are judged and spelled for it."""
        return EngineIdentity(self.engine_product, self.engine_version, self.api_version)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["engine"] = self.identity.name
        data["image_mounts_requirement"] = self.identity.image_mounts_requirement
        data["image_mounts_reason"] = self.identity.image_mounts_why
        return data


def probe_capabilities(
    engine: Engine, toolbox: str = DEFAULT_TOOLBOX, env: Mapping[str, str] | None = None,
    *, scope: Literal["full", "session"] = "full", cli_version: bool = True,
) -> Capabilities:
    """What the engine and this machine allow (see the module docstring for `scope`);
    `cli_version` only matters for a session's probe (the full one always asks)."""
    env = os.environ if env is None else env
    full = scope == "full"
    info: dict[str, Any] = {}
    toolbox_present: bool | None = None
    cli: DockerCLI | None = None
    cli_path = docker_cli_path(env)
    version_wanted = cli_path is not None and (full or cli_version)
    if full:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="dhitui-probe") as pool:
            version_future = (pool.submit(docker_cli_version, cli_path, env)
                              if cli_path is not None else None)
            plugin_future = pool.submit(find_plugin, "debug", env)
            info = engine.info()
            toolbox_present = engine.image_exists(toolbox)
            plugin = plugin_future.result()
            version = version_future.result() if version_future is not None else None
    else:
        # A few stats in the plugin directories; a process only for a plugin found there.
        plugin = find_plugin("debug", env)
        version = docker_cli_version(cli_path, env) if cli_path and version_wanted else None
    if cli_path is not None and version_wanted:
        # A `docker` that does not run is no CLI.
        cli = DockerCLI(cli_path, version) if version is not None else None
    elif cli_path is not None:
        cli = DockerCLI(cli_path, None)
    sec = parse_security_options(info.get("SecurityOptions")) if full else None
    v = engine.version_info
    ep = engine.endpoint
    return Capabilities(
        endpoint=ep.url,
        source=ep.source,
        reason=ep.reason,
        context=ep.context,
        engine_version=engine.engine_version,
        api_version=engine.server_api_version,
        negotiated_api_version=engine.api_version,
        min_api_version=v.get("MinAPIVersion"),
        os=str(v.get("Os", info.get("OSType", ""))),
        arch=str(v.get("Arch", info.get("Architecture", ""))),
        kernel=str(v.get("KernelVersion", info.get("KernelVersion", ""))),
        operating_system=str(info.get("OperatingSystem", "")) if full else None,
        # Docker says so in SecurityOptions; Podman's compatible /info in `Rootless`.
        rootless=sec.rootless or info.get("Rootless") is True if sec else None,
        userns=sec.userns if sec else None,
        seccomp_profile=sec.seccomp_profile if sec else None,
        apparmor=sec.apparmor if sec else None,
        selinux=sec.selinux if sec else None,
        cgroup_version=info.get("CgroupVersion"),
        cgroup_driver=info.get("CgroupDriver"),
        storage_driver=info.get("Driver"),
        image_mounts=engine.supports_image_mounts,
        docker_cli=cli.version if cli else None,
        docker_cli_path=cli.path if cli else None,
        # `docker debug` needs both the plugin and a docker CLI to run it.
        docker_debug=plugin is not None and cli is not None,
        docker_debug_plugin=asdict(plugin) if plugin else None,
        toolbox_image=toolbox,
        toolbox_image_present=toolbox_present,
        containers_running=info.get("ContainersRunning"),
        engine_product=engine.identity.product,
        scope=scope,
    )
