"""dhitui's sidecars on an engine: which are live sessions, which are orphans, removing those.

A sidecar (any container labelled `dhitui.sidecar=1`) is an **orphan** when nothing can use it
any more:

- its target container is gone or not running;
- or it was started from this machine and no process here runs its session (the docker CLI
  whose command line carries its `dhitui.session` id) — e.g. dhitui and its CLI were both
  killed — or this machine has rebooted since;
- or it has exited (a `--rm` that did not happen).

It is **live** while its session's process runs here, and **unknown** when it was started
from another machine (its process table is not ours to read) and its target still runs.
Helper containers (strategy `probe`) belong to the dhitui process that created them.

Snapshot sessions (see `snapshot`) also leave **images** (`dhitui.snapshot=1`); they are
listed here as `Sidecar`s of kind `image`, live while their session's CLI process or the
dhitui process that made them runs here, and their sidecars do not depend on their target
running (a snapshot's target is stopped on purpose).

`judge()` is the pure rule; `list_sidecars()` applies it to an engine; `find_orphans()` and
`remove_orphans()` are what `dhitui debug --cleanup`, `dhitui doctor` and the TUI use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dhitui.detect.exitreason import container_status
from dhitui.engine.client import Engine, EngineError
from dhitui.errors import NotFound
from dhitui.sessions import labels as L

Status = Literal["live", "orphan", "unknown"]
Kind = Literal["container", "image"]
GONE = "gone"  # target state for a target that no longer exists


@dataclass(frozen=True)
class Sidecar:
    """One of dhitui's containers on the engine, judged."""

    id: str
    name: str
    state: str
    strategy: str
    session: str
    target_id: str | None
    target_name: str | None
    target_image: str | None
    host: str
    created: int
    status: Status
    reason: str
    kind: Kind = "container"
    role: str = ""  # dhitui.role: a holder of an inside session's toolbox

    @property
    def is_orphan(self) -> bool:
        return self.status == "orphan"

    @property
    def what(self) -> str:
        """What it is, in words: each kind of thing dhitui makes, by its own name."""
        if self.kind == "image":
            return "snapshot image"
        if self.strategy == L.PROBE_STRATEGY:
            return "probe helper"
        if self.role == L.HOLDER_ROLE:
            return "toolbox holder"
        if self.strategy == L.SNAPSHOT_STRATEGY:
            return "snapshot sidecar"
        return "sidecar"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "state": self.state, "strategy": self.strategy,
            "session": self.session, "target_id": self.target_id, "what": self.what,
            "target_name": self.target_name, "target_image": self.target_image,
            "host": self.host, "created": self.created, "status": self.status,
            "reason": self.reason, "kind": self.kind,
        }


@dataclass(frozen=True)
class Removal:
    sidecar: Sidecar
    removed: bool
    error: str | None = None


def judge(
    labels: Mapping[str, str],
    state: str,
    target_state: str | None,
    machine: L.Machine,
    live_sessions: Iterable[str],
) -> tuple[Status, str]:
    """Is a sidecar live, an orphan, or unknown, and why.

    `target_state` is the target container's state, `GONE` when it no longer exists, None
    when the sidecar has no target container (image sessions, helpers)."""
    host = labels.get(L.HOST, "")
    boot = labels.get(L.BOOT, "")
    local = bool(boot) and host == machine.host and boot == machine.boot
    rebooted = host == machine.host and bool(boot) and boot != machine.boot
    if labels.get(L.STRATEGY) == L.PROBE_STRATEGY:
        pid = labels.get(L.OWNER_PID, "?")
        if local:
            if L.owner_process_alive(labels):
                return "live", f"a helper of dhitui process {pid}, which is running"
            return "orphan", f"a helper left by dhitui process {pid}, which is gone"
        if rebooted:
            return "orphan", "a helper from before this machine's last reboot"
        return "unknown", f"a helper of dhitui on another machine ({host or 'unknown'})"
    target = labels.get(L.TARGET_NAME) or labels.get(L.TARGET, "")[:12]
    if labels.get(L.STRATEGY) == L.SNAPSHOT_STRATEGY:
        target_state = None  # runs on a copy: its target is stopped on purpose
    if target_state == GONE:
        return "orphan", f"its target {target} no longer exists"
    if target_state is not None and target_state not in ("running", "paused"):
        return "orphan", f"its target {target} is not running ({target_state})"
    session = labels.get(L.SESSION, "")
    if local:
        if session and session in set(live_sessions):
            return "live", "its session is running on this machine"
        if L.owner_process_alive(labels):
            return "live", (f"its session's dhitui process {labels.get(L.OWNER_PID)} is "
                            "running")
        return "orphan", "no process on this machine runs its session any more"
    if rebooted:
        return "orphan", "its session was started before this machine's last reboot"
    if state in ("exited", "dead"):
        return "orphan", f"it has {state}"
    return "unknown", (f"its session was started from another machine ({host or 'unknown'}), "
                       "whose processes cannot be checked from here")


