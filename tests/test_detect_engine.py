"""Detection against the real engines: every fixture classified with its evidence, the probe
cost growing with images (counted at the HTTP transport), and containers that vanish."""

from __future__ import annotations

import io
import subprocess
import tarfile
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dhitui.detect import Classifier
from dhitui.detect.image_facts import SHELLS
from dhitui.detect.listing import summary_from_api
from dhitui.engine.client import Engine
from dhitui.errors import NotFound
from dhitui.models import Classification, ContainerSummary

from conftest import (
    CHAINGUARD_IMAGE,
    DEV_IMAGE,
    DISTROLESS_IMAGE,
    FIPS_IMAGE,
    HARDENED_IMAGE,
    MIRRORED_DISTROLESS_IMAGE,
    PYTHON_DEV_IMAGE,
    PYTHON_IMAGE,
    STANDARD_IMAGE,
    TOOLBOX_IMAGE,
    EngineUnderTest,
    docker,
    docker_cli_path,
    import_rootfs,
    run_dhitui,
    run_json,
)

pytestmark = pytest.mark.engine


def count_requests(engine: Engine) -> Counter[tuple[str, str]]:
    """Count the HTTP requests the engine client sends, by (method, path kind)."""
    counts: Counter[tuple[str, str]] = Counter()
    session_send = engine.api.send

    def send(request: Any, **kwargs: Any) -> Any:
        path = request.path_url.split("?")[0]
        parts = path.split("/")
        # /v1.41/containers/<id>/archive -> containers/*/archive
        kind = "/".join("*" if len(p) >= 32 else p for p in parts[2:])
        counts[(request.method, kind)] += 1
        counts[(request.method, "target:" + "/".join(parts[2:4]))] += 1
        return session_send(request, **kwargs)

    engine.api.send = send  # type: ignore[method-assign]
    return counts


def classify(api: Engine, cid: str) -> Classification:
    return Classifier(api).classify(cid)


EXPECTED = {
    # image: (verdict, shell, package manager, variant, source, uid, entrypoint)
    HARDENED_IMAGE: ("hardened", None, None, "runtime", "dhi", 65532, "/app/app"),
    FIPS_IMAGE: ("hardened", None, None, "fips", "dhi", 65532, "/app/app"),
    DEV_IMAGE: ("standard", "/bin/sh", "apt", "dev", "dhi", 0, "/app/app"),
    DISTROLESS_IMAGE: ("hardened", None, None, "runtime", "distroless", 65532, "/app/app"),
    CHAINGUARD_IMAGE: ("hardened", None, None, "runtime", "chainguard", 65532, "/app/app"),
    STANDARD_IMAGE: ("standard", "/bin/sh", None, None, "other", 0, None),
    # From Debian packages:
    PYTHON_IMAGE: ("hardened", None, None, None, "other", 65532, "/usr/bin/python3"),
    PYTHON_DEV_IMAGE: ("standard", "/bin/bash", "apt", "dev", "other", 0, "/usr/bin/python3"),
    MIRRORED_DISTROLESS_IMAGE: ("hardened", None, None, "runtime", "distroless", 65532,
                                "/app/app"),
}


@pytest.mark.parametrize("image", list(EXPECTED))
def test_fixture_classified(engine: EngineUnderTest, api: Engine,
                            containers: Callable[..., str], image: str) -> None:
    cid = containers(engine, image)
    c = classify(api, cid)
    verdict, shell, pm, variant, source, uid, entrypoint = EXPECTED[image]
    assert (c.verdict, c.shell, c.package_manager, c.variant, c.source, c.user.uid) == (
        verdict, shell, pm, variant, source, uid), c.evidence
    assert c.state == "running"
    assert c.entrypoint == ((entrypoint,) if entrypoint else ())
    evidence = " | ".join(c.evidence)
    if shell is None:
        assert "no shell" in evidence
        assert c.user.display == "65532 (nonroot)"  # named from the image's /etc/passwd
    else:
        assert f"shell {shell}" in evidence
    if variant == "fips":
        assert "tag suffix -fips" in evidence and "com.docker.dhi.compliance" in evidence
    if variant == "dev":
        assert "tag suffix -dev" in evidence and "package manager apt" in evidence
    if source == "dhi":
        assert "registry dhi.io" in evidence
    if image == MIRRORED_DISTROLESS_IMAGE:
        assert 'contents: /etc/os-release says PRETTY_NAME="Distroless"' in evidence


