"""What the connected engine *is* (Docker Engine or Podman, and its version), and what
follows from that: whether it mounts images, and how an image mount is spelled for it.

Capabilities come from the product and its version, not only from the API version it
reports: Podman serves the Docker-compatible API at version 1.41, yet has mounted images
since 2.2 (through that API too), where Docker Engine needs API 1.48 (Engine 28.0). The two
also disagree on image-mount options: Podman rejects `ro`/`readonly` (its image mounts are
read-only by default) and takes an absolute `subpath` (5.1+), where Docker takes a relative
`Subpath` (and the docker CLI's `image-subpath`). Every image mount dhitui builds is spelled
here, from one place.

Pure: no docker-py; `engine.client` builds an `EngineIdentity` from the `/version` answer.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Product = Literal["docker", "podman"]

PRODUCT_NAMES: dict[Product, str] = {"docker": "Docker Engine", "podman": "Podman"}

# Image mounts (`Mount.Type == "image"`) arrived with API 1.48 / Engine 28.0 in Docker...
IMAGE_MOUNT_API = "1.48"
# ...and with Podman 2.2 (`podman run --mount type=image`, also through its compatible API).
PODMAN_IMAGE_MOUNTS = (2, 2)
# Podman's image-mount `subpath` option (absolute) arrived with 5.1.
PODMAN_IMAGE_SUBPATH = (5, 1)
# Before 4.6 Podman's compatible `wait?condition=removed` (what `docker run --rm` waits with)
# answered exit status 0 whatever the container's was (containers/podman#18889, fixed by #18912).
PODMAN_RM_EXIT_STATUS = (4, 6)


def version_tuple(version: str) -> tuple[int, ...]:
    """`4.3.1` -> (4, 3, 1); `28.5.2+dfsg1` -> (28, 5, 2); unreadable -> (0,)."""
    parts = re.findall(r"\d+", version.split("+", 1)[0].split("-", 1)[0])
    return tuple(int(p) for p in parts[:3]) or (0,)


def _product(version: Mapping[str, Any]) -> Product:
    for component in version.get("Components") or []:
        if isinstance(component, Mapping) and "podman" in str(component.get("Name", "")).lower():
            return "podman"
    return "docker"


@dataclass(frozen=True)
class EngineIdentity:
    product: Product
    version: str
    api_version: str  # the server's maximum (Docker-compatible) API version

    @property
    def name(self) -> str:
        return PRODUCT_NAMES[self.product]

    @property
    def display(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def is_podman(self) -> bool:
        return self.product == "podman"

    @property
    def image_mounts(self) -> bool:
        if self.is_podman:
            return version_tuple(self.version) >= PODMAN_IMAGE_MOUNTS
        return version_tuple(self.api_version) >= version_tuple(IMAGE_MOUNT_API)

    @property
    def image_mounts_requirement(self) -> str:
        """What image mounts need on this kind of engine, in words."""
        if self.is_podman:
            return "Podman {}.{}+".format(*PODMAN_IMAGE_MOUNTS)
        return f"Docker Engine 28+ (API {IMAGE_MOUNT_API})"

    @property
    def image_mounts_why(self) -> str:
        """Why image mounts are (not) available here, for `info`, `doctor` and plans."""
        if self.image_mounts:
            return f"{self.display} mounts images ({self.image_mounts_requirement})"
        if self.is_podman:
            return f"{self.display} cannot mount images: that needs {self.image_mounts_requirement}"
        return (f"{self.display} (API {self.api_version}) cannot mount images: that needs "
                f"{self.image_mounts_requirement}")

    @property
    def joins_paused(self) -> bool:
        """Whether a container can be started in a paused container's namespaces (a sidecar
        beside it, its processes frozen). Docker Engine allows it; Podman refuses ("some
        dependencies of container … are not started: container state improper") and leaves
        paused containers out of its running-only list."""
        return not self.is_podman

    @property
    def autoremove_keeps_exit_status(self) -> bool:
        """Whether `docker run --rm` reports the container's exit status. Where it does not,
        dhitui runs sidecars without `--rm` and removes them itself when the session ends."""
        return not self.is_podman or version_tuple(self.version) >= PODMAN_RM_EXIT_STATUS

    @property
    def image_subpath(self) -> bool:
        """Whether an image mount can take a subpath of the image."""
        if self.is_podman:
            return version_tuple(self.version) >= PODMAN_IMAGE_SUBPATH
        return self.image_mounts

    def _subpath(self, subpath: str | None) -> str | None:
        if subpath is None:
            return None
        if not self.image_subpath:
            raise ValueError(f"{self.display} cannot mount a subpath of an image")
        rel = posixpath.normpath("/" + subpath).lstrip("/")
        if not rel:
            return None
        return "/" + rel if self.is_podman else rel

    def image_mount_cli(self, source: str, target: str, subpath: str | None = None) -> str:
        """The value of the docker CLI's `--mount` for a read-only image mount."""
        spec = f"type=image,source={source},destination={target}"
        sub = self._subpath(subpath)
        if sub is not None:
            spec += f",image-subpath={sub}"
        # Docker's image mounts are always read-only; `ro` says so in the command too.
        # Podman's are read-only by default and its parser rejects `ro`.
        return spec if self.is_podman else spec + ",ro"

    def image_mount_api(self, source: str, target: str,
                        subpath: str | None = None) -> dict[str, Any]:
        """A `HostConfig.Mounts[]` entry for a read-only image mount (Engine API)."""
        mount: dict[str, Any] = {"Type": "image", "Source": source, "Target": target}
        sub = self._subpath(subpath)
        if sub is not None:
            mount["ImageOptions"] = {"Subpath": sub}
        if not self.is_podman:
            mount["ReadOnly"] = True
        return mount


def identify(version: Mapping[str, Any]) -> EngineIdentity:
    """The engine's identity from its `/version` answer."""
    return EngineIdentity(
        product=_product(version),
        version=str(version.get("Version", "unknown")),
        api_version=str(version.get("ApiVersion", "0")),
    )
