"""The finding-out part of detection: file probes without exec, cached per image.

Files are probed with `HEAD /containers/{id}/archive?path=…` (a path stat; nothing runs in
the container). The engine resolves symlinks in parent directories (merged /usr) but not in
the last component, so a symlinked shell (`/bin/sh -> /bin/busybox`) is followed by probing its
target too: a dangling link is not a shell.

Cost model (what we chose and why): a shell or package manager lives in the image's layers,
so file facts are cached per **image ID** and probed once through any container of that
image. A container's writable layer could add one (`docker cp` of a static busybox), but that
is rare and re-probing every container would make the cost grow with containers, which is
what this design avoids. An image whose names and labels do not say where it comes from also
gets its os-release read and 3 more stats (dpkg's and apk's databases), since mirrored images
keep their contents but not their names. `forget_image()` drops a cached image (the TUI calls
it on image events).

A container's own settings (user, entrypoint, cmd) can be overridden at `docker run`; only an
inspect shows them all. The container list carries the `Command` (entrypoint + cmd joined) but
not the user. **The rule** (`needs_inspect`): a container known from the list is classified
from the list and its image, and inspected only when
  1. its verdict depends on its user: no shell, probed, and no hardened source in its names,
     labels or contents (then root makes it "shell-less", anyone else "hardened"); or
  2. its `Command` is not the image's entrypoint + cmd (an `--entrypoint` or a command given
     at `docker run`; Podman's compat list shows only the cmd, so there a container whose
     image has an entrypoint is always inspected: an override could not be told apart); or
  3. the list names its image by ID (the reference it was created from, whose tag is evidence
     for the variant, has moved on).
Otherwise the verdict is the same whoever the container runs as (a shell makes it "standard",
a hardened source without a shell "hardened"), and the user shown is the image's USER, marked
`inspected=False` until something inspects the container (the TUI does when a row is
selected; a session plan always does). So classifying N containers of K images costs K x
(1 image inspect + a few path stats + 2 small file reads) + the inspects the rule asks for,
and a container passed by name or ID is always inspected.

Because a vanished container also answers 404 to a path stat, a probe run ends by statting
`/` (which always exists); if that is gone too, the results are discarded and the probe is
retried through another container of the same image, if any.

Speed: the engine serves one container's path stats one at a time (Docker takes the
container's lock for each, ~5-10 ms), so ~20 stats in a row through one container were most
of the time to a classified list. When the list has several running containers of the image,
the candidate paths are statted side by side through up to SPREAD of them (round-robin), then
resolved from those answers; every container asked must still answer `/` at the end, or the
probe is made again through the row's own container alone. With one container the stats stay
lazy (the first shell found ends the search): spreading trades a few more stats for time.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from dhitui.detect import rules
from dhitui.engine.client import GO_MODE_DIR, GO_MODE_SYMLINK, Engine, EngineError
from dhitui.errors import NotFound
from dhitui.models import (
    Classification,
    ContainerSummary,
    ImageSource,
    UserSource,
    parse_group_members,
    parse_passwd,
    resolve_user,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

# Shells in the order we prefer them for a session. /bin/sh first: most images have it, and
# when it is there one stat (plus its link target) settles the question.
SHELLS = (
    "/bin/sh", "/bin/bash", "/usr/bin/bash", "/bin/ash", "/bin/dash", "/usr/bin/sh",
    "/busybox/sh", "/bin/zsh",
)
PACKAGE_MANAGERS = (
    ("apt", "/usr/bin/apt-get"),
    ("apk", "/sbin/apk"),
    ("apk", "/usr/bin/apk"),
    ("dnf", "/usr/bin/dnf"),
    ("microdnf", "/usr/bin/microdnf"),
    ("yum", "/usr/bin/yum"),
    ("tdnf", "/usr/bin/tdnf"),
    ("zypper", "/usr/bin/zypper"),
    ("pacman", "/usr/bin/pacman"),
)
# Not dpkg or rpm: busybox ships a `dpkg` applet, and neither installs anything by itself.
MAX_LINK_HOPS = 8
MAX_PATH_STEPS = 256  # components and links walked for one path (the kernel allows 40 links)
DEFAULT_CONCURRENCY = 8
# Containers of one image whose path stats one image probe spreads over. The engine serves a
# container's stats one at a time (Docker takes the container's lock for each), so stats
# through several of the image's containers run side by side; one container is probed alone.
SPREAD = 4


class ContainerGone(Exception):
    """The container went away while we looked at it."""

    def __init__(self, container_id: str) -> None:
        super().__init__(container_id)
        self.container_id = container_id


@dataclass(frozen=True)
class ImageFacts:
    """What one image's filesystem holds, as far as classification cares."""

    image_id: str
    shell: str | None
    shell_evidence: tuple[str, ...]
    package_manager: str | None
    package_manager_path: str | None
    passwd: dict[str, tuple[int, int]] | None
    group_members: dict[str, tuple[int, tuple[str, ...]]] | None
    config_user: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    labels: dict[str, str]
    tags: tuple[str, ...]
    image: dict[str, Any] = field(default_factory=dict, compare=False)  # the image inspect
    # The origin its files name (read only when its names and labels say nothing).
    content_source: ImageSource | None = None
    content_evidence: tuple[str, ...] = ()
    probe_errors: tuple[str, ...] = ()
    stats: int = field(default=0, compare=False)  # path stats spent on this image

    @property
    def probed(self) -> bool:
        return not self.probe_errors

    @property
    def groups(self) -> dict[str, int] | None:
        """name -> gid from the image's /etc/group."""
        if self.group_members is None:
            return None
        return {name: gid for name, (gid, _) in self.group_members.items()}