def test_container_user_overrides_image_user(engine: EngineUnderTest, api: Engine,
                                             containers: Callable[..., str]) -> None:
    cid = containers(engine, STANDARD_IMAGE, "--user", "1234:5678")
    c = classify(api, cid)
    assert (c.user.uid, c.user.gid, c.user.source) == (1234, 5678, "container")
    assert any("set on the container (--user)" in e for e in c.evidence)
    cid = containers(engine, HARDENED_IMAGE, "--user", "0")
    c = classify(api, cid)
    assert c.user.is_root and c.user.source == "container"
    assert c.verdict == "hardened" and "known hardened source: dhi" in c.evidence


def test_created_and_exited_containers_are_classified(engine: EngineUnderTest, api: Engine,
                                                      containers: Callable[..., str]) -> None:
    created = containers(engine, HARDENED_IMAGE, start=False)
    exited = containers(engine, STANDARD_IMAGE)
    docker(engine, "stop", "-t", "5", exited)
    assert classify(api, created).verdict == "hardened"
    c = classify(api, exited)
    assert (c.state, c.shell) == ("exited", "/bin/sh")


def build_image(engine: EngineUnderTest, entries: dict[str, str | bytes | None],
                *changes: str) -> str:
    return import_rootfs(engine, entries, *changes, prefix="dhitui-test/probe")


@pytest.fixture
def app_binary(engine: EngineUnderTest) -> bytes:
    """The static fixture app, copied out of the hardened image (`docker cp` streams a tar)."""
    cid = docker(engine, "create", HARDENED_IMAGE).stdout.strip()
    try:
        raw = subprocess.run([docker_cli_path(), "-H", engine.host, "cp", f"{cid}:/app/app", "-"],
                             capture_output=True, timeout=60, check=True).stdout
    finally:
        docker(engine, "rm", "-f", cid, check=False)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        member = tar.extractfile("app")
        assert member is not None
        return member.read()


def test_symlinked_shell_is_followed(engine: EngineUnderTest, api: Engine, app_binary: bytes,
                                     containers: Callable[..., str]) -> None:
    """Merged /usr (/bin -> usr/bin) with sh -> busybox, as in Debian-based images."""
    busybox = Path("/bin/busybox").read_bytes()
    image = build_image(engine, {
        "usr": None, "usr/bin": None, "usr/bin/busybox": busybox, "usr/bin/sh": "busybox",
        "bin": "usr/bin", "app": None, "app/app": app_binary,
    }, 'ENTRYPOINT ["/app/app"]')
    try:
        c = classify(api, containers(engine, image))
        assert c.shell == "/bin/sh"
        assert any(e.startswith("shell /bin/sh -> /usr/bin/busybox") for e in c.evidence)
    finally:
        docker(engine, "rmi", "-f", image, check=False)


def test_dangling_shell_symlink_is_not_a_shell(engine: EngineUnderTest, api: Engine,
                                               app_binary: bytes,
                                               containers: Callable[..., str]) -> None:
    image = build_image(engine, {
        "bin": None, "bin/sh": "/bin/busybox", "app": None, "app/app": app_binary,
    }, 'ENTRYPOINT ["/app/app"]', "USER 1000")
    try:
        c = classify(api, containers(engine, image))
        assert c.shell is None and c.verdict == "hardened"
        assert "/bin/sh -> /bin/busybox (target missing)" in c.evidence
        assert c.user.uid == 1000 and c.user.gid == 0  # no /etc/passwd: runc's gid 0
    finally:
        docker(engine, "rmi", "-f", image, check=False)


DISTROLESS_OS_RELEASE = (b'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\n'
                         b'VERSION_ID="12"\nHOME_URL="https://github.com/GoogleContainerTools/'
                         b'distroless"\n')
