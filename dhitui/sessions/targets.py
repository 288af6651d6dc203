"""What a session is opened into, and the toolbox it brings: facts gathered from the engine.

Three things are looked up before a plan can be made:

- the **target container** (`ContainerTarget`): its classification (user, shell) plus the
  few settings a sidecar must respect (pid and network mode, PATH, state);
- or the **target image** (`ImageTarget`) for `dhitui debug --image`;
- the **toolbox image** (`ToolboxInfo`): present locally? where is its shell, and can that
  shell still work when the image is mounted at `/dbg` inside another root? A shell reached
  through an absolute symlink (`/bin/sh -> /bin/busybox`, as `busybox --install -s` and
  Alpine make them), through a relative one climbing above the image's root, or a
  dynamically linked one (its ELF interpreter, e.g. `/lib/ld-musl-x86_64.so.1`, would be
  looked up in the target's root) cannot; relative links (`bin/sh -> busybox`) and hard
  links can. This is judged from each link's own text (read from the archive's tar header):
  the engine's path stat reports links already resolved.

Image files are read without running anything, through the engine session's
`detect.facts.ImageFactsCache` (the classifier's when the caller has one, else a new one):
for an image with no container at hand it creates (never starts) a throwaway container of
the image, stats paths through the archive API, and removes it. That container is labelled
like a sidecar (strategy `probe`, `helper_labels` here) so a crash cannot leave it
unnoticed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from dhitui.detect.classifier import Classifier
from dhitui.detect.exitreason import (
    ExitReason,
    container_status,
    needs_reason,
    read_exit_reason,
)
from dhitui.detect.facts import HelperLabels, ImageFactsCache
from dhitui.detect.image_facts import SHELLS, ImageFiles, find_shell
from dhitui.detect.remotefs import PathProber, read_group_members, read_passwd
from dhitui.engine.client import Engine, EngineError
from dhitui.errors import NotFound
from dhitui.models import (
    Classification,
    ContainerUser,
    UserSource,
    UserSpec,
    container_user,
    resolve_user,
)
from dhitui.sessions import labels as L

MOUNT_POINT = "/dbg"
# What to use instead of a toolbox that cannot run from another root.
TOOLBOX_ADVICE = ("give a statically linked toolbox with hard or relative links (the "
                  "official busybox images are) with --toolbox")
# Where a toolbox keeps its tools (first on a session's PATH, under /dbg when mounted).
TOOLBOX_PATH_DIRS = ("/bin", "/usr/bin", "/sbin", "/usr/sbin")
# The PATH the engine gives a container whose image sets none (moby's oci.DefaultPathEnv).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Characters container data may bring into a docker argv without question. PATH entries and
# user names outside this set are left out rather than quoted (see argv.check_argv).
_SAFE_WORD = re.compile(r"[A-Za-z0-9_.+/@-]+")


@dataclass(frozen=True)
class ContainerTarget:
    """A container to open a session into."""

    id: str
    name: str
    image: str  # the reference it was created from
    image_id: str
    state: str  # running, paused, exited, created, restarting, dead, removing
    user: UserSpec
    shell: str | None
    path_env: str | None  # PATH in the container's environment
    network_mode: str
    pid_mode: str
    host_pid: int | None  # State.Pid: the target's PID 1 as the host sees it
    userns_mode: str = ""  # HostConfig.UsernsMode: "" (the engine's), host, private (Podman)
    # Every group its process has (primary, /etc/group membership, --group-add), as the
    # engine computes them; None when they could not be read.
    account: ContainerUser | None = None
    kind: Literal["container"] = "container"
    exit_reason: ExitReason | None = None  # why it stopped / restarts (None: runs, never did)

    @property
    def running(self) -> bool:
        """Running or paused: something a sidecar can join."""
        return self.state in ("running", "paused")

    @property
    def crash_looping(self) -> bool:
        """Restarting, or restarted moments ago: no process stays up long enough to join."""
        return self.state == "restarting" or bool(self.exit_reason and
                                                   self.exit_reason.crash_looping)

    @property
    def label(self) -> str:
        return self.name or self.id[:12]

    @property
    def supplementary_gids(self) -> tuple[int, ...]:
        """The groups its process has beyond its primary one (a sidecar gets them with
        --group-add; numbers, so that any image's /etc/group will do)."""
        if self.account is None:
            return ()
        return tuple(sorted(self.account.gids - {self.user.gid}))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "id": self.id, "name": self.name, "image": self.image,
            "image_id": self.image_id, "state": self.state, "user": self.user.to_json(),
            "account": self.account.to_json() if self.account else None,
            "shell": self.shell, "network_mode": self.network_mode, "pid_mode": self.pid_mode,
            "userns_mode": self.userns_mode,
            "exit": self.exit_reason.to_json() if self.exit_reason else None,
        }


