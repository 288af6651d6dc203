"""The judgement part of detection: pure functions from facts to source, variant and verdict.

Inputs are what the engine told us (image references, labels, user) and what the file probes
found (shell, package manager). Every conclusion carries the evidence it rests on, as short
human-readable strings. Labels are evidence, never the only signal: a label that says
"runtime, no shell" does not make a container shell-less — the probe decides that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dhitui.models import ImageSource, UserSpec, Variant, Verdict

DHI_LABEL_PREFIX = "com.docker.dhi."
NONROOT_UID = 65532  # DHI, distroless and Chainguard all use it for "nonroot"


@dataclass(frozen=True)
class ImageRef:
    registry: str  # docker.io for Docker Hub
    repository: str  # path without registry, e.g. library/python, chainguard/static
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return self.repository.rsplit("/", 1)[-1]


def parse_reference(ref: str) -> ImageRef:
    """Split an image reference the way Docker does (registry if the first component has a
    dot or colon or is localhost; Docker Hub otherwise)."""
    ref = ref.strip()
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = "docker.io", ref
        if "/" not in repository:
            repository = f"library/{repository}"
    return ImageRef(registry.lower(), repository, tag, digest)


def image_source(refs: Iterable[str], labels: Mapping[str, str]) -> tuple[ImageSource, list[str]]:
    """Where an image comes from, judged from its references (as typed, tags, digests) and
    labels. References beat labels when they disagree only in strength of evidence; both are
    listed."""
    evidence: list[str] = []
    found: ImageSource | None = None
    for raw in refs:
        if not raw or raw.startswith("sha256:"):
            continue
        ref = parse_reference(raw)
        if ref.registry == "dhi.io":
            found = found or "dhi"
            evidence.append(f"registry dhi.io ({raw})")
        elif ref.registry == "cgr.dev":
            found = found or "chainguard"
            evidence.append(f"registry cgr.dev ({raw})")
        elif ref.registry == "gcr.io" and ref.repository.startswith("distroless/"):
            found = found or "distroless"
            evidence.append(f"repository gcr.io/distroless ({raw})")
        elif ref.name.startswith("dhi-"):
            # The DHI docs' naming for mirrored repositories: <namespace>/dhi-<repository>.
            found = found or "dhi"
            evidence.append(f"mirrored DHI repository name {ref.name!r}")
        if found:
            break
    dhi_labels = sorted(k for k in labels if k.startswith(DHI_LABEL_PREFIX))
    if dhi_labels:
        found = found or "dhi"
        evidence.append(f"labels {', '.join(dhi_labels[:3])}{'…' if len(dhi_labels) > 3 else ''}")
    vendor = " ".join(
        labels.get(k, "") for k in ("org.opencontainers.image.vendor",
                                    "org.opencontainers.image.authors")
    ).lower()
    if "chainguard" in vendor:
        found = found or "chainguard"
        evidence.append("label org.opencontainers.image.vendor/authors names Chainguard")
    return (found or "other"), evidence


# Where an image's contents name its origin (read only when its names and labels do not).
OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")
DPKG_STATUS_D = "/var/lib/dpkg/status.d"  # distroless: one record per package
DPKG_STATUS = "/var/lib/dpkg/status"  # Debian proper: one file for all
APK_DB = "/lib/apk/db/installed"  # Alpine and Wolfi


@dataclass(frozen=True)
class ContentMarkers:
    """What an image's files say about where it comes from."""

    os_release_path: str | None  # the os-release file read (None: none found)
    os_release: Mapping[str, str]
    dpkg_status_d: bool
    dpkg_status: bool
    apk_db: bool


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines of os-release(5), quotes removed."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key or key.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def content_source(markers: ContentMarkers) -> tuple[ImageSource | None, list[str]]:
    """The origin an image's own files name, with the file that says so: distroless'
    os-release (`PRETTY_NAME="Distroless"`) or its per-package dpkg records in
    `/var/lib/dpkg/status.d/` with no `status` file; Wolfi's (Chainguard's OS) `ID=wolfi`."""
    rel = markers.os_release
    where = markers.os_release_path or "/etc/os-release"
    if rel.get("PRETTY_NAME", "").strip().lower() == "distroless":
        return "distroless", [f"contents: {where} says PRETTY_NAME=\"{rel['PRETTY_NAME']}\""]
    if rel.get("ID", "").strip().lower() == "wolfi":
        ev = [f"contents: {where} says ID={rel['ID']} (Wolfi, Chainguard's OS)"]
        if markers.apk_db:
            ev.append(f"contents: apk database {APK_DB}")
        return "chainguard", ev
    if markers.dpkg_status_d and not markers.dpkg_status:
        return "distroless", [f"contents: {DPKG_STATUS_D}/ holds per-package records and there "
                              f"is no {DPKG_STATUS} (distroless' layout)"]
    return None, []


_TOKEN_SPLIT = re.compile(r"[-_.]")


def variant(
    tag: str | None, labels: Mapping[str, str], source: ImageSource
) -> tuple[Variant | None, list[str]]:
    """runtime / dev / fips / dev-fips, from the tag's tokens and the DHI labels."""
    evidence: list[str] = []
    tokens = set(_TOKEN_SPLIT.split(tag.lower())) if tag else set()
    dev = False
    fips = False
    if "dev" in tokens:
        dev = True
        evidence.append("tag suffix -dev")
    if "debug" in tokens and source == "distroless":
        dev = True
        evidence.append("distroless :debug tag (includes busybox)")
    if "fips" in tokens:
        fips = True
        evidence.append("tag suffix -fips")
    label_variant = labels.get("com.docker.dhi.variant", "").strip().lower()
    if label_variant:
        evidence.append(f"label com.docker.dhi.variant={label_variant}")
        dev = dev or label_variant == "dev"
    compliance = labels.get("com.docker.dhi.compliance", "").lower()
    if "fips" in {c.strip() for c in compliance.split(",")}:
        fips = True
        evidence.append(f"label com.docker.dhi.compliance={compliance}")
    if dev and fips:
        return "dev-fips", evidence
    if dev:
        return "dev", evidence
    if fips:
        return "fips", evidence
    if label_variant == "runtime" or source in ("dhi", "chainguard", "distroless"):
        return "runtime", evidence
    return None, evidence


def verdict(
    *,
    shell: str | None,
    shell_evidence: list[str],
    package_manager: str | None,
    user: UserSpec,
    source: ImageSource,
    probed: bool,
) -> tuple[Verdict, list[str]]:
    """hardened: no shell and (nonroot, or a known hardened source); shell-less: no shell but
    root and of unknown provenance; standard: a shell is there; unknown: probes failed."""
    ev: list[str] = list(shell_evidence)
    if not probed:
        return "unknown", ev
    ev.append(f"package manager {package_manager}" if package_manager else "no package manager")
    root = user.is_root
    if root is None and user.name and user.name != "root":
        root = False  # a named user other than root, whose uid the image does not tell us
    how = {
        "image": "from the image's USER",
        "container": "set on the container (--user)",
        "default": "no USER set, so root",
    }[user.source]
    ev.append(f"user {user.display}, {how}")
    if shell is not None:
        return "standard", ev
    if root is False:
        if user.uid == NONROOT_UID:
            ev.append(f"uid {NONROOT_UID} is the conventional hardened 'nonroot' user")
        return "hardened", ev
    if source in ("dhi", "chainguard", "distroless"):
        ev.append(f"known hardened source: {source}")
        return "hardened", ev
    return "shell-less", ev