MIRRORED = {
    # what its files hold -> (source, a line of evidence)
    "distroless os-release": (
        {"etc": None, "etc/os-release": DISTROLESS_OS_RELEASE},
        "distroless", 'contents: /etc/os-release says PRETTY_NAME="Distroless"'),
    "distroless dpkg records only": (
        {"var": None, "var/lib": None, "var/lib/dpkg": None, "var/lib/dpkg/status.d": None,
         "var/lib/dpkg/status.d/libc6": b"Package: libc6\n"},
        "distroless", "contents: /var/lib/dpkg/status.d/ holds per-package records and there "
        "is no /var/lib/dpkg/status (distroless' layout)"),
    "wolfi": (
        {"etc": None, "etc/os-release": b"ID=wolfi\nNAME=\"Wolfi\"\nPRETTY_NAME=\"Wolfi\"\n",
         "lib": None, "lib/apk": None, "lib/apk/db": None, "lib/apk/db/installed": b"P:glibc\n"},
        "chainguard", "contents: /etc/os-release says ID=wolfi (Wolfi, Chainguard's OS)"),
    "debian (os-release a relative link, dpkg status file)": (
        {"usr": None, "usr/lib": None, "usr/lib/os-release": b'PRETTY_NAME="Debian GNU/Linux '
         b'12 (bookworm)"\nID=debian\n', "etc": None, "etc/os-release": "../usr/lib/os-release",
         "var": None, "var/lib": None, "var/lib/dpkg": None, "var/lib/dpkg/status.d": None,
         "var/lib/dpkg/status": b"Package: libc6\n"},
        "other", None),
}


@pytest.mark.parametrize("contents", list(MIRRORED))
def test_mirrored_image_is_known_by_its_contents(engine: EngineUnderTest, api: Engine,
                                                 app_binary: bytes,
                                                 containers: Callable[..., str],
                                                 contents: str) -> None:
    """Under a name and labels that say nothing (a mirror's), the files tell the origin; a
    root, shell-less image of a known hardened origin is then hardened, not shell-less."""
    files, source, evidence = MIRRORED[contents]
    image = build_image(engine, {**files, "app": None, "app/app": app_binary},
                        'ENTRYPOINT ["/app/app"]')
    try:
        c = classify(api, containers(engine, image))
        assert c.source == source, c.evidence
        assert c.shell is None and c.user.is_root
        if evidence is None:
            assert c.verdict == "shell-less"
            assert not any(e.startswith("contents:") for e in c.evidence)
        else:
            assert evidence in c.evidence
            assert c.verdict == "hardened" and f"known hardened source: {source}" in c.evidence
    finally:
        docker(engine, "rmi", "-f", image, check=False)


def test_named_images_are_not_opened(engine: EngineUnderTest, api: Engine,
                                     containers: Callable[..., str]) -> None:
    """An image whose name already says where it comes from costs no content reads."""
    cid = containers(engine, DISTROLESS_IMAGE)
    counts = count_requests(api)
    c = classify(api, cid)
    assert c.source == "distroless"
    assert not any(e.startswith("contents:") for e in c.evidence)
    gets = sum(n for (m, kind), n in counts.items() if m == "GET" and kind.endswith("archive"))
    assert gets == 2  # /etc/passwd and /etc/group


def test_probe_cost_grows_with_images_not_containers(
    engine: EngineUnderTest, api: Engine, containers: Callable[..., str]
) -> None:
    """50 containers of 2 images: file probes for 2 images, one inspect per container."""
    ids = [containers(engine, HARDENED_IMAGE if i % 2 else STANDARD_IMAGE, start=False)
           for i in range(50)]
    counts = count_requests(api)
    classifier = Classifier(api)
    results = list(classifier.classify_many(ids))
    assert len(results) == 50
    assert Counter(r.verdict for r in results) == {"hardened": 25, "standard": 25}
    heads = sum(n for (m, kind), n in counts.items() if m == "HEAD" and kind.endswith("archive"))
    # Every path stat went through one container per image.
    targets = {kind for (m, kind) in counts if m == "HEAD" and kind.startswith("target:")}
    assert len(targets) == 2
    per_image_max = len(SHELLS) + 10 + 4  # shells, package managers, link targets, sentinel
    assert heads <= 2 * per_image_max
    assert counts[("GET", "containers/*/json")] == 50
    assert counts[("GET", "images/*/json")] == 2
    assert classifier.facts.path_stats == heads
    assert len(classifier.facts.cached_images()) == 2
    # A second pass costs no file probes at all.
    before = heads
    list(classifier.classify_many(ids[:10]))
    after = sum(n for (m, kind), n in counts.items() if m == "HEAD" and kind.endswith("archive"))
    assert after == before