@dataclass(frozen=True)
class _FileFacts:
    shell: str | None
    shell_evidence: tuple[str, ...]
    package_manager: str | None
    package_manager_path: str | None
    passwd: dict[str, tuple[int, int]]
    group_members: dict[str, tuple[int, tuple[str, ...]]]
    stats: int
    content: rules.ContentMarkers | None = None


class Resolved(NamedTuple):
    """Where a path's symlink chain ends."""

    final: str | None  # the executable regular file reached, or None
    hops: list[str]  # each link's target as the engine resolved it (absolute, normalised)


@dataclass(frozen=True)
class Relocation:
    """Whether a path still reaches the same file when its image is mounted below another
    root (a toolbox at /dbg): judged from the links' own text, as the kernel follows them."""

    ok: bool
    links: tuple[str, ...]  # every link met on the way, as "path -> its own text"
    problem: str | None = None  # what breaks it, as a noun phrase (None when ok)


class PathProber:
    """Path stats through one container (cached, counting what they cost), and symlink
    chains followed to their end."""

    def __init__(self, engine: Engine, container_id: str, spread: Sequence[str] = ()) -> None:
        self.engine = engine
        self.container_id = container_id
        # Other running containers of the same image that `prefetch` may stat through.
        self.spread = tuple(c for c in spread if c != container_id)
        self.used = {container_id}  # the containers asked (the caller checks they stayed)
        self.stats = 0
        self._cache: dict[str, dict[str, Any] | None] = {}
        self._links: dict[str, str | None] = {}

    def stat(self, path: str) -> dict[str, Any] | None:
        if path not in self._cache:
            self.stats += 1
            self._cache[path] = self.engine.stat_path(self.container_id, path)
        return self._cache[path]

    def prefetch(self, paths: Iterable[str]) -> None:
        """Stat the paths side by side, each through one of the containers in turn, when
        there are several; with one container, nothing (stats stay lazy and sequential, as
        the first shell found ends the search)."""
        todo = [p for p in dict.fromkeys(paths) if p not in self._cache]
        if not self.spread or len(todo) < 2:
            return
        from concurrent.futures import ThreadPoolExecutor  # not on `dhitui debug`'s path

        through = (self.container_id, *self.spread)
        with ThreadPoolExecutor(len(through), thread_name_prefix="dhitui-stat") as pool:
            futures = {path: pool.submit(self.engine.stat_path, through[i % len(through)], path)
                       for i, path in enumerate(todo)}
            self.used.update(through[:len(todo)])
            for path, fut in futures.items():
                self.stats += 1
                self._cache[path] = fut.result()

    def link_text(self, path: str) -> str | None:
        """A symlink's own text (one small archive read, cached)."""
        if path not in self._links:
            self._links[path] = self.engine.read_link(self.container_id, path)
        return self._links[path]

    def resolve(self, path: str) -> Resolved:
        """Follow a symlink chain to an executable regular file. Cheap: the engine's path
        stat reports where a link ends (`linkTarget`, resolved and absolute)."""
        hops: list[str] = []
        current = path
        for _ in range(MAX_LINK_HOPS):
            st = self.stat(current)
            if st is None:
                return Resolved(None, hops)
            mode = int(st.get("mode", 0))
            target = str(st.get("linkTarget") or "")
            if mode & GO_MODE_SYMLINK and target:
                # Docker reports the resolved absolute path; an engine reporting the link's
                # text instead gets it joined to the link's directory.
                nxt = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
                hops.append(nxt)
                current = nxt
                continue
            if mode & GO_MODE_DIR or not mode & 0o111:
                return Resolved(None, hops)
            return Resolved(current, hops)
        return Resolved(None, hops)

    def relocation(self, path: str) -> Relocation:
        """Would `path` still lead to the same file with the image mounted at another place?

        Walks the path component by component as the kernel would, reading every symlink's
        own text (a directory link such as `bin -> usr/bin` counts too). An absolute link,
        or a relative one whose `..` climbs above the image's root, would leave the image
        once it is mounted elsewhere and resolve in the other root instead."""
        links: list[str] = []
        pending = [c for c in path.split("/") if c]
        here: list[str] = []  # the directory reached so far, as components below the root
        for _ in range(MAX_PATH_STEPS):
            if not pending:
                return Relocation(True, tuple(links))
            comp = pending.pop(0)
            if comp == ".":
                continue
            if comp == "..":
                if not here:
                    return Relocation(False, tuple(links),
                                      f"a relative symlink that climbs above the image's "
                                      f"root ({', '.join(links)})")
                here.pop()
                continue
            current = "/" + "/".join([*here, comp])
            st = self.stat(current)
            if st is None:
                return Relocation(False, tuple(links), f"a missing path ({current})")
            if not int(st.get("mode", 0)) & GO_MODE_SYMLINK:
                here.append(comp)
                continue
            text = self.link_text(current)
            if text is None:
                return Relocation(False, tuple(links),
                                  f"a symlink that could not be read ({current})")
            links.append(f"{current} -> {text}")
            if text.startswith("/"):
                return Relocation(False, tuple(links),
                                  f"an absolute symlink ({', '.join(links)})")
            pending = [c for c in text.split("/") if c] + pending
        return Relocation(False, tuple(links), f"too many symlinks ({', '.join(links[:4])}…)")