def judge_image(labels: Mapping[str, str], machine: L.Machine,
                live_sessions: Iterable[str]) -> tuple[Status, str]:
    """Is a snapshot image live, an orphan, or unknown, and why: it is made by a dhitui
    process and then used by its session's CLI process."""
    host = labels.get(L.HOST, "")
    boot = labels.get(L.BOOT, "")
    local = bool(boot) and host == machine.host and boot == machine.boot
    rebooted = host == machine.host and bool(boot) and boot != machine.boot
    if local:
        if labels.get(L.SESSION, "") in set(live_sessions):
            return "live", "its session is running on this machine"
        if L.owner_process_alive(labels):
            pid = labels.get(L.OWNER_PID, "?")
            return "live", f"dhitui process {pid}, which made it, is running"
        return "orphan", "a session's snapshot that no process on this machine uses any more"
    if rebooted:
        return "orphan", "a session's snapshot made before this machine's last reboot"
    return "unknown", ("a session's snapshot made by dhitui on another machine "
                       f"({host or 'unknown'})")


def is_orphan(labels: Mapping[str, str], state: str, target_state: str | None,
              machine: L.Machine | None = None,
              live_sessions: Iterable[str] | None = None) -> bool:
    """`judge()` reduced to yes/no, with this machine's facts filled in."""
    status, _ = judge(labels, state, target_state, machine or L.Machine.current(),
                      L.live_sessions() if live_sessions is None else live_sessions)
    return status == "orphan"


def list_sidecars(engine: Engine) -> list[Sidecar]:
    """Every dhitui sidecar and helper on the engine, judged (oldest first). Costs one
    filtered list plus one inspect per distinct target, and one pass over /proc."""
    items = engine.list_containers(all=True, filters={"label": [L.SIDECAR_FILTER]})
    images = engine.list_images(filters={"label": [L.SNAPSHOT_FILTER]})
    if not items and not images:
        return []
    machine = L.Machine.current()
    sessions = L.live_sessions()
    target_states: dict[str, str] = {}
    out = []
    for item in sorted(items, key=lambda i: int(i.get("Created") or 0)):
        labels = dict(item.get("Labels") or {})
        target_id = labels.get(L.TARGET)
        target_state = None
        if target_id:
            if target_id not in target_states:
                target_states[target_id] = _state_of(engine, target_id)
            target_state = target_states[target_id]
        status, reason = judge(labels, str(item.get("State", "")), target_state, machine,
                               sessions)
        names = item.get("Names") or []
        out.append(Sidecar(
            id=item["Id"],
            name=names[0].lstrip("/") if names else item["Id"][:12],
            state=str(item.get("State", "")),
            strategy=labels.get(L.STRATEGY, ""),
            session=labels.get(L.SESSION, ""),
            target_id=target_id,
            target_name=labels.get(L.TARGET_NAME),
            target_image=labels.get(L.TARGET_IMAGE),
            host=labels.get(L.HOST, ""),
            created=int(item.get("Created") or 0),
            status=status,
            reason=reason,
            role=labels.get(L.ROLE, ""),
        ))
    for image in sorted(images, key=lambda i: int(i.get("Created") or 0)):
        labels = dict(image.get("Labels") or {})
        status, reason = judge_image(labels, machine, sessions)
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        out.append(Sidecar(
            id=image["Id"], name=tags[0] if tags else image["Id"][:19], state="image",
            strategy=labels.get(L.STRATEGY, ""), session=labels.get(L.SESSION, ""),
            target_id=labels.get(L.TARGET), target_name=labels.get(L.TARGET_NAME),
            target_image=None, host=labels.get(L.HOST, ""),
            created=int(image.get("Created") or 0), status=status, reason=reason,
            kind="image",
        ))
    return out


def find_orphans(engine: Engine) -> list[Sidecar]:
    return [s for s in list_sidecars(engine) if s.is_orphan]


def remove_orphans(
    engine: Engine, sidecars: Iterable[Sidecar] | None = None, *, include_unknown: bool = False
) -> list[Removal]:
    """Remove orphans (and, with `include_unknown`, sidecars whose owner cannot be checked).
    Live sessions are never touched."""
    candidates = list_sidecars(engine) if sidecars is None else list(sidecars)
    todo = [s for s in candidates
            if s.status == "orphan" or (s.status == "unknown" and include_unknown)]
    # Containers first (they hold their images), then images, children before parents: an
    # image another one was committed on cannot go first, so those are tried again while
    # removals make progress.
    results = []
    for s in [s for s in todo if s.kind == "container"]:
        try:
            # A snapshot's sidecar borrowed its target's volumes: they stay.
            engine.remove_container(s.id, force=True, volumes=s.strategy != L.SNAPSHOT_STRATEGY)
        except (EngineError, NotFound) as exc:
            results.append(Removal(s, False, str(exc)))
            continue
        results.append(Removal(s, True))
    images = [s for s in todo if s.kind == "image"]
    while images:
        failed: list[tuple[Sidecar, str]] = []
        for s in images:
            try:
                engine.remove_image(s.id, force=True)
            except (EngineError, NotFound) as exc:
                failed.append((s, str(exc)))
                continue
            results.append(Removal(s, True))
        if len(failed) == len(images):
            results += [Removal(s, False, error) for s, error in failed]
            break
        images = [s for s, _ in failed]
    return results


def _state_of(engine: Engine, container: str) -> str:
    try:
        inspect = engine.inspect_container(container)
    except NotFound:
        return GONE
    return container_status(inspect)