def listed(api: Engine, ids: list[str]) -> list[ContainerSummary]:
    """The list rows of these containers (stopped ones included), as the TUI gets them."""
    wanted = set(ids)
    rows = [summary_from_api(c) for c in api.list_containers(all=True)]
    return [s for s in rows if s.id in wanted]


def test_classifying_the_list_costs_requests_per_image(
    engine: EngineUnderTest, api: Engine, containers: Callable[..., str]
) -> None:
    """50 list rows of 2 images: no container is inspected. Their verdicts do not depend on
    who they run as (no shell and a hardened source; a shell), and their commands are the
    images' (the list's `Command` formatted as the engine does: checked here for real).
    Podman's compat list shows only the cmd in `Command`, so where the image has an
    entrypoint an override cannot be ruled out from the list: those are inspected there."""
    ids = [containers(engine, HARDENED_IMAGE if i % 2 else STANDARD_IMAGE, start=False)
           for i in range(50)]
    rows = listed(api, ids)
    assert len(rows) == 50
    counts = count_requests(api)
    results = list(Classifier(api).classify_many(rows))
    assert Counter(r.verdict for r in results) == {"hardened": 25, "standard": 25}
    # On Podman the hardened image's containers (it has an entrypoint) are inspected.
    inspected = {r.container_id for r in results if r.inspected}
    assert counts[("GET", "containers/*/json")] == len(inspected)
    assert inspected == ({r.container_id for r in results if r.verdict == "hardened"}
                         if engine.podman else set())
    assert counts[("GET", "images/*/json")] == 2
    total = sum(n for (m, kind), n in counts.items()
                if not kind.startswith("target:") and kind != "containers/*/json")
    per_image_max = 1 + len(SHELLS) + 10 + 4 + 2  # image, stats, sentinel, passwd and group
    assert total <= 2 * per_image_max
    # The same containers by ID are inspected: they agree on everything but that flag.
    by_id = {c.container_id: c for c in Classifier(api).classify_many(ids)}
    for r in results:
        i = by_id[r.container_id]
        assert (r.verdict, r.user, r.shell, r.source, r.variant, r.entrypoint, r.cmd,
                r.image, r.name, r.state) == (
            i.verdict, i.user, i.shell, i.source, i.variant, i.entrypoint, i.cmd,
            i.image, i.name, i.state)


def _facts(classifier: Classifier, image_id: str) -> Any:
    return classifier.facts._facts[image_id].result()


def test_an_image_probe_spreads_over_its_running_containers_and_agrees(
    engine: EngineUnderTest, api: Engine, containers: Callable[..., str]
) -> None:
    """Three running containers each of a shell-less image and of one with a shell: each
    image's path stats go through several of its containers side by side, and what they
    find is what one container alone finds."""
    hardened = [containers(engine, HARDENED_IMAGE) for _ in range(3)]
    standard = [containers(engine, STANDARD_IMAGE) for _ in range(3)]
    rows = listed(api, hardened + standard)
    counts = count_requests(api)
    spread = Classifier(api)
    got = {c.container_id: c for c in spread.classify_many(rows)}
    assert {got[c].verdict for c in hardened} == {"hardened"}
    assert {got[c].shell for c in standard} == {"/bin/sh"}
    stats_through = {kind[len("target:"):].split("/")[1] for (m, kind) in counts
                     if m == "HEAD" and kind.startswith("target:")}
    assert len(stats_through & set(hardened)) == 3 and len(stats_through & set(standard)) == 3
    alone = Classifier(api)  # by ID: no list rows, one container per image
    for cid in (hardened[0], standard[0]):
        one = alone.classify(cid)
        image_id = one.image_id
        assert _facts(spread, image_id) == _facts(alone, image_id)
        assert (got[cid].verdict, got[cid].shell, got[cid].package_manager, got[cid].user,
                got[cid].source) == (one.verdict, one.shell, one.package_manager, one.user,
                                     one.source)


