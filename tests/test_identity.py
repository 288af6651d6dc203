"""Engine identity from `/version` answers, and how image mounts are judged and spelled.

The `/version` answers here are trimmed copies of what the test engines return (the engine
tests check the same judgements against the real engines: test_info, test_sessions_engine).
"""

from __future__ import annotations

import pytest

from dhitui.engine.identity import EngineIdentity, identify, version_tuple

PODMAN_431 = {"Components": [{"Name": "Podman Engine", "Version": "4.3.1"},
                             {"Name": "Conmon", "Version": "conmon version 2.1.6"}],
              "Version": "4.3.1", "ApiVersion": "1.41"}
DOCKER_28 = {"Components": [{"Name": "Engine", "Version": "28.5.2+dfsg4"},
                            {"Name": "containerd", "Version": "1.7"}],
             "Version": "28.5.2+dfsg4", "ApiVersion": "1.51"}
DOCKER_20 = {"Components": [{"Name": "Engine", "Version": "20.10.24+dfsg1"}],
             "Version": "20.10.24+dfsg1", "ApiVersion": "1.41"}


def test_identify_podman_and_docker() -> None:
    assert identify(PODMAN_431) == EngineIdentity("podman", "4.3.1", "1.41")
    assert identify(PODMAN_431).display == "Podman 4.3.1"
    assert identify(DOCKER_28).name == "Docker Engine"
    assert identify({}).product == "docker"


def test_image_mounts_judged_from_what_the_engine_is() -> None:
    assert identify(PODMAN_431).image_mounts  # API 1.41, but Podman >= 2.2
    assert not EngineIdentity("podman", "2.1.1", "1.40").image_mounts
    assert identify(DOCKER_28).image_mounts
    assert not identify(DOCKER_20).image_mounts
    assert "needs Docker Engine 28+ (API 1.48)" in identify(DOCKER_20).image_mounts_why
    assert "needs Podman 2.2+" in EngineIdentity("podman", "2.1.1", "1.40").image_mounts_why


def test_image_mount_spelling_per_engine() -> None:
    assert identify(DOCKER_28).image_mount_cli("busybox", "/dbg") == \
        "type=image,source=busybox,destination=/dbg,ro"
    # Podman's parser rejects `ro` (its image mounts are read-only anyway).
    assert identify(PODMAN_431).image_mount_cli("busybox", "/dbg") == \
        "type=image,source=busybox,destination=/dbg"
    assert identify(DOCKER_28).image_mount_api("busybox", "/dbg", "bin") == {
        "Type": "image", "Source": "busybox", "Target": "/dbg", "ReadOnly": True,
        "ImageOptions": {"Subpath": "bin"}}
    # Podman 5.1+ takes an absolute subpath; 4.x none at all.
    podman51 = EngineIdentity("podman", "5.1.0", "1.41")
    assert podman51.image_mount_cli("busybox", "/dbg", "usr/bin") == \
        "type=image,source=busybox,destination=/dbg,image-subpath=/usr/bin"
    assert podman51.image_mount_api("busybox", "/dbg", "/bin")["ImageOptions"] == \
        {"Subpath": "/bin"}
    with pytest.raises(ValueError, match="subpath"):
        identify(PODMAN_431).image_mount_cli("busybox", "/dbg", "bin")


@pytest.mark.parametrize(("text", "want"), [
    ("4.3.1", (4, 3, 1)), ("28.5.2+dfsg4", (28, 5, 2)), ("5.1.0-rc1", (5, 1, 0)),
    ("1.41", (1, 41)), ("unknown", (0,)),
])
def test_version_tuple(text: str, want: tuple[int, ...]) -> None:
    assert version_tuple(text) == want