def _probe_image_files(engine: Engine, container_id: str, *, content: bool = False,
                       spread: Sequence[str] = ()) -> _FileFacts:
    prober = PathProber(engine, container_id, spread)
    candidates = [*SHELLS, *(path for _, path in PACKAGE_MANAGERS)]
    if content:
        candidates += [rules.DPKG_STATUS_D, rules.DPKG_STATUS, rules.APK_DB]
    prober.prefetch(candidates)
    shell = None
    shell_evidence: list[str] = []
    dangling: list[str] = []
    for candidate in SHELLS:
        final, hops = prober.resolve(candidate)
        if final:
            shell = candidate
            shell_evidence.append(
                f"shell {candidate}" + (f" -> {' -> '.join(hops)}" if hops else "")
            )
            break
        if hops:
            dangling.append(f"{candidate} -> {hops[-1]} (target missing)")
    if shell is None:
        shell_evidence.append(
            f"no shell ({SHELLS[0]} and {len(SHELLS) - 1} other shell paths are absent)"
        )
        shell_evidence.extend(dangling)
    pm = pm_path = None
    for name, path in PACKAGE_MANAGERS:
        if prober.resolve(path).final:
            pm, pm_path = name, path
            break
    passwd_raw = engine.read_file(container_id, "/etc/passwd", limit=256 * 1024)
    group_raw = engine.read_file(container_id, "/etc/group", limit=256 * 1024)
    markers = _probe_content(engine, container_id, prober) if content else None
    # The sentinel: "/" exists in every container; 404 now means the container is gone and
    # every "missing" above may have been a lie.
    for cid in sorted(prober.used, key=lambda c: c != container_id):
        if engine.stat_path(cid, "/") is None:
            raise ContainerGone(cid)
    return _FileFacts(
        shell=shell,
        shell_evidence=tuple(shell_evidence),
        package_manager=pm,
        package_manager_path=pm_path,
        passwd=parse_passwd(passwd_raw.decode(errors="replace")) if passwd_raw else {},
        group_members=(parse_group_members(group_raw.decode(errors="replace"))
                       if group_raw else {}),
        stats=prober.stats + len(prober.used),  # + the sentinels
        content=markers,
    )