def test_a_gone_container_of_the_image_is_not_believed(
    engine: EngineUnderTest, api: Engine, containers: Callable[..., str]
) -> None:
    """A list row whose container is gone by the time its image is probed: the stats sent
    through it answer "missing", and its shell (/bin/bash, the second candidate, is asked
    through the first other container) must not be lost for it. The image is probed again
    through the row's own container."""
    live, gone, other = (containers(engine, PYTHON_DEV_IMAGE) for _ in range(3))
    rows = {s.id: s for s in listed(api, [live, gone, other])}
    docker(engine, "rm", "-f", gone)
    counts = count_requests(api)
    classifier = Classifier(api, concurrency=1)  # `live` first: it probes, `gone` helps
    got = {c.container_id: c for c in classifier.classify_many(
        [rows[live], rows[gone], rows[other]])}
    assert counts[("HEAD", f"target:containers/{gone}")] > 0  # it was asked, and failed
    assert got[live].shell == got[other].shell == "/bin/bash"
    assert got[live].verdict == "standard"


def test_containers_whose_own_settings_matter_are_inspected(
    engine: EngineUnderTest, api: Engine, containers: Callable[..., str]
) -> None:
    """--user and --entrypoint overrides, classified from the list: each verdict and user
    is right, and a container is inspected where its settings could change either."""
    root_python = containers(engine, PYTHON_IMAGE, "--user", "0", start=False)
    plain_python = containers(engine, PYTHON_IMAGE, start=False)
    entry = containers(engine, HARDENED_IMAGE, "--entrypoint", "/app/app", start=False,
                       command=["--flag", "two words"])
    root_dhi = containers(engine, HARDENED_IMAGE, "--user", "0", start=False)
    other_user = containers(engine, STANDARD_IMAGE, "--user", "1234:5678", start=False)
    rows = listed(api, [root_python, plain_python, entry, root_dhi, other_user])
    counts = count_requests(api)
    got = {c.container_id: c for c in Classifier(api).classify_many(rows)}
    # No shell, no hardened source: root makes it shell-less, so both are inspected.
    assert (got[root_python].verdict, got[root_python].user.is_root) == ("shell-less", True)
    assert got[root_python].inspected and got[root_python].user.source == "container"
    assert (got[plain_python].verdict, got[plain_python].user.uid) == ("hardened", 65532)
    assert got[plain_python].inspected
    # Its command is not the image's: inspected, and the overrides shown.
    assert got[entry].inspected
    assert (got[entry].entrypoint, got[entry].cmd) == (("/app/app",), ("--flag", "two words"))
    # The verdict holds whoever they run as: not inspected, and marked so (on Podman the one
    # whose image has an entrypoint is: its list's `Command` leaves the entrypoint out).
    assert got[root_dhi].verdict == "hardened" and got[root_dhi].inspected == engine.podman
    assert got[other_user].verdict == "standard" and not got[other_user].inspected
    assert counts[("GET", "containers/*/json")] == (4 if engine.podman else 3)
    # Inspected (as the TUI does when the row is selected), the real user shows.
    assert Classifier(api).classify(root_dhi).user.is_root
    assert Classifier(api).classify(other_user).user.uid == 1234


def test_container_removed_mid_probe_is_not_misclassified(
    engine: EngineUnderTest, api: Engine, containers: Callable[..., str]
) -> None:
    """The container is really removed after the first path stat: the "missing" answers that
    follow must not turn into a "no shell" verdict."""
    cid = containers(engine, STANDARD_IMAGE, start=False)
    original = api.stat_path
    calls = {"n": 0}

    def stat_path(container: str, path: str) -> dict[str, Any] | None:
        calls["n"] += 1
        if calls["n"] == 2:
            docker(engine, "rm", "-f", container)
        return original(container, path)

    api.stat_path = stat_path  # type: ignore[method-assign]
    classifier = Classifier(api)
    with pytest.raises(NotFound):
        classifier.classify(cid)
    assert classifier.facts.cached_images() == set()  # nothing wrong was cached
    gone: list[str] = []
    assert list(classifier.classify_many([cid], on_gone=gone.append)) == []
    assert gone == [cid]


def test_unknown_container(api: Engine) -> None:
    with pytest.raises(NotFound):
        Classifier(api).classify("no-such-container-" + uuid.uuid4().hex)


# ------------------------------------------------------------------ dhitui ls


LS_KEYS = {"id", "name", "image", "state", "user", "shell", "package_manager", "source",
           "variant", "verdict", "evidence", "entrypoint", "cmd"}


