"""Sessions into containers that do not run: a temporary snapshot image of the container.

An exited, created or dead container has no process whose namespaces a sidecar could join,
and a crash-looping (`restarting`) one has one for a moment at a time. What the user needs is
what the app saw: its filesystem *with its writable layer* (the file it wrote before dying),
its volumes and bind mounts at their paths, its environment, working directory and user.
The image alone lacks the writable layer, and the container itself cannot be started without
running the app's own entrypoint again (and its restart policy would fight a session).

So dhitui copies the container, as `kubectl debug --copy-to` copies a pod:

1. `docker commit --pause=false` the container into `dhitui-snapshot:<session>`, labelled
   as dhitui's (`dhitui.snapshot=1`, the session, the source container, this machine and this
   process). The commit keeps the container's Env, WorkingDir and User in the image. It does
   not pause or stop anything: a crash-looping container goes on under its restart policy,
   and the snapshot is its filesystem as it was at that moment.
2. Only on engines without image mounts (Engine 20.10): copy the toolbox into the snapshot at
   `/dbg`. dhitui creates (never starts) a container of the toolbox and one of the snapshot,
   streams `GET /containers/{toolbox}/export` into `PUT /containers/{copy}/archive?path=/dbg`
   (the shell equivalent: `docker export T | docker cp - C:/dbg`) and commits the copy as
   `dhitui-snapshot:<session>`. Everything travels over the Engine API, so it works with a
   remote engine and needs no file on the engine's host (a bind mount of a local toolbox
   would need one). It costs the toolbox's size (about 2 MB for busybox) per session, and
   leaves nothing to keep: no persistent volume.
3. `docker run` the snapshot with `--entrypoint` the toolbox's shell (the app's entrypoint
   never runs), `--volumes-from` the container (its named and anonymous volumes and bind
   mounts, at their paths), as the container's user, `--network none` unless another network
   is asked for, and on Engine 28+ the toolbox mounted read-only at `/dbg` (an image mount).
4. Remove the sidecar and the image. The sidecar is not run with `--rm`: auto-removal also
   deletes the anonymous volumes it holds that no other container uses, and those belong to
   the stopped container (whose owner may just have removed it without `-v`). dhitui removes
   the sidecar itself, keeping volumes.

If dhitui is killed (`kill -9`) the image and the exited sidecar stay behind; both carry
dhitui's labels, and `dhitui debug --cleanup` and the TUI's start-up offer find them.
"""

from __future__ import annotations

import io
import json
import shlex
import signal
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dhitui.engine.client import Engine, EngineError
from dhitui.errors import DhituiError, EngineUnavailable, NotFound, Unavailable
from dhitui.sessions import labels as L