def _probe_content(engine: Engine, container_id: str, prober: PathProber) -> rules.ContentMarkers:
    """The files that name an image's origin: os-release, dpkg's and apk's databases."""
    rel_path = None
    rel: dict[str, str] = {}
    for path in rules.OS_RELEASE_PATHS:
        # Debian's /etc/os-release is a link to ../usr/lib/os-release: reading a link gives
        # no file, and the next path is tried.
        raw = engine.read_file(container_id, path, limit=64 * 1024)
        if raw is not None:
            rel_path, rel = path, rules.parse_os_release(raw.decode(errors="replace"))
            break
    status_d = prober.stat(rules.DPKG_STATUS_D)
    return rules.ContentMarkers(
        os_release_path=rel_path,
        os_release=rel,
        dpkg_status_d=status_d is not None and bool(int(status_d.get("mode", 0)) & GO_MODE_DIR),
        dpkg_status=prober.stat(rules.DPKG_STATUS) is not None,
        apk_db=prober.stat(rules.APK_DB) is not None,
    )


def summary_from_api(item: dict[str, Any]) -> ContainerSummary:
    """A `GET /containers/json` entry as a ContainerSummary."""
    names = item.get("Names") or []
    name = names[0].lstrip("/") if names else item.get("Id", "")[:12]
    return ContainerSummary(
        id=item["Id"],
        name=name,
        image=item.get("Image", ""),
        image_id=item.get("ImageID", ""),
        state=item.get("State", ""),
        status=item.get("Status", ""),
        labels=dict(item.get("Labels") or {}),
        created=int(item.get("Created") or 0),
        command=str(item.get("Command") or ""),
    )


def listed_command(argv: Iterable[str]) -> str:
    """A process's argv as the engine's container list shows it in `Command`: joined by
    spaces, arguments after the first in single quotes when they hold a space (Docker's
    daemon/list.go). Podman's compat list leaves the entrypoint out: those rows do not
    match and are inspected, which is the safe side."""
    path, *args = list(argv) or [""]
    if not args:
        return path
    return path + " " + " ".join(f"'{a}'" if " " in a else a for a in args)


InspectReason = str  # why a container needs its own inspect (for evidence and tests)


def needs_inspect(summary: ContainerSummary, facts: ImageFacts) -> InspectReason | None:
    """Why the list and the image are not enough to classify this container (the rule in
    the module docstring), or None when they are."""
    if not summary.image or summary.image.startswith("sha256:"):
        return "the list names its image by ID"
    if summary.command != listed_command([*facts.entrypoint, *facts.cmd]):
        return "its command is not the image's"
    if facts.probed and facts.shell is None:
        source, _ = rules.image_source([summary.image, *facts.tags],
                                       {**facts.labels, **summary.labels})
        if source == "other" and facts.content_source is None:
            return "its verdict depends on who it runs as"
    return None