def test_ls_json(engine: EngineUnderTest, containers: Callable[..., str]) -> None:
    running = containers(engine, HARDENED_IMAGE)
    stopped = containers(engine, DEV_IMAGE, start=False)
    code, data = run_json("ls", "--json", "-H", engine.host)
    assert code == 0 and isinstance(data, list)
    by_id = {row["id"]: row for row in data}
    assert running in by_id and stopped not in by_id
    row = by_id[running]
    assert row.keys() >= LS_KEYS
    assert (row["verdict"], row["shell"], row["source"], row["user"]["uid"]) == (
        "hardened", None, "dhi", 65532)
    code, data = run_json("ls", "--json", "--all", "-H", engine.host)
    assert code == 0 and isinstance(data, list)
    assert {running, stopped} <= {row["id"] for row in data}
    assert {row["id"]: row for row in data}[stopped]["shell"] == "/bin/sh"
    # A --user override the list cannot show: the verdict holds, the user is the image's
    # and says so; --inspect reads the container's own.
    root = containers(engine, HARDENED_IMAGE, "--user", "0")
    code, data = run_json("ls", "--json", "-H", engine.host)
    row = {row["id"]: row for row in data}[root]
    assert (row["verdict"], row["inspected"], row["user"]["uid"]) == (
        ("hardened", True, 0) if engine.podman else ("hardened", False, 65532))
    code, data = run_json("ls", "--json", "--inspect", "-H", engine.host)
    row = {row["id"]: row for row in data}[root]
    assert (row["verdict"], row["inspected"], row["user"]["uid"]) == ("hardened", True, 0)


def test_ls_table_and_escaping(engine: EngineUnderTest, containers: Callable[..., str]) -> None:
    name = f"dhitui-test-{uuid.uuid4().hex[:6]}"
    containers(engine, HARDENED_IMAGE, "--label", "com.docker.dhi.[bold]x[/bold]=1",
               "--label", "com.docker.dhi.variant=runtime\x1b]0;pwned\x07", name=name)
    proc = run_dhitui("ls", "-e", "-H", engine.host)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(name))
    assert "hardened" in line and "65532 (nonroot)" in line and HARDENED_IMAGE in line
    assert "com.docker.dhi.[bold]x[/bold]" in proc.stdout  # markup shown literally
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "pwned" not in proc.stdout  # the whole OSC sequence is gone, not just its ESC


def test_ls_unreachable_engine(tmp_path: Any) -> None:
    proc = run_dhitui("ls", "--json", "-H", f"unix://{tmp_path}/no.sock")
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_ls_toolbox_fixture_has_busybox_shell(engine: EngineUnderTest,
                                              containers: Callable[..., str]) -> None:
    """Busybox-only images have a shell: peers that probe with `which` get this wrong."""
    cid = containers(engine, TOOLBOX_IMAGE, command=["sleep", "600"])
    code, data = run_json("ls", "--json", "-H", engine.host)
    assert code == 0 and isinstance(data, list)
    row = {r["id"]: r for r in data}[cid]
    assert row["shell"] == "/bin/sh" and row["verdict"] == "standard"


def test_a_failed_probe_is_not_cached_for_the_image(
    engine: EngineUnderTest, api: Engine, containers: Callable[..., str]
) -> None:
    """A container the engine cannot answer for (a 500, as one being removed gives) makes
    that container `unknown`, not every container of its image."""
    from dhitui.engine.client import EngineError

    broken = containers(engine, STANDARD_IMAGE, start=False)
    fine = containers(engine, STANDARD_IMAGE, start=False)
    original = api.stat_path

    def stat_path(container: str, path: str) -> dict[str, Any] | None:
        if container == broken:
            raise EngineError("stat: HTTP 500", status=500)  # injected engine failure
        return original(container, path)

    api.stat_path = stat_path  # type: ignore[method-assign]
    classifier = Classifier(api)
    first = classifier.classify(broken)
    assert first.verdict == "unknown" and first.probe_errors
    assert classifier.facts.cached_images() == set()
    second = classifier.classify(fine)
    assert (second.verdict, second.shell) == ("standard", "/bin/sh")
    assert classifier.facts.cached_images() == {second.image_id}