@dataclass(frozen=True)
class ImageTarget:
    """An image to explore with no container (`dhitui debug --image`)."""

    ref: str
    image_id: str
    user: UserSpec
    shell: str | None
    path_env: str | None
    kind: Literal["image"] = "image"

    @property
    def label(self) -> str:
        return self.ref

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "ref": self.ref, "image_id": self.image_id,
            "user": self.user.to_json(), "shell": self.shell,
        }


Target = ContainerTarget | ImageTarget


@dataclass(frozen=True)
class ToolboxInfo:
    """The toolbox image and how its shell can be started."""

    ref: str
    image_id: str | None  # None: not present locally
    shell: str | None  # path of its shell inside the toolbox (when it is the sidecar's root)
    mount_shell: str | None  # the same, when it also works with the toolbox mounted at /dbg
    problem: str | None = None  # why it cannot be used at all (no shell, unreadable)
    # Why it cannot run from another root (mounted at /dbg, or inside a target): a fact, with
    # no advice (each strategy says what can be done instead: see TOOLBOX_ADVICE).
    mount_problem: str | None = None

    @property
    def present(self) -> bool:
        return self.image_id is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref, "present": self.present, "image_id": self.image_id,
            "shell": self.shell, "mount_shell": self.mount_shell, "problem": self.problem,
            "mount_problem": self.mount_problem,
        }


# --------------------------------------------------------------------------- targets


def container_target(
    engine: Engine, target: str | Classification, classifier: Classifier | None = None
) -> ContainerTarget:
    """Look a container up (by name, id or id prefix) and describe it as a session target.

    A `Classification` the caller already has (the TUI's) is reused for the user and shell
    when it came from an inspect (one made from the list carries the image's user); otherwise
    the container is classified (through `classifier`, to share its image cache).
    The state always comes from a fresh inspect. Raises NotFound for no such container."""
    ref = target.container_id if isinstance(target, Classification) else target
    inspect = engine.inspect_container(ref)
    config = inspect.get("Config") or {}
    host_config = inspect.get("HostConfig") or {}
    classified_state = ""
    account: ContainerUser | None = None
    if classifier is not None:
        if (isinstance(target, Classification) and target.container_id == inspect["Id"]
                and target.inspected):
            shell, classified_state = target.shell, str(target.state)
        else:
            # The caller's classifier shares its image cache across many plans (doctor).
            c = classifier.classify_inspected(inspect)
            shell, classified_state = c.shell, str(c.state)
        facts = classifier.facts.image_facts(str(inspect.get("Image") or ""), inspect["Id"])
        raw_user = str(config.get("User") or "").strip()
        account = container_user(raw_user, _source(raw_user, facts.config_user), facts.passwd,
                                 facts.group_members, host_config.get("GroupAdd"))
        user = account.spec
    else:
        account, shell = session_facts(engine, inspect)
        user = account.spec
    state = inspect.get("State") or {}
    status = (container_status(inspect) if state.get("Status") or state.get("Restarting")
              else classified_state)
    pid = state.get("Pid")
    return ContainerTarget(
        id=inspect["Id"],
        name=(inspect.get("Name") or "").lstrip("/"),
        image=config.get("Image") or "",
        image_id=inspect.get("Image") or "",
        state=status,
        user=user,
        shell=shell,
        path_env=_env_value(config.get("Env"), "PATH"),
        network_mode=str(host_config.get("NetworkMode") or "default"),
        pid_mode=str(host_config.get("PidMode") or ""),
        host_pid=int(pid) if isinstance(pid, int) and pid > 0 else None,
        userns_mode=str(host_config.get("UsernsMode") or ""),
        account=account,
        exit_reason=read_exit_reason(engine, inspect) if needs_reason(inspect) else None,
    )


