"""Where a sidecar session stands in a running container: inside it, or beside it (pure).

The two sidecar strategies (`image-mount`, `toolbox`) can open a running container two ways:

- **inside** (the default wherever it can work): the session is a process started in the
  target (`docker exec`). Its `/` is the target's live root as the target's process sees it
  (writable layer, volumes and bind mounts at their paths, `/proc` of its PID namespace),
  and it runs as the target's own user, groups, capabilities and seccomp profile. The target
  has no tools, so a *holder* sidecar brings them: it joins the target's PID namespace and
  keeps the toolbox as its root (the toolbox image, or the target's image with the toolbox
  mounted at /dbg), and from inside the target that root is `/proc/<holder pid>/root`. The
  kernel lets a process follow another's `/proc/PID/root` when both have the same uid and
  gid and the other holds no capability the first lacks: so the holder runs as the
  session's uid:gid with `--cap-drop ALL`, and no capability is added anywhere. Nothing is
  written into the target (it works on a read-only root filesystem).
- **beside**: the sidecar's own shell; its `/` is the toolbox (or the target's image as
  built), the target's live files are at `/proc/1/root`.

`choose_view` decides, from facts already gathered, whether inside can work here, and says
why not in one line; what the engine then says is handled by the runner (a session that
cannot be started inside falls back to beside under `auto`).
"""

from __future__ import annotations

from dataclasses import dataclass

from dhitui.engine.identity import EngineIdentity
from dhitui.engine.specs import HOLDER_SCRIPT, ImageMount, InsideSpec, SidecarSpec
from dhitui.sessions.targets import (
    MOUNT_POINT,
    TOOLBOX_PATH_DIRS,
    ContainerTarget,
    ToolboxInfo,
    safe_path_entries,
)
from dhitui.strategy_registry import AUTO, BESIDE, INSIDE


@dataclass(frozen=True)
class ViewChoice:
    """The view a strategy's session gets, and why, when `auto` could not give `inside`."""

    view: str  # inside | beside
    requested: str  # auto | inside | beside
    problem: str | None = None  # why inside cannot work here (None: it can)

    @property
    def inside(self) -> bool:
        return self.view == INSIDE

    @property
    def fell_back(self) -> bool:
        """`auto` wanted inside and got beside."""
        return self.requested == AUTO and self.problem is not None


def inside_problem(t: ContainerTarget, toolbox: ToolboxInfo | None, *,
                   root: bool) -> str | None:
    """Why a session cannot stand inside this target, or None when it can."""
    if t.state == "paused":
        return (f"{t.label} is paused, and no process can be started in a paused container "
                f"(`docker unpause {t.label}` first)")
    if not root and (t.user.uid is None or t.user.gid is None):
        return (f"the target's user {t.user.display} has no known uid and gid, and the "
                "session reaches the toolbox only with the same uid and gid as its holder")
    if toolbox is not None and toolbox.present and toolbox.problem is None \
            and toolbox.mount_shell is None:
        return (f"the toolbox {toolbox.ref} cannot run from another root: "
                f"{toolbox.mount_problem}")
    return None


def choose_view(requested: str, t: ContainerTarget, toolbox: ToolboxInfo | None, *,
                root: bool) -> ViewChoice:
    """`inside` where it can work (or when asked for: then its problem blocks the strategy),
    `beside` when asked for or when auto finds inside cannot work."""
    if requested == BESIDE:
        return ViewChoice(BESIDE, requested)
    problem = inside_problem(t, toolbox, root=root)
    if requested == INSIDE:
        return ViewChoice(INSIDE, requested, problem)
    return ViewChoice(BESIDE if problem else INSIDE, requested, problem)


def identity(t: ContainerTarget, *, root: bool) -> str:
    """The uid:gid the session runs as: the target's own (as `docker exec` resolves it from
    the container's user), or root."""
    if root:
        return "0:0"
    return f"{t.user.uid}:{t.user.gid}"


def sidecar_userns(t: ContainerTarget, engine: EngineIdentity) -> str | None:
    """A sidecar (or holder) shares the target's user namespace, where ids are what they are
    to the target: a target run with `--userns host` on a remapped Docker Engine needs its
    sidecar there too (else the runtime cannot join its PID namespace), and a Podman target
    with a private one (`--userns keep-id|auto`) is joined in it."""
    if t.userns_mode == "host":
        return "host"
    if engine.is_podman and t.userns_mode not in ("", "host"):
        return f"container:{t.id}"
    return None


def inside_spec(
    t: ContainerTarget, toolbox: ToolboxInfo, *, engine: EngineIdentity, on_target_image: bool,
    name: str, labels: dict[str, str], command: tuple[str, ...] | None, tty: bool, root: bool,
    privileged: bool,
) -> InsideSpec:
    """The holder and the exec. `on_target_image`: the holder is the target's own image with
    the toolbox mounted at /dbg (image-mount); else the toolbox image is its root (toolbox)."""
    assert toolbox.mount_shell is not None
    tools = MOUNT_POINT if on_target_image else ""
    holder = SidecarSpec(
        image=t.image_id if on_target_image else toolbox.ref,
        name=name, labels=labels, tty=False, entrypoint=tools + toolbox.mount_shell,
        args=("-c", HOLDER_SCRIPT), user=identity(t, root=root), pid_of=t.id, network="none",
        mount=ImageMount(toolbox.ref, MOUNT_POINT, engine) if on_target_image else None,
        cap_drop=("ALL",), security_opt=("no-new-privileges",), userns=sidecar_userns(t, engine),
        keep_logs=True, detach=True, auto_remove=True,
    )
    return InsideSpec(
        holder=holder, container=t.id, tools=tools, shell=toolbox.mount_shell,
        path_dirs=TOOLBOX_PATH_DIRS, target_path=tuple(safe_path_entries(t.path_env)),
        command=command, tty=tty, user="0:0" if root else None, privileged=privileged,
    )


def inside_notes(t: ContainerTarget, toolbox: ToolboxInfo, spec: InsideSpec, *,
                 root: bool) -> list[str]:
    """What `--print` and the panel say of an inside session."""
    groups = ", ".join(t.account.sources) if t.account is not None else "unknown"
    who = ("root (0:0), because --root was asked for, with the target's own capabilities "
           "(none added)" if root else
           f"the target's own user {t.user.display} ({identity(t, root=False)}; groups: "
           f"{groups}), capabilities and seccomp profile, as `docker exec` gives them")
    return [
        f"inside {t.label}: the session is a process started in it (docker exec), so / is its "
        "live root as its process sees it: the writable layer, volumes and bind mounts at "
        "their paths, /proc of its PID namespace; nothing is written into it",
        f"runs as {who}",
        f"tools: the toolbox {toolbox.ref}, first on PATH, at {spec.root(None)}/bin: the root "
        f"of the holder {spec.holder.name}, a container in the target's PID namespace "
        "(<pid>: its pid there, which it prints when it starts)",
        f"no capability is added: the holder runs as {spec.holder.user} with --cap-drop ALL, "
        "no-new-privileges and no network, which is what lets the kernel open its root to "
        "the session (the same uid and gid, no capability the session lacks)",
        "the holder ends when dhitui closes its input (or dies), and is removed",
        f"network: the target's own ({t.network_mode})",
    ]


def where_inside(t: ContainerTarget, toolbox: ToolboxInfo, *, root: bool) -> str:
    """The banner's one line for an inside session."""
    who = "root" if root else identity(t, root=False)
    return (f"inside: / is {t.label}'s live root, the tools of {toolbox.ref} are on PATH, "
            f"you are {who}, no capability added")