REPOSITORY = "dhitui-snapshot"
# A commit writes the whole writable layer: give it far longer than an ordinary request.
COMMIT_TIMEOUT = 3600.0
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}  # what ends a session
PROGRESS_EVERY = 5.0  # seconds between "still committing" lines
# After an interruption, how long to wait for a commit already under way before leaving its
# image to `--cleanup` (the engine finishes a commit even when its client has gone).
ABANDON_WAIT = 60.0
NEVER_STARTED = "/dhitui-snapshot-helper-never-started"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SnapshotSpec:
    """What to snapshot and how, as plain data (planned before anything happens)."""

    container: str  # the source container's id
    label: str  # its name, for messages
    session: str
    labels: Mapping[str, str]  # for the snapshot image
    copy_toolbox: str | None  # toolbox image to copy into the snapshot; None: mounted instead
    mount_point: str

    @property
    def image(self) -> str:
        """The image the session runs."""
        return f"{REPOSITORY}:{self.session}"

    @property
    def base_image(self) -> str:
        """The plain commit, before the toolbox is copied in (engines without image mounts)."""
        return f"{REPOSITORY}:{self.session}-base"

    @property
    def images(self) -> tuple[str, ...]:
        """Every image the session makes, newest first (the order to remove them)."""
        return (self.image, self.base_image) if self.copy_toolbox else (self.image,)

    def changes(self) -> list[str]:
        """The `--change`s of the commit: one LABEL instruction per label, JSON-quoted (so no
        value can end the instruction). One per label because Podman (4.3) reads only the
        first `key=value` of a LABEL instruction and takes the rest as its value: several
        pairs in one instruction leave the snapshot without `dhitui.snapshot=1`, and
        `--cleanup` could not find it. Docker Engine reads both forms alike."""
        return [f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in self.labels.items()]

    def prepare_lines(self, prefix: Sequence[str]) -> list[str]:
        """What dhitui does before the session, as docker command lines (it does them through
        the Engine API; these are their exact CLI equivalents)."""
        first = self.base_image if self.copy_toolbox else self.image
        commit = [*prefix, "commit", "--pause=false"]
        for change in self.changes():
            commit += ["--change", change]
        lines = [shlex.join([*commit, self.container, first])]
        if self.copy_toolbox:
            lines += [
                shlex.join([*prefix, "create", "--name", "TOOLBOX", "--entrypoint",
                            NEVER_STARTED, self.copy_toolbox]),
                shlex.join([*prefix, "create", "--name", "COPY", "--entrypoint", NEVER_STARTED,
                            first]),
                shlex.join([*prefix, "export", "TOOLBOX"]) + " | "
                + shlex.join([*prefix, "cp", "-", f"COPY:{self.mount_point}"]),
                shlex.join([*prefix, "commit", "COPY", self.image]),
                shlex.join([*prefix, "rm", "TOOLBOX", "COPY"]),
            ]
        return lines

    def cleanup_lines(self, prefix: Sequence[str], sidecar: str) -> list[str]:
        """What dhitui does after the session (the sidecar keeps the volumes it borrowed)."""
        return [shlex.join([*prefix, "rm", "-f", sidecar]),
                shlex.join([*prefix, "rmi", *self.images])]

    def to_json(self) -> dict[str, Any]:
        return {
            "container": self.container, "image": self.image, "images": list(self.images),
            "labels": dict(self.labels), "toolbox_copied": self.copy_toolbox,
            "mount_point": self.mount_point,
        }