def session_facts(engine: Engine, inspect: dict[str, Any]
                  ) -> tuple[ContainerUser, str | None]:
    """The two things a plan needs to know of a container it has no classification for:
    who it runs as, with every group (as the engine computes them), and its shell (the first
    of SHELLS, as classification finds it).

    Cheaper than classifying it (which also looks for package managers and names the
    image's origin, for the verdict): the shell paths are stat'ed through the container
    itself, so its own writable layer counts; /etc/passwd is read when the user setting has
    a name or a uid to resolve, /etc/group when the user names no group (it may give the
    user supplementary groups) or a group to resolve. Raises NotFound when the container
    goes away meanwhile (a missing container answers 404 like a missing path does)."""
    cid = inspect["Id"]
    raw_user = str((inspect.get("Config") or {}).get("User") or "").strip()
    group_add = (inspect.get("HostConfig") or {}).get("GroupAdd") or []
    prober = PathProber(engine, cid)
    shell: str | None = None
    passwd: dict[str, tuple[int, int]] | None = None
    groups: dict[str, tuple[int, tuple[str, ...]]] | None = None
    try:
        shell = find_shell(prober).shell
        if raw_user:
            passwd = read_passwd(engine, cid)
        group_part = raw_user.partition(":")[2]
        if (":" not in raw_user or (group_part and not group_part.isdigit())
                or any(not str(g).isdigit() for g in group_add)):
            groups = read_group_members(engine, cid)
        # Nothing found could mean the container went away: "/" is always there.
        if shell is None and engine.stat_path(cid, "/") is None:
            raise NotFound(f"container {cid[:12]} went away while it was being looked at")
    except EngineError:
        # Unreadable (e.g. being removed): what could not be read stays unknown; the plan
        # treats it as no shell, and a user name without its passwd as an unknown uid.
        pass
    source = _source(raw_user, _image_user(engine, inspect) if raw_user else "")
    return container_user(raw_user, source, passwd, groups, group_add), shell


def _source(raw_user: str, image_user: str) -> UserSource:
    """Where the container's user setting came from, as classification says it."""
    if not raw_user:
        return "default"
    return "image" if raw_user == image_user.strip() else "container"


def _image_user(engine: Engine, inspect: dict[str, Any]) -> str:
    try:
        return str((engine.inspect_image(str(inspect.get("Image") or "")).get("Config")
                    or {}).get("User") or "")
    except (NotFound, EngineError):
        return ""


def helper_labels(machine: L.Machine | None) -> HelperLabels:
    """The labels of the helper containers that look at images for a plan (made when one
    is created: most plans need none)."""
    return lambda: L.helper_labels(L.new_session_id(), machine or L.Machine.current())


def image_target(engine: Engine, ref: str, machine: L.Machine | None = None,
                 facts: ImageFactsCache | None = None) -> ImageTarget:
    """Describe a local image as a session target; NotFound when it is not present."""
    image = engine.inspect_image(ref)
    config = image.get("Config") or {}
    facts = facts if facts is not None else ImageFactsCache(engine)
    files: ImageFiles = facts.image_files(image["Id"], helper_labels(machine))
    raw_user = str(config.get("User") or "")
    user = resolve_user(raw_user, "image" if raw_user else "default", files.passwd, files.groups)
    return ImageTarget(
        ref=ref,
        image_id=image["Id"],
        user=user,
        shell=files.shell,
        path_env=_env_value(config.get("Env"), "PATH"),
    )


