"""`ImageFactsCache`: what images hold, probed once per image for one engine session.

Classification, session planning and diagnostics all ask this one object about an image's
files (records and reads: `image_facts`); whoever owns the engine connection makes one and
hands it on (the TUI's `live.EngineSession` per connection, through its `Classifier`; a CLI
command per run). Nothing about images is kept in module globals.

What it keeps, per image ID (an image ID names content, so a fact never goes stale; image
events may change its names and tags, hence `forget_image`):

- **classification facts** (`image_facts`, `ImageFacts`), probed through a container of the
  image. A shell or package manager lives in the image's layers, so they are probed once
  through any container of that image. A container's writable layer could add one (`docker
  cp` of a static busybox), but that is rare and re-probing every container would make the
  cost grow with containers, which is what this design avoids. An image whose names and
  labels do not say where it comes from also gets its os-release read and 3 more stats.
  Because a vanished container also answers 404 to a path stat, a probe run ends by statting
  `/`; if that is gone too, the results are discarded and the probe is retried through
  another container of the same image, if any. A failed probe is handed to whoever waits
  for it and not cached.
- **session files** (`image_files`, `ImageFiles`: the shell, whether it works mounted at
  /dbg, the users), for a toolbox or an image target, read through a created-never-started
  helper container of the image, and kept on disk too (`disk_cache`) so that one-shot CLI
  runs do not create that helper every time.
- **command lookups** (`command_path`): where a command is on a PATH in an image. A
  container's writable layer could add one; as for shells, that is not re-probed per
  container.

Speed: the engine serves one container's path stats one at a time (Docker takes the
container's lock for each), so an image's ~20 stats in a row through one container would be
most of the time to a classified list. When `note_running` has named several running containers
of the image, the candidate paths are statted side by side through up to SPREAD of them
(round-robin), then resolved from those answers; every container asked must still answer `/`
at the end, or the probe is made again through the row's own container alone. With one
container the stats stay lazy (the first shell found ends the search): spreading trades a
few more stats for time.

Helper containers are labelled by the caller (`helper_labels`, from sessions: they are found
like sidecars if dhitui dies) and removed when the read ends; `remove_helpers` removes the
ones a thread still holds when the process ends (the TUI quit mid-probe: its threads are not
waited for). What a kill -9 leaves is found by label (sessions.orphans).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING

from dhitui.detect import rules
from dhitui.detect.image_facts import (
    IMAGE_FILES_VERSION,
    ImageFacts,
    ImageFiles,
    image_files_from_json,
    lookup_command,
    probe_image_files,
    read_image_files,
)
from dhitui.detect.remotefs import ContainerGone, PathProber
from dhitui.engine.client import Engine, EngineError
from dhitui.errors import NotFound
from dhitui.models import ContainerSummary

if TYPE_CHECKING:
    from concurrent.futures import Future

# Containers of one image whose path stats one image probe spreads over. The engine serves a
# container's stats one at a time (Docker takes the container's lock for each), so stats
# through several of the image's containers run side by side; one container is probed alone.
SPREAD = 4
# The labels of a helper container, made when one is created (sessions.labels.helper_labels).
HelperLabels = Callable[[], Mapping[str, str]]
# (image id, PATH looked through, command) -> where it is, and whether it also works with the
# image mounted at /dbg.
CommandKey = tuple[str, tuple[str, ...], str]


class ImageFactsCache:
    """Image facts for one engine, each image probed once; safe to use from several threads.
    `disk=False` leaves the on-disk cache of session files alone."""

    def __init__(self, engine: Engine, *, disk: bool = True) -> None:
        self.engine = engine
        self.disk = disk
        self._lock = threading.Lock()
        self._facts: dict[str, Future[ImageFacts]] = {}
        # Running containers by image, from the rows last classified together (SPREAD).
        self._running: dict[str, list[str]] = {}
        self.path_stats = 0  # path stats spent on classification facts (tests, benchmarks)
        self._files: dict[str, ImageFiles] = {}
        # One reader per image: plans made at once for containers of one image (doctor's
        # checks, the TUI's panel) wait for the first instead of probing again.
        self._files_locks: dict[str, threading.Lock] = {}
        self._commands: dict[CommandKey, tuple[str | None, bool]] = {}
        self._helpers: set[str] = set()  # helper containers that exist right now

    # ---- classification facts
    def note_running(self, containers: Iterable[ContainerSummary]) -> None:
        """The running containers of each image that probes may spread over (SPREAD)."""
        running: dict[str, list[str]] = {}
        for c in containers:
            if c.state == "running":
                running.setdefault(c.image_id, []).append(c.id)
        with self._lock:
            self._running = running

    def forget_image(self, image_id: str) -> None:
        """Drop an image's classification facts (its names or tags changed, or it went)."""
        with self._lock:
            self._facts.pop(image_id, None)

    def cached_images(self) -> set[str]:
        """The images whose classification facts are kept."""
        with self._lock:
            return {k for k, f in self._facts.items() if f.done() and not f.exception()}

    def image_facts(self, image_id: str, via_container: str) -> ImageFacts:
        """The (cached) classification facts of an image, probed through `via_container` if
        needed; raises NotFound when that container vanishes during the probe."""
        try:
            return self._image_facts(image_id, via_container)
        except ContainerGone:
            raise NotFound(f"container {via_container} went away while it was being probed"
                           ) from None

    def _image_facts(self, image_id: str, via_container: str, *, retry: bool = True
                     ) -> ImageFacts:
        from concurrent.futures import Future  # not on `dhitui debug`'s path

        with self._lock:
            fut = self._facts.get(image_id)
            owner = fut is None
            if owner:
                fut = Future()
                self._facts[image_id] = fut
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
                self._facts.pop(image_id, None)
            fut.set_exception(exc)
            raise
        if not facts.probed:
            # A failed probe says something about that container (e.g. one being removed
            # answers 500), not about the image: hand it to whoever waits, cache nothing.
            with self._lock:
                self._facts.pop(image_id, None)
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
            files = probe_image_files(self.engine, via_container, content=named == "other",
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

    # ---- session files and command lookups
    def image_files(self, image_id: str, helper_labels: HelperLabels) -> ImageFiles:
        """The shell and users of an image, read through a created-never-started container
        (labelled `helper_labels()`); kept in memory and, unless `disk` is off, on disk."""
        with self._lock:
            cached = self._files.get(image_id)
            image_lock = self._files_locks.setdefault(image_id, threading.Lock())
        if cached is not None:
            return cached
        from dhitui.detect import disk_cache  # json and tempfile: only when sessions look

        with image_lock:
            with self._lock:
                cached = self._files.get(image_id)
            if cached is None and self.disk:
                cached = image_files_from_json(disk_cache.load(image_id, IMAGE_FILES_VERSION))
            if cached is None:
                with self.helper_container(image_id, helper_labels) as helper:
                    cached = read_image_files(self.engine, helper)
                if self.disk:
                    disk_cache.store(image_id, asdict(cached), IMAGE_FILES_VERSION)
            with self._lock:
                self._files[image_id] = cached
        return cached

    def command_path(self, image_id: str, via: str | None, name: str, path: tuple[str, ...],
                     helper_labels: HelperLabels, *, relocation: bool = False
                     ) -> tuple[str | None, bool]:
        """Where `name` is found on `path` in the image (through the container `via`, or a
        helper when None), and, with `relocation`, whether it still works with the image
        mounted at /dbg. Kept per image, PATH and name."""
        key = (image_id, path, name)
        with self._lock:
            hit = self._commands.get(key)
        if hit is not None:
            return hit

        def look(container: str) -> tuple[str | None, bool]:
            prober = PathProber(self.engine, container)
            found = lookup_command(prober, name, path)
            return found, bool(found and relocation and prober.relocation(found).ok)

        if via is not None:
            result = look(via)
        else:
            with self.helper_container(image_id, helper_labels) as helper:
                result = look(helper)
        with self._lock:
            self._commands[key] = result
        return result

    # ---- helper containers
    @contextlib.contextmanager
    def helper_container(self, image_id: str, helper_labels: HelperLabels) -> Iterator[str]:
        """A created, never started container of the image, to stat its paths; removed after
        (unless `remove_helpers` got to it first)."""
        helper = self.engine.create_container(
            image_id,
            # Never started; a path that cannot exist makes that plain to anyone who looks.
            entrypoint=["/dhitui-probe-never-started"],
            labels=dict(helper_labels()),
        )
        with self._lock:
            self._helpers.add(helper)
        try:
            yield helper
        finally:
            with self._lock:
                owned = helper in self._helpers
                self._helpers.discard(helper)
            if owned:
                self.engine.remove_container(helper, force=True)

    def remove_helpers(self) -> int:
        """Remove the helper containers other threads still hold (at shutdown); how many
        went. A helper is removed once: whoever takes it from the table removes it."""
        with self._lock:
            pending, self._helpers = self._helpers, set()
        removed = 0
        for helper in pending:
            try:
                removed += self.engine.remove_container(helper, force=True)
            except (EngineError, OSError):
                pass  # the engine went with it; sessions.orphans finds what is left
        return removed
