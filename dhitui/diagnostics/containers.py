"""Checks about one container: socket and bind-mount access for its user, its ENTRYPOINT,
FIPS variants, and what debugging it needs.

Who the container runs as comes from its `Config.User` resolved against its own
/etc/passwd and /etc/group (read through the archive API, never by running anything), plus
`HostConfig.GroupAdd` and the supplementary groups /etc/group gives the user. Access is then
computed against the *host* side of each bind mount, which is only honest when the path
dhitui stats is the one the engine mounted: a unix-socket engine, and the engine's own stat
of the mount destination (mode and mtime to the nanosecond) agreeing with ours. Otherwise
the check says "cannot check from here" instead of guessing.

Check ids and the keys of their `data`:

  container.exists      a named container that does not exist {ref}
  container.socket      it mounts the docker socket {source, destination, socket: {...},
                        user: {uid, gid, gids, ...}, can_use, via, via_gid}
  container.mount       one bind mount its user cannot use, or cannot be judged
                        {source, destination, rw, need, host: {...}, user: {...}}
  container.mounts      the bind mounts that are fine {mounts: [destination, ...]}
  container.entrypoint  {entrypoint, cmd, image_entrypoint, overridden}
  container.start       can its start command run at all (see dhitui.diagnostics.entrypoint)
  container.fips        {image, evidence: [...]}
  container.debug       see dhitui.diagnostics.strategy
  container.error       the engine failed while looking at it {error}
"""

from __future__ import annotations

import json
import re
import shlex
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dhitui.detect import Classifier
from dhitui.diagnostics import fixes
from dhitui.diagnostics.check import Check, ContainerRef, Status
from dhitui.diagnostics.entrypoint import check_start
from dhitui.diagnostics.strategy import debug_strategy_check, strategy_check
from dhitui.diagnostics.unixperm import PathFacts, access_for, stat_facts
from dhitui.engine.capabilities import Capabilities
from dhitui.engine.client import Engine
from dhitui.errors import Ambiguous, DhituiError, NotFound
from dhitui.models import ContainerUser, UserSource, container_user
from dhitui.sessions import SessionPlan
from dhitui.strategy_registry import AUTO

SOCKET_DESTINATIONS = ("/var/run/docker.sock", "/run/docker.sock")
FIPS_LABEL = "com.docker.dhi.compliance"
_FIPS_TAG = re.compile(r"(?:^|[-_.])fips(?:$|[-_.])")

# Go's os.FileMode type bits, as the archive stat header carries them.
_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_GO_SOCKET = 1 << 24


# ---------------------------------------------------------------- what can be seen from here


@dataclass(frozen=True)
class HostView:
    """Whether the host side of this engine's bind mounts can be examined from here."""

    local: bool
    reason: str = ""  # why not, when not local
    remapped: str | None = None  # "rootless" / "userns": container UIDs are not host UIDs

    @classmethod
    def for_engine(cls, engine: Engine, caps: Capabilities | None) -> HostView:
        remapped = None
        if caps is not None:
            remapped = "rootless" if caps.rootless else ("userns" if caps.userns else None)
        if engine.endpoint.socket_path is None:
            return cls(False, f"the engine is remote ({engine.endpoint.url}); its host paths "
                              "are not this machine's", remapped)
        return cls(True, "", remapped)


