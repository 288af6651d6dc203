"""The pure judgement of detection: references, sources, variants, verdicts, users."""

from __future__ import annotations

import pytest

from dhitui.detect import rules
from dhitui.models import UserSpec, resolve_user


@pytest.mark.parametrize("ref,registry,repo,tag", [
    ("busybox", "docker.io", "library/busybox", None),
    ("busybox:1.36", "docker.io", "library/busybox", "1.36"),
    ("me/app:v1", "docker.io", "me/app", "v1"),
    ("dhi.io/python:3.13-dev", "dhi.io", "python", "3.13-dev"),
    ("localhost:5000/x/y:z", "localhost:5000", "x/y", "z"),
    ("cgr.dev/chainguard/static@sha256:abc", "cgr.dev", "chainguard/static", None),
])
def test_parse_reference(ref: str, registry: str, repo: str, tag: str | None) -> None:
    r = rules.parse_reference(ref)
    assert (r.registry, r.repository, r.tag) == (registry, repo, tag)


@pytest.mark.parametrize("ref,source", [
    ("dhi.io/python:3.13", "dhi"),
    ("cgr.dev/chainguard/static:latest", "chainguard"),
    ("gcr.io/distroless/static-debian12:nonroot", "distroless"),
    ("myorg/dhi-python:3.13", "dhi"),  # the DHI docs' mirrored naming
    ("gcr.io/other/thing:1", "other"),
    ("python:3.13", "other"),
])
def test_source_from_reference(ref: str, source: str) -> None:
    got, evidence = rules.image_source([ref], {})
    assert got == source
    assert bool(evidence) == (source != "other")


def test_source_from_labels_and_ids_ignored() -> None:
    got, evidence = rules.image_source(["sha256:0123"], {"com.docker.dhi.variant": "runtime"})
    assert got == "dhi" and any("com.docker.dhi.variant" in e for e in evidence)
    got, _ = rules.image_source(["x:1"], {"org.opencontainers.image.vendor": "Chainguard, Inc."})
    assert got == "chainguard"


@pytest.mark.parametrize("tag,labels,source,expected", [
    ("3.13", {}, "dhi", "runtime"),
    ("3.13-dev", {}, "dhi", "dev"),
    ("3.13-fips", {}, "dhi", "fips"),
    ("3.13-dev-fips", {}, "dhi", "dev-fips"),
    ("3.13-fips-dev", {}, "dhi", "dev-fips"),
    ("3.13", {"com.docker.dhi.variant": "dev"}, "dhi", "dev"),
    ("3.13", {"com.docker.dhi.compliance": "fips,stig"}, "dhi", "fips"),
    ("latest", {}, "other", None),
    ("debug", {}, "distroless", "dev"),
    ("devel", {}, "other", None),  # a token, not a substring
])
def test_variant(tag: str, labels: dict[str, str], source: str, expected: str | None) -> None:
    got, evidence = rules.variant(tag, labels, source)  # type: ignore[arg-type]
    assert got == expected
    if expected in ("dev", "fips", "dev-fips"):
        assert evidence


def _verdict(shell: str | None, user: UserSpec, source: str = "other",
             probed: bool = True) -> str:
    v, _ = rules.verdict(shell=shell, shell_evidence=[], package_manager=None, user=user,
                         source=source, probed=probed)  # type: ignore[arg-type]
    return v


NONROOT = UserSpec(raw="65532", source="image", name="nonroot", uid=65532, gid=65532)
ROOT = UserSpec(raw="", source="default", name="root", uid=0, gid=0)


def test_verdicts() -> None:
    assert _verdict(None, NONROOT) == "hardened"
    assert _verdict(None, ROOT) == "shell-less"
    assert _verdict(None, ROOT, source="dhi") == "hardened"
    assert _verdict("/bin/sh", NONROOT, source="dhi") == "standard"
    assert _verdict(None, NONROOT, probed=False) == "unknown"
    named = UserSpec(raw="app", source="image", name="app")
    assert _verdict(None, named) == "hardened"


def test_verdict_evidence_names_the_user_and_its_origin() -> None:
    _, ev = rules.verdict(shell=None, shell_evidence=["no shell"], package_manager=None,
                          user=NONROOT, source="other", probed=True)
    assert ev[0] == "no shell"
    assert "user 65532 (nonroot), from the image's USER" in ev


@pytest.mark.parametrize("raw,passwd,uid,gid,name", [
    ("", None, 0, 0, "root"),
    ("65532", {"nonroot": (65532, 65532)}, 65532, 65532, "nonroot"),
    ("65532", {}, 65532, 0, None),  # not in passwd: runc runs it with gid 0
    ("65532", None, 65532, None, None),  # passwd not read: gid unknown
    ("nonroot", {"nonroot": (65532, 65533)}, 65532, 65533, "nonroot"),
    ("nonroot", None, None, None, "nonroot"),
    ("1000:50", {}, 1000, 50, None),
    ("app:staff", {"app": (1000, 1000)}, 1000, None, "app"),
])
def test_resolve_user(raw: str, passwd: dict[str, tuple[int, int]] | None, uid: int | None,
                      gid: int | None, name: str | None) -> None:
    u = resolve_user(raw, "image", passwd, {} if passwd is not None else None)
    assert (u.uid, u.gid, u.name) == (uid, gid, name)


def test_resolve_user_group_names() -> None:
    u = resolve_user("app:staff", "container", {"app": (1000, 1000)}, {"staff": 50})
    assert (u.uid, u.gid) == (1000, 50)
    assert u.display == "1000 (app)"
