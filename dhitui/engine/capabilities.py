"""What the connected engine and this machine allow, probed once per connection.

The probe costs two Engine API requests beyond the connection's `/version` (`/info` and one
image inspect for the toolbox) plus two short local processes (`docker --version` and the
`docker-debug` plugin's metadata), run concurrently with the API calls.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from dhitui.engine.cli_tools import DockerCLI, PluginInfo, find_docker_cli, find_plugin
from dhitui.engine.client import Engine
from dhitui.engine.identity import EngineIdentity, Product

DEFAULT_TOOLBOX = "busybox"


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
    operating_system: str
    rootless: bool
    userns: bool
    seccomp_profile: str | None
    apparmor: bool
    selinux: bool
    cgroup_version: str | None
    cgroup_driver: str | None
    storage_driver: str | None
    image_mounts: bool
    docker_cli: str | None
    docker_cli_path: str | None
    docker_debug: bool
    docker_debug_plugin: dict[str, str] | None
    toolbox_image: str
    toolbox_image_present: bool
    containers_running: int | None
    engine_product: Product = "docker"

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
    engine: Engine, toolbox: str = DEFAULT_TOOLBOX, env: Mapping[str, str] | None = None
) -> Capabilities:
    env = os.environ if env is None else env
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="dhitui-probe") as pool:
        cli_future = pool.submit(find_docker_cli, env)
        plugin_future = pool.submit(find_plugin, "debug", env)
        info = engine.info()
        toolbox_present = engine.image_exists(toolbox)
        cli: DockerCLI | None = cli_future.result()
        plugin: PluginInfo | None = plugin_future.result()
    sec = parse_security_options(info.get("SecurityOptions"))
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
        operating_system=str(info.get("OperatingSystem", "")),
        # Docker says so in SecurityOptions; Podman's compatible /info in `Rootless`.
        rootless=sec.rootless or info.get("Rootless") is True,
        userns=sec.userns,
        seccomp_profile=sec.seccomp_profile,
        apparmor=sec.apparmor,
        selinux=sec.selinux,
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
    )