def go_mtime_ns(text: str) -> int | None:
    """RFC 3339 with nanoseconds (Go's time format) to integer nanoseconds since the epoch."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", text)
    if not m:
        return None
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        seconds = int(datetime.fromisoformat(m.group(1) + tz).timestamp())
    except ValueError:
        return None
    return seconds * 1_000_000_000 + int((m.group(2) or "0").ljust(9, "0"))


def same_file(local: PathFacts, remote: Mapping[str, Any] | None) -> bool:
    """Whether the engine's stat of a mount destination describes our host path: same type,
    permission bits and modification time."""
    if remote is None or local.mode is None or local.mtime_ns is None:
        return False
    try:
        go_mode = int(remote.get("mode", -1))
    except (TypeError, ValueError):
        return False
    if go_mode & 0o777 != stat.S_IMODE(local.mode) & 0o777:
        return False
    if bool(go_mode & _GO_DIR) != stat.S_ISDIR(local.mode):
        return False
    if bool(go_mode & _GO_SOCKET) != stat.S_ISSOCK(local.mode):
        return False
    return go_mtime_ns(str(remote.get("mtime", ""))) == local.mtime_ns


# ---------------------------------------------------------------- the checks


def run_container_checks(engine: Engine, container: str | Mapping[str, Any], *,
                         caps: Capabilities | None = None, view: HostView | None = None,
                         strategy: str = AUTO, classifier: Classifier | None = None,
                         plan: SessionPlan | None = None,
                         session_view: str = AUTO) -> list[Check]:
    """All checks for one container (an id, a name, or its inspect data).

    The image's files (/etc/passwd, /etc/group, a shell) come from the classifier's
    `ImageFactsCache`: share one `Classifier` across calls so that checking many containers
    of one image reads them once (and the TUI's classification already paid for it).
    `plan` is the container's debug plan when the caller already has one; otherwise one is
    made for `strategy` and `session_view` (where a sidecar session stands)."""
    if isinstance(container, str):
        try:
            info = engine.inspect_container(container)
        except Ambiguous as exc:
            return [Check("container.exists", "fail", exc.message,
                          detail=f"The engine at {engine.endpoint.url} has more than one "
                                 f"container that {container} could mean; "
                                 f"{exc.hint or ''}.",
                          data={"ref": container, "candidates": list(exc.candidates)})]
        except NotFound:
            return [Check("container.exists", "fail", f"no such container: {container}",
                          detail=f"The engine at {engine.endpoint.url} has no container with "
                                 "this name or ID (`docker ps -a` lists them).",
                          data={"ref": container})]
    else:
        info = dict(container)
    ref = ContainerRef(str(info.get("Id", "")), str(info.get("Name", "")).lstrip("/"))
    try:
        return _checks_for(engine, info, ref, caps, view or HostView.for_engine(engine, caps),
                           strategy, classifier or Classifier(engine), plan, session_view)
    except DhituiError as exc:
        # Removed while we looked, or the engine went away: say so, don't crash the report.
        return [Check("container.error", "warn", f"could not finish checking: {exc}",
                      container=ref, data={"error": str(exc)})]


def _checks_for(engine: Engine, info: dict[str, Any], ref: ContainerRef,
                caps: Capabilities | None, view: HostView, strategy: str,
                classifier: Classifier, plan: SessionPlan | None,
                session_view: str = AUTO) -> list[Check]:
    config = info.get("Config") or {}
    host_config = info.get("HostConfig") or {}
    image_id = str(info.get("Image", ""))
    files = classifier.facts.image_facts(image_id, ref.id)
    image = files.image
    image_config = image.get("Config") or {}
    raw_user = str(config.get("User") or "")
    image_user = str(image_config.get("User") or "")
    source: UserSource = "default" if not raw_user else (
        "image" if raw_user == image_user else "container")
    user = container_user(raw_user, source, files.passwd, files.group_members,
                          host_config.get("GroupAdd"))
    image_ref = str(config.get("Image") or image_id)

    checks: list[Check] = []
    mounts = [m for m in info.get("Mounts") or [] if m.get("Type") == "bind"]
    engine_socket = engine.endpoint.socket_path
    sockets = [m for m in mounts if _is_socket_mount(m, engine_socket)]
    for m in sockets:
        checks.append(_socket_mount_check(engine, ref, m, user, view))
    others = [m for m in mounts if m not in sockets]
    checks.extend(_bind_mount_checks(engine, ref, others, user, view))
    checks.append(_entrypoint_check(ref, config, image_config, image_ref, files.shell))
    checks.append(check_start(engine, info))
    fips = _fips_check(ref, image_ref, image, config)
    if fips is not None:
        checks.append(fips)
    if caps is not None and plan is not None:
        checks.append(strategy_check(plan, ref, caps, image=image_ref, preferred=strategy,
                                     engine=engine))
    elif caps is not None:
        checks.append(debug_strategy_check(engine, ref, caps, image=image_ref,
                                           preferred=strategy, classifier=classifier,
                                           view=session_view))
    return checks


def _is_socket_mount(m: Mapping[str, Any], engine_socket: str | None) -> bool:
    dest = str(m.get("Destination", ""))
    src = str(m.get("Source", ""))
    return dest in SOCKET_DESTINATIONS or (engine_socket is not None and src == engine_socket)


def _host_side(engine: Engine, ref: ContainerRef, m: Mapping[str, Any], view: HostView
               ) -> tuple[PathFacts | None, str]:
    """Our stat of a mount's host path, or why it cannot be trusted from here."""
    if not view.local:
        return None, view.reason
    src, dest = str(m.get("Source", "")), str(m.get("Destination", ""))
    facts = stat_facts(src)
    if facts.error == "permission-denied":
        return None, (f"this user cannot look up {src} (blocked at "
                      f"{facts.blocked_at or 'a parent directory'}); run doctor as root to "
                      "check it")
    if facts.error is not None:
        return None, (f"{src} does not exist here: dhitui is not on the engine's host (or "
                      "the path went away)")
    try:
        remote = engine.stat_path(ref.id, dest)
    except DhituiError:
        remote = None
    if not same_file(facts, remote):
        return None, (f"{src} here is not what the engine mounted at {dest} (type, mode or "
                      "mtime differ): dhitui is probably not on the engine's host")
    if view.remapped:
        return None, (f"the engine is {view.remapped}: container UIDs map to other host UIDs, "
                      "so host ownership cannot be compared directly")
    return facts, ""


def _socket_mount_check(engine: Engine, ref: ContainerRef, m: Mapping[str, Any],
                        user: ContainerUser, view: HostView) -> Check:
    src, dest = str(m.get("Source", "")), str(m.get("Destination", ""))
    if user.spec.uid is None:
        return socket_mount_check(ref, src, dest, user, None, "")
    facts, why_not = _host_side(engine, ref, m, view)
    return socket_mount_check(ref, src, dest, user, facts, why_not)


def socket_mount_check(ref: ContainerRef, src: str, dest: str, user: ContainerUser,
                       facts: PathFacts | None, why_not: str) -> Check:
    """The judgement on a docker socket mounted into a container, from what was found: the
    container's user and groups, and the host's `stat` of the socket (`facts`; None when it
    cannot be trusted from here, `why_not` saying why). Pure."""
    data: dict[str, Any] = {"source": src, "destination": dest, "user": user.to_json()}
    uid = user.spec.uid
    if uid is None:
        return Check("container.socket", "warn",
                     f"mounts the docker socket at {dest}, but its user "
                     f"{user.spec.raw!r} is not in its /etc/passwd: cannot tell its UID",
                     container=ref, data=data)
    if facts is None:
        return Check("container.socket", "warn",
                     f"mounts the docker socket ({src} at {dest}); cannot check its access "
                     "from here",
                     detail=f"{why_not}. If its nonroot user gets permission denied, recreate "
                            f"it with --group-add and the socket's GID on the host: "
                            f"`--group-add $(stat -c '%g' {shlex.quote(src)})`.",
                     container=ref, data={**data, "can_use": None})
    data["socket"] = facts.to_json()
    assert facts.mode is not None and facts.uid is not None and facts.gid is not None
    if facts.kind != "socket":
        fx = fixes.socket_source_not_a_socket(src)
        return Check("container.socket", "fail",
                     f"mounts {src} at {dest}, but on the host that is a {facts.kind}, not a "
                     "socket",
                     detail=f"{fx.caution} Clients in the container cannot connect.",
                     fix=fx.fix, container=ref, data={**data, "can_use": False})
    acc = access_for(facts.mode, facts.uid, facts.gid, uid, user.gids)
    data.update(can_use=acc.write, via=acc.via, via_gid=acc.via_gid)
    seen = (f"On the host {src} is owned by {facts.owner_display}, group "
            f"{facts.group_display}, mode {facts.perm}; the container runs as {user.display}.")
    unresolved = (f" --group-add {', '.join(user.unresolved)} names no group in the "
                  "container's /etc/group." if user.unresolved else "")
    if acc.write:
        how = {"root": "as root", "owner": "as the socket's owner",
               "group": f"through GID {acc.via_gid}", "other": "because it is world-writable"
               }[acc.via]
        status: Status = "warn" if acc.via == "other" else "ok"
        extra = (" A world-writable socket lets every user on the host control the engine."
                 if acc.via == "other" else "")
        return Check("container.socket", status,
                     f"mounts the docker socket at {dest}; UID {uid} can use it {how}",
                     detail=f"{seen} Whoever controls this container controls the engine "
                            f"(root-equivalent on the host).{extra}",
                     container=ref, data=data)
    fx = fixes.group_add(facts.gid, src, dest)
    return Check(
        "container.socket", "fail",
        f"mounts the docker socket at {dest}, but UID {uid} may not use it: needs "
        f"--group-add {facts.gid}",
        detail=f"{seen} Connecting needs write permission, which only the owner and group "
               f"{facts.gid} have.{unresolved} {fx.caution}",
        fix=fx.fix, alternatives=fx.alternatives, container=ref, data=data,
    )


def _bind_mount_checks(engine: Engine, ref: ContainerRef, mounts: list[Mapping[str, Any]],
                       user: ContainerUser, view: HostView) -> list[Check]:
    if not mounts:
        return []
    uid = user.spec.uid
    if uid == 0 and not view.remapped:
        return [Check("container.mounts", "ok",
                      f"{len(mounts)} bind mount(s); the container runs as root",
                      container=ref,
                      data={"mounts": [str(m.get("Destination", "")) for m in mounts]})]
    checks: list[Check] = []
    fine: list[str] = []
    for m in mounts:
        src, dest, rw = str(m.get("Source", "")), str(m.get("Destination", "")), \
            bool(m.get("RW", True))
        need = "read and write" if rw else "read"
        data: dict[str, Any] = {"source": src, "destination": dest, "rw": rw, "need": need,
                                "user": user.to_json()}
        if uid is None:
            checks.append(Check("container.mount", "warn",
                                f"bind mount {src} -> {dest}: cannot tell the container's UID "
                                f"(user {user.spec.raw!r} is not in its /etc/passwd)",
                                container=ref, data=data))
            continue
        facts, why_not = _host_side(engine, ref, m, view)
        if facts is None:
            checks.append(Check("container.mount", "warn",
                                f"bind mount {src} -> {dest}: cannot check from here",
                                detail=f"{why_not}.", container=ref, data=data))
            continue
        assert facts.mode is not None and facts.uid is not None and facts.gid is not None
        data["host"] = facts.to_json()
        acc = access_for(facts.mode, facts.uid, facts.gid, uid, user.gids)
        is_dir = facts.kind == "directory"
        ok_read = acc.read and (acc.execute or not is_dir)
        ok_write = acc.write and (acc.execute or not is_dir)
        if ok_read and (ok_write or not rw):
            fine.append(dest)
            continue
        lacks = []
        if not ok_read:
            lacks.append("read" + (" (r-x to list and enter)" if is_dir else ""))
        if rw and not ok_write:
            lacks.append("write" + (" (-wx to create files)" if is_dir else ""))
        primary_gid = user.spec.gid if user.spec.gid is not None else uid
        fx = fixes.bind_mount(src, uid, primary_gid, write=rw, is_dir=is_dir,
                              owner_uid=facts.uid, owner_gid=facts.gid)
        mode_word = "read-write" if rw else "read-only (:ro)"
        checks.append(Check(
            "container.mount", "fail",
            f"UID {uid} cannot {' or '.join(w.split(' ')[0] for w in lacks)} the bind mount "
            f"{src} -> {dest}",
            detail=f"The host {facts.kind} {src} is owned by {facts.owner_display}, group "
                   f"{facts.group_display}, mode {facts.perm}; the container runs as "
                   f"{user.display} and mounts it {mode_word}, so it needs {need} access and "
                   f"lacks {' and '.join(lacks)}. {fx.caution}".rstrip(),
            fix=fx.fix, alternatives=fx.alternatives, container=ref,
            data={**data, "lacks": [w.split(" ")[0] for w in lacks]},
        ))
    if fine:
        checks.append(Check("container.mounts", "ok",
                            f"{len(fine)} bind mount(s) usable by UID {uid}",
                            detail="Checked: " + ", ".join(fine) + ".",
                            container=ref, data={"mounts": fine}))
    return checks


def _entrypoint_check(ref: ContainerRef, config: Mapping[str, Any],
                      image_config: Mapping[str, Any], image: str, shell: str | None) -> Check:
    entrypoint = [str(a) for a in config.get("Entrypoint") or []]
    cmd = [str(a) for a in config.get("Cmd") or []]
    image_ep = [str(a) for a in image_config.get("Entrypoint") or []]
    overridden = bool(image_config) and entrypoint != image_ep
    data = {"entrypoint": entrypoint, "cmd": cmd, "image_entrypoint": image_ep,
            "overridden": overridden}
    if not entrypoint:
        return Check("container.entrypoint", "ok",
                     f"no ENTRYPOINT; the command is {shlex.join(cmd) or '(none)'}",
                     detail="Arguments after the image name in `docker run` replace CMD and "
                            "run as the command.", container=ref, data=data)
    prog = entrypoint[0].rsplit("/", 1)[-1]
    if prog in ("sh", "bash", "ash", "dash") or (prog == "busybox" and entrypoint[1:2] == ["sh"]):
        return Check("container.entrypoint", "ok",
                     f"ENTRYPOINT is a shell: {json.dumps(entrypoint)}",
                     container=ref, data=data)
    over = (f" It was set with --entrypoint; the image's own is {json.dumps(image_ep)}."
            if overridden else "")
    fx = fixes.entrypoint(image, shell, ref.name)
    return Check(
        "container.entrypoint", "warn",
        f"ENTRYPOINT {json.dumps(entrypoint)}: arguments after the image name go to "
        f"{entrypoint[0]}, not to a shell",
        detail=f"`docker run {image} sh` runs `{shlex.join([*entrypoint, 'sh'])}`, not a "
               f"shell; the container runs `{shlex.join([*entrypoint, *cmd])}`.{over} "
               + (f"The image has a shell at {shell}: override the entrypoint to reach it."
                  if shell else "The image has no shell at all."),
        fix=fx.fix, alternatives=fx.alternatives, container=ref, data=data,
    )


def _fips_check(ref: ContainerRef, image_ref: str, image: Mapping[str, Any],
                config: Mapping[str, Any]) -> Check | None:
    evidence = []
    tags = [image_ref, *[str(t) for t in image.get("RepoTags") or []]]
    for t in dict.fromkeys(tags):
        name, _, tag = t.rpartition(":")
        if name and "/" not in tag and _FIPS_TAG.search(tag):
            evidence.append(f"tag {t}")
    labels = {**((image.get("Config") or {}).get("Labels") or {}),
              **(config.get("Labels") or {})}
    compliance = str(labels.get(FIPS_LABEL, ""))
    if "fips" in [p.strip().lower() for p in compliance.split(",")]:
        evidence.append(f"label {FIPS_LABEL}={compliance}")
    if not evidence:
        return None
    return Check(
        "container.fips", "warn",
        "FIPS variant: MD5 and other non-approved algorithms fail",
        detail=f"Evidence: {'; '.join(evidence)}. The crypto library runs in FIPS mode: MD5, "
               "SHA-1 signatures, DES/RC4 and short keys are refused at runtime (Python's "
               "hashlib.md5() raises, `openssl md5` errors). Code that hashes with MD5 for "
               "non-security uses (caches, ETags) must say so (usedforsecurity=False) or "
               "switch to SHA-256.",
        container=ref, data={"image": image_ref, "evidence": evidence},
    )