class Classifier:
    """Classifies containers, caching image facts; safe to use from several threads."""

    def __init__(self, engine: Engine, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self.engine = engine
        self.concurrency = max(1, concurrency)
        self._lock = threading.Lock()
        self._images: dict[str, Future[ImageFacts]] = {}
        # Running containers by image, from the rows classify_many was given (SPREAD).
        self._running: dict[str, list[str]] = {}
        self.path_stats = 0  # total path stats spent (for tests and benchmarks)

    # ---- cache control
    def forget_image(self, image_id: str) -> None:
        with self._lock:
            self._images.pop(image_id, None)

    def cached_images(self) -> set[str]:
        with self._lock:
            return {k for k, f in self._images.items() if f.done() and not f.exception()}

    # ---- classification
    def classify(self, container: str | ContainerSummary) -> Classification:
        """Classify one container; raises NotFound when it does not exist (any more).

        A name or ID is inspected; a list row is classified from the list and its image, and
        inspected only where `needs_inspect` says so."""
        if isinstance(container, ContainerSummary):
            return self.classify_listed(container)
        return self.classify_inspected(self.engine.inspect_container(container))

    def classify_listed(self, summary: ContainerSummary) -> Classification:
        """Classify a container from its list row and its image (inspecting it only where
        its own settings can change the answer)."""
        facts = self.image_facts(summary.image_id, summary.id)
        if needs_inspect(summary, facts):
            return self.classify_inspected(self.engine.inspect_container(summary.id))
        listed = {
            "Id": summary.id,
            "Name": summary.name,
            "Image": summary.image_id,
            "Config": {"Image": summary.image, "User": facts.config_user,
                       "Labels": summary.labels, "Entrypoint": list(facts.entrypoint),
                       "Cmd": list(facts.cmd)},
            "State": {"Status": summary.state},
        }
        return self._combine(listed, facts, inspected=False)

    def classify_inspected(self, inspect: dict[str, Any]) -> Classification:
        """Classify a container from the inspect data the caller already has."""
        facts = self.image_facts(inspect.get("Image", ""), inspect["Id"])
        return self._combine(inspect, facts)

    def classify_many(
        self,
        containers: Iterable[str | ContainerSummary],
        on_gone: Callable[[str], object] | None = None,
    ) -> Iterator[Classification]:
        """Classify concurrently (bounded), yielding results as they complete. Containers
        that disappear are skipped (reported to `on_gone`)."""
        items = list(containers)
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        running: dict[str, list[str]] = {}
        for c in items:
            if isinstance(c, ContainerSummary) and c.state == "running":
                running.setdefault(c.image_id, []).append(c.id)
        with self._lock:
            self._running = running
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="dhitui-classify") as pool:
            pending = {pool.submit(self.classify, c): c for c in items}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    c = pending.pop(fut)
                    try:
                        yield fut.result()
                    except NotFound:
                        if on_gone:
                            on_gone(c.id if isinstance(c, ContainerSummary) else c)

    def image_facts(self, image_id: str, via_container: str) -> ImageFacts:
        """The (cached) file facts of an image, probed through `via_container` if needed;
        raises NotFound when that container vanishes during the probe."""
        try:
            return self._image_facts(image_id, via_container)
        except ContainerGone:
            raise NotFound(f"container {via_container} went away while it was being probed"
                           ) from None

    # ---- internals
    def _image_facts(self, image_id: str, via_container: str, *, retry: bool = True
                     ) -> ImageFacts:
        from concurrent.futures import Future  # not on `dhitui debug`'s path

        with self._lock:
            fut = self._images.get(image_id)
            owner = fut is None
            if owner:
                fut = Future()
                self._images[image_id] = fut
        assert fut is not None
        if not owner:
            try:
                facts = fut.result()
            except ContainerGone:
                # The probing container vanished; try again through ours.
                return self._image_facts(image_id, via_container, retry=retry)
            if not facts.probed and retry:
                # Its probe failed (not cached): try once more through our own container.
                return self._image_facts(image_id, via_container, retry=False)
            return facts
        try:
            facts = self._probe_image(image_id, via_container)
        except BaseException as exc:
            # Nothing is cached on failure: the next container of this image probes again.
            with self._lock:
                self._images.pop(image_id, None)
            fut.set_exception(exc)
            raise
        if not facts.probed:
            # A failed probe says something about that container (e.g. one being removed
            # answers 500), not about the image: hand it to whoever waits, cache nothing.
            with self._lock:
                self._images.pop(image_id, None)
        fut.set_result(facts)
        return facts

    def _probe_image(self, image_id: str, via_container: str) -> ImageFacts:
        with self._lock:
            peers = [c for c in self._running.get(image_id, ()) if c != via_container]
        try:
            facts = self._probe_image_through(image_id, via_container, peers[:SPREAD - 1])
        except ContainerGone as gone:
            if gone.container_id == via_container or not peers:
                raise
            facts = None
        if facts is None or (not facts.probed and peers):
            # Another container of the image went away or failed meanwhile: ours alone.
            facts = self._probe_image_through(image_id, via_container, [])
        return facts

    def _probe_image_through(self, image_id: str, via_container: str, spread: list[str]
                             ) -> ImageFacts:
        try:
            image = self.engine.inspect_image(image_id)
        except NotFound:
            image = {}
        config = image.get("Config") or {}
        config_user = config.get("User") or ""
        entrypoint = tuple(config.get("Entrypoint") or ())
        cmd = tuple(config.get("Cmd") or ())
        labels = dict(config.get("Labels") or {})
        tags = tuple(image.get("RepoTags") or ()) + tuple(image.get("RepoDigests") or ())
        # Mirrored images keep their contents, not always their names: when the names and
        # labels say nothing, the files are asked too (a few more requests, once per image).
        named, _ = rules.image_source(tags, labels)
        try:
            files = _probe_image_files(self.engine, via_container, content=named == "other",
                                       spread=spread)
        except EngineError as exc:
            if self._going_away(via_container):
                raise ContainerGone(via_container) from None
            return ImageFacts(
                image_id=image_id, shell=None, shell_evidence=(), package_manager=None,
                package_manager_path=None, passwd=None, group_members=None,
                config_user=config_user, entrypoint=entrypoint, cmd=cmd, labels=labels,
                tags=tags, image=image, probe_errors=(f"probe failed: {exc}",),
            )
        with self._lock:
            self.path_stats += files.stats
        content_src, content_ev = (rules.content_source(files.content) if files.content
                                   else (None, []))
        return ImageFacts(
            image_id=image_id, shell=files.shell, shell_evidence=files.shell_evidence,
            package_manager=files.package_manager,
            package_manager_path=files.package_manager_path, passwd=files.passwd,
            group_members=files.group_members, config_user=config_user,
            entrypoint=entrypoint, cmd=cmd, labels=labels, tags=tags, image=image,
            stats=files.stats, content_source=content_src, content_evidence=tuple(content_ev),
        )

    def _going_away(self, container_id: str) -> bool:
        """After a failed probe: is the container gone, or on its way out (removing/dead)?"""
        try:
            state = (self.engine.inspect_container(container_id).get("State") or {})
        except NotFound:
            return True
        except EngineError:
            return False
        return state.get("Status") in ("removing", "dead")

    def _combine(self, inspect: dict[str, Any], facts: ImageFacts, *, inspected: bool = True
                 ) -> Classification:
        config = inspect.get("Config") or {}
        state = (inspect.get("State") or {}).get("Status", "")
        image_ref = config.get("Image") or ""
        raw_user = config.get("User") or ""
        user_source: UserSource = "image" if raw_user == facts.config_user else "container"
        if not raw_user:
            user_source = "default"
        user = resolve_user(raw_user, user_source, facts.passwd, facts.groups)
        labels = {**facts.labels, **(config.get("Labels") or {})}
        source, source_ev = rules.image_source([image_ref, *facts.tags], labels)
        if source == "other" and facts.content_source:
            source, source_ev = facts.content_source, [*source_ev, *facts.content_evidence]
        tag = rules.parse_reference(image_ref).tag if image_ref else None
        var, var_ev = rules.variant(tag, labels, source)
        verdict, verdict_ev = rules.verdict(
            shell=facts.shell,
            shell_evidence=list(facts.shell_evidence),
            package_manager=facts.package_manager,
            user=user,
            source=source,
            probed=facts.probed,
        )
        if not inspected:
            verdict_ev.append("user from the image: the container itself was not inspected "
                              "(the verdict is the same whoever it runs as)")
        return Classification(
            container_id=inspect["Id"],
            name=(inspect.get("Name") or "").lstrip("/"),
            image=image_ref,
            image_id=facts.image_id,
            state=state,
            user=user,
            entrypoint=tuple(config.get("Entrypoint") or ()),
            cmd=tuple(config.get("Cmd") or ()),
            shell=facts.shell,
            package_manager=facts.package_manager,
            source=source,
            variant=var,
            verdict=verdict,
            evidence=tuple([*verdict_ev, *source_ev, *var_ev, *facts.probe_errors]),
            probe_errors=facts.probe_errors,
            inspected=inspected,
        )


def list_summaries(engine: Engine, *, all: bool = False) -> list[ContainerSummary]:
    return [summary_from_api(c) for c in engine.list_containers(all=all)]