class Snapshot:
    """Taking and discarding one session's snapshot images (blocking engine calls)."""

    def __init__(self, engine: Engine, spec: SnapshotSpec) -> None:
        self.engine = engine
        self.spec = spec
        # Set once the commit's request has its answer. Waited on instead of Thread.join:
        # on Python 3.11 a signal handler raising inside join() (Ctrl-C here) marks a
        # thread still running as stopped, and the commit under way was then not waited for.
        self._committed: threading.Event | None = None

    def take(self, progress: Progress | None = None) -> None:
        """Commit the container (and copy the toolbox in when needed). Raises NotFound when
        the container went away, Unavailable when the engine refuses, EngineUnavailable when
        it stops answering. Interrupting it (a signal raising in this thread) is safe:
        `discard()` waits for the engine's side of a commit under way."""
        say = progress or (lambda _text: None)
        spec = self.spec
        first = spec.base_image if spec.copy_toolbox else spec.image
        say(f"taking a snapshot of {spec.label} (docker commit; the container is neither "
            "paused nor restarted)")
        self._commit(spec.container, first, say)
        if spec.copy_toolbox:
            say(f"copying the toolbox {spec.copy_toolbox} into the snapshot at "
                f"{spec.mount_point} (this engine cannot mount images)")
            self._copy_toolbox(first, spec.copy_toolbox)

    def _commit(self, container: str, image: str, say: Progress) -> None:
        repository, _, tag = image.partition(":")
        outcome: list[BaseException | str] = []

        committed = threading.Event()

        def commit() -> None:
            try:
                outcome.append(self.engine.commit(container, repository=repository, tag=tag,
                                                  changes=self.spec.changes(),
                                                  timeout=COMMIT_TIMEOUT))
            except BaseException as exc:  # handed to the waiting thread
                outcome.append(exc)
            finally:
                committed.set()

        started = time.monotonic()
        worker = threading.Thread(target=commit, name="dhitui-commit", daemon=True)
        # A signal handler that raises (Ctrl-C, SIGTERM: the session ends) must not run
        # inside Thread.start(): interrupted there, start() forgets the thread as it starts,
        # and the thread prints a KeyError traceback. The signals wait until it has started.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            worker.start()
            self._committed = committed
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        while not committed.wait(PROGRESS_EVERY):
            say(f"still taking the snapshot ({time.monotonic() - started:.0f}s): a large "
                "writable layer takes a while to commit; Ctrl-C stops")
        result = outcome[0] if outcome else EngineError("commit ended without an answer")
        if isinstance(result, str):
            return
        if isinstance(result, NotFound):
            raise NotFound(f"container {self.spec.label} was removed while dhitui was taking "
                           "its snapshot") from None
        if isinstance(result, EngineError):
            raise Unavailable(
                f"the engine refused to take a snapshot of {self.spec.label}: {result}",
                hint="`dhitui debug --image` explores the container's image (without the "
                     "files it wrote); `docker logs` and `dhitui debug --print` say why it "
                     "stopped") from None
        raise result

    def _copy_toolbox(self, base: str, toolbox: str) -> None:
        """Copy the toolbox's whole filesystem into a copy of the snapshot at the mount point,
        and commit that as the session's image."""
        engine, spec = self.engine, self.spec
        labels = {**L.helper_labels(L.new_session_id(), L.Machine.current()),
                  L.SESSION: spec.session}
        helpers: list[str] = []
        try:
            try:
                helpers.append(engine.create_container(toolbox, entrypoint=[NEVER_STARTED],
                                                       labels=labels))
            except NotFound:
                raise Unavailable(f"the toolbox image {toolbox} is not present locally") from None
            helpers.append(engine.create_container(base, entrypoint=[NEVER_STARTED],
                                                   labels=labels))
            tb_helper, copy = helpers
            engine.put_archive(copy, "/", _directory_tar(spec.mount_point))
            engine.put_archive(copy, spec.mount_point, engine.export_container(tb_helper),
                               timeout=COMMIT_TIMEOUT)
            repository, _, tag = spec.image.partition(":")
            engine.commit(copy, repository=repository, tag=tag, changes=spec.changes(),
                          timeout=COMMIT_TIMEOUT)
        except EngineError as exc:
            raise Unavailable(f"could not copy the toolbox into the snapshot: {exc}") from None
        finally:
            for helper in helpers:
                try:
                    engine.remove_container(helper, force=True)
                except DhituiError:
                    pass  # labelled as a helper of this process: --cleanup finds it

    def committing(self, wait: float = 0.0) -> bool:
        """Whether a commit this made is still under way (after waiting up to `wait` s)."""
        committed = self._committed
        return committed is not None and not committed.wait(wait)

    def discard(self) -> list[str]:
        """Remove the session's images (waiting a while for a commit under way). Returns what
        could not be removed, as messages (empty when all is gone)."""
        if self.committing(ABANDON_WAIT):
            return [f"the engine is still committing the snapshot {self.spec.image}: the "
                    "session's keeper goes on looking for it a while, and `dhitui debug "
                    "--cleanup` removes it once it is there"]
        problems = []
        for image in self.spec.images:
            try:
                self.engine.remove_image(image, force=True)
            except (EngineError, EngineUnavailable) as exc:
                problems.append(f"could not remove the snapshot image {image} ({exc}); "
                                "`dhitui debug --cleanup` removes it")
        return problems


def _directory_tar(path: str) -> bytes:
    """A tar holding one empty directory `path` (relative to /), mode 0755, owned by root."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(path.strip("/"))
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    return buf.getvalue()
