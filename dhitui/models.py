"""Plain data shared by detection, sessions, diagnostics, the CLI and the TUI.

No I/O here: these are the values that cross module borders. Everything that came from the
engine is stored as the engine said it (cleaning for display happens at display time).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple

UserSource = Literal["container", "image", "default"]
Verdict = Literal["hardened", "shell-less", "standard", "unknown"]
ImageSource = Literal["dhi", "chainguard", "distroless", "other"]
Variant = Literal["runtime", "dev", "fips", "dev-fips"]


@dataclass(frozen=True)
class UserSpec:
    """Who a container's process runs as, as far as can be known without running anything.

    `raw` is the `User` setting (`""`, `"65532"`, `"nonroot"`, `"1000:1000"`, `"app:staff"`);
    `uid`/`gid` are filled from numbers or from the image's /etc/passwd and /etc/group when
    available; they stay None when only an unresolvable name is known.
    """

    raw: str
    source: UserSource
    name: str | None = None
    uid: int | None = None
    gid: int | None = None

    @property
    def is_root(self) -> bool | None:
        if self.uid is not None:
            return self.uid == 0
        if self.name is not None:
            return True if self.name == "root" else None
        return None

    @property
    def display(self) -> str:
        if self.uid is None:
            return f"{self.name} (uid unknown)" if self.name else (self.raw or "root")
        if self.uid == 0:
            return "root"
        if self.name and self.name != str(self.uid):
            return f"{self.uid} ({self.name})"
        return str(self.uid)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "is_root": self.is_root, "display": self.display}


def parse_passwd(text: str) -> dict[str, tuple[int, int]]:
    """name -> (uid, gid) from an /etc/passwd text; malformed lines are skipped."""
    out: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[0] and not line.startswith("#"):
            try:
                out[parts[0]] = (int(parts[2]), int(parts[3]))
            except ValueError:
                continue
    return out


def parse_group_members(text: str) -> dict[str, tuple[int, tuple[str, ...]]]:
    """name -> (gid, member names) from an /etc/group text; malformed lines are skipped."""
    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) < 3 or not parts[0] or line.startswith("#"):
            continue
        try:
            gid = int(parts[2])
        except ValueError:
            continue
        members = tuple(m for m in (parts[3].split(",") if len(parts) > 3 else ()) if m)
        out[parts[0]] = (gid, members)
    return out


def parse_group(text: str) -> dict[str, int]:
    """name -> gid from an /etc/group text."""
    return {name: gid for name, (gid, _) in parse_group_members(text).items()}


def resolve_user(
    raw: str,
    source: UserSource,
    passwd: dict[str, tuple[int, int]] | None = None,
    groups: dict[str, int] | None = None,
) -> UserSpec:
    """Turn a `User` setting into a UserSpec.

    `passwd`/`groups` are the image's parsed files: `{}` when the image has none, None when
    they were not read (then a gid that depends on them stays unknown).
    """
    raw = (raw or "").strip()
    if not raw:
        return UserSpec(raw="", source="default", name="root", uid=0, gid=0)
    user_part, _, group_part = raw.partition(":")
    name: str | None = None
    uid: int | None = None
    gid: int | None = None
    by_uid = {v[0]: (k, v[1]) for k, v in (passwd or {}).items()}
    if user_part.isdigit():
        uid = int(user_part)
        if uid in by_uid:
            name, gid = by_uid[uid]
    else:
        name = user_part
        if passwd and user_part in passwd:
            uid, gid = passwd[user_part]
        elif user_part == "root":
            uid, gid = 0, 0
    if group_part:
        if group_part.isdigit():
            gid = int(group_part)
        elif groups and group_part in groups:
            gid = groups[group_part]
        else:
            gid = None
    elif gid is None and uid is not None and passwd is not None:
        # A uid the image's passwd does not list runs with gid 0 (runc's default).
        gid = 0
    return UserSpec(raw=raw, source=source, name=name, uid=uid, gid=gid)


@dataclass(frozen=True)
class ContainerUser:
    """The container's user with every group its process gets."""

    spec: UserSpec
    gids: frozenset[int]
    sources: tuple[str, ...]  # how each group came in, for the detail text
    unresolved: tuple[str, ...] = ()  # --group-add names the image's /etc/group lacks

    @property
    def display(self) -> str:
        groups = ", ".join(self.sources) if self.sources else "no groups"
        return f"UID {self.spec.display} ({groups})"

    def to_json(self) -> dict[str, Any]:
        return {**self.spec.to_json(), "gids": sorted(self.gids), "group_sources":
                list(self.sources), "unresolved_groups": list(self.unresolved)}