def toolbox_info(engine: Engine, ref: str, machine: L.Machine | None = None,
                 facts: ImageFactsCache | None = None) -> ToolboxInfo:
    """Is the toolbox present locally, and how is its shell started (as root, or mounted)?"""
    try:
        image = engine.inspect_image(ref)
    except NotFound:
        return ToolboxInfo(ref, None, None, None)
    facts = facts if facts is not None else ImageFactsCache(engine)
    try:
        files = facts.image_files(image["Id"], helper_labels(machine))
    except (EngineError, NotFound) as exc:
        # The toolbox serves only some strategies: report it there, do not fail the plan.
        return ToolboxInfo(ref, image["Id"], None, None,
                           problem=f"the toolbox image {ref} could not be looked at: {exc}")
    if files.shell is None:
        return ToolboxInfo(ref, image["Id"], None, None,
                           problem=f"the toolbox image {ref} has no shell "
                           f"(looked for {', '.join(SHELLS)})")
    problem = None
    if not files.mountable:
        problem = (f"its shell {files.shell} is reached through {files.unmountable_why}, which "
                   "would resolve inside the other root")
    elif files.interpreter:
        problem = (f"its shell is dynamically linked (interpreter {files.interpreter}), which "
                   "would be looked up in the other root")
    return ToolboxInfo(ref, image["Id"], files.shell, None if problem else files.shell,
                       mount_problem=problem)


def _env_value(env: object, key: str) -> str | None:
    if not isinstance(env, list):
        return None
    for item in env:
        if isinstance(item, str) and item.startswith(key + "="):
            return item[len(key) + 1 :]
    return None


def safe_path_entries(path_env: str | None) -> list[str]:
    """The entries of a container's PATH that are plain absolute paths (others dropped)."""
    return [p for p in (path_env or "").split(":") if p.startswith("/") and _SAFE_WORD.fullmatch(p)]


def safe_word(text: str) -> bool:
    return bool(_SAFE_WORD.fullmatch(text))


# --------------------------------------------------------------------------- the command


@dataclass(frozen=True)
class CommandCheck:
    """Where the command a session is to run (`-- CMD ARG…`) can be found: on the target's
    PATH (as `docker exec` looks it up), and in the toolbox."""

    name: str
    target_path: tuple[str, ...]  # the PATH looked through in the target
    in_target: str | None  # where the target has it; None: not on its PATH
    in_toolbox: str | None  # where the toolbox has it (in its own root); None: absent/unknown
    toolbox_mountable: bool = False  # ...and it still works mounted at /dbg

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "target_path": list(self.target_path),
                "in_target": self.in_target, "in_toolbox": self.in_toolbox,
                "toolbox_mountable": self.toolbox_mountable}


def check_command(
    engine: Engine, target: Target, toolbox: ToolboxInfo | None, command: tuple[str, ...],
    machine: L.Machine | None = None, facts: ImageFactsCache | None = None,
) -> CommandCheck | None:
    """Can the target run `command` itself, and does the toolbox have it? None when there is
    nothing to check: a target without a shell (exec is out anyway), or a relative path
    (`./x`, which depends on the working directory). Looked up through `facts` (kept per
    image: a container's writable layer could add a command, which is rare enough not to
    look again per container, as for shells)."""
    name = command[0]
    if not target.shell or ("/" in name and not name.startswith("/")):
        return None
    facts = facts if facts is not None else ImageFactsCache(engine)
    labels = helper_labels(machine)
    path = tuple(safe_path_entries(target.path_env or DEFAULT_PATH))
    via = target.id if isinstance(target, ContainerTarget) else None
    in_target, _ = facts.command_path(target.image_id, via, name, path, labels)
    in_toolbox: str | None = None
    mountable = False
    if in_target is None and toolbox is not None and toolbox.image_id and not toolbox.problem:
        in_toolbox, mountable = facts.command_path(toolbox.image_id, None, name,
                                                   TOOLBOX_PATH_DIRS, labels, relocation=True)
    return CommandCheck(name, path, in_target, in_toolbox, mountable)