def container_user(raw_user: str, source: UserSource,
                   passwd: dict[str, tuple[int, int]] | None,
                   groups: dict[str, tuple[int, tuple[str, ...]]] | None,
                   group_add: list[str] | None) -> ContainerUser:
    """The groups a container process runs with, as the engine computes them: the primary
    GID (from `User` or /etc/passwd); supplementary groups listing the user by name in
    /etc/group, only when `User` names no group (runc's GetExecUser); and every
    `--group-add`, numeric as given or a name looked up in the container's /etc/group."""
    gid_by_name = {n: g for n, (g, _) in groups.items()} if groups is not None else None
    spec = resolve_user(raw_user, source, passwd, gid_by_name)
    gids: set[int] = set()
    sources: list[str] = []
    if spec.gid is not None:
        gids.add(spec.gid)
        sources.append(f"primary GID {spec.gid}")
    if ":" not in spec.raw and spec.name and groups:
        for gname, (gid, members) in sorted(groups.items()):
            if spec.name in members and gid not in gids:
                gids.add(gid)
                sources.append(f"GID {gid} ({gname} in /etc/group)")
    unresolved = []
    for entry in group_add or []:
        entry = str(entry)
        if entry.isdigit():
            gids.add(int(entry))
            sources.append(f"GID {entry} (--group-add)")
        elif gid_by_name and entry in gid_by_name:
            gids.add(gid_by_name[entry])
            sources.append(f"GID {gid_by_name[entry]} (--group-add {entry}, from the "
                           "container's /etc/group)")
        else:
            unresolved.append(entry)
    return ContainerUser(spec, frozenset(gids), tuple(sources), tuple(unresolved))


class ContainerKey(NamedTuple):
    """A container as a fleet of engines knows it: the engine session's name and the
    container's ID (two engines may hold the same ID: an engine reached twice, a copy)."""

    engine: str
    id: str


@dataclass(frozen=True)
class ContainerSummary:
    """One row of the container list (from `GET /containers/json`)."""

    id: str
    name: str
    image: str  # the reference the container was created from, as typed
    image_id: str
    state: str  # running, exited, created, paused, restarting, dead, removing
    status: str  # the engine's human text, e.g. "Up 3 minutes"
    labels: dict[str, str] = field(default_factory=dict)
    created: int = 0
    # The list's `Command`: the process's argv joined by the engine ("" when not known).
    command: str = ""

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def crash_looping(self) -> bool:
        """Between two restarts of a crash loop (the engine's `restarting`)."""
        return self.state == "restarting"

    @property
    def active(self) -> bool:
        """What the running-only view lists: running, or crash-looping (up for moments)."""
        return self.running or self.crash_looping


@dataclass(frozen=True)
class Classification:
    """What dhitui knows about one container: who it runs as, what it can run, and the verdict
    with the evidence behind it."""

    container_id: str
    name: str
    image: str
    image_id: str
    state: str
    user: UserSpec
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    shell: str | None
    package_manager: str | None
    source: ImageSource
    variant: Variant | None
    verdict: Verdict
    evidence: tuple[str, ...]
    probe_errors: tuple[str, ...] = ()
    # False: classified from the container list and its image, without inspecting the
    # container, so `user` is the image's USER (a `docker run --user` override is invisible
    # in the list). The verdict does not depend on it then (see dhitui.detect.listing).
    inspected: bool = True

    @property
    def summary(self) -> str:
        """The verdict's key facts in a few words, for tables."""
        if self.verdict == "unknown":
            return self.probe_errors[0] if self.probe_errors else "not probed"
        parts = [f"shell {self.shell}" if self.shell else "no shell"]
        if self.package_manager:
            parts.append(self.package_manager)
        root = self.user.is_root
        parts.append("root" if root else f"user {self.user.display}")
        if self.source != "other":
            parts.append(self.source)
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.container_id,
            "name": self.name,
            "image": self.image,
            "image_id": self.image_id,
            "state": self.state,
            "user": self.user.to_json(),
            "entrypoint": list(self.entrypoint),
            "cmd": list(self.cmd),
            "shell": self.shell,
            "package_manager": self.package_manager,
            "source": self.source,
            "variant": self.variant,
            "verdict": self.verdict,
            "evidence": list(self.evidence),
            "summary": self.summary,
            "probe_errors": list(self.probe_errors),
            "inspected": self.inspected,
        }
