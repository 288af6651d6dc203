"""The `image-mount` strategy: a sidecar built on the target's own image, in the target's PID
and network namespaces, running as the target's user, with the toolbox image mounted
read-only at `/dbg` and its shell as the entrypoint. Needs image mounts (Engine 28+, API
1.48, or Podman). For an image, a container of it with the toolbox mounted and no network.
Inside view (the default for a running container): the session is a process in the target;
beside view: `/` is the image as built and the target's files are at `/proc/1/root`."""

from __future__ import annotations

from dhitui.engine.specs import (
    PROMPT_BESIDE,
    PROMPT_IMAGE,
    ImageMount,
    SessionSpec,
    SidecarSpec,
    shell_args,
    tools_path,
)
from dhitui.sessions.inside import sidecar_userns
from dhitui.sessions.strategies.common import (
    MIN_CLI_FOR_IMAGE_MOUNTS,
    Checks,
    Inputs,
    Strategy,
    StrategyInfo,
    autoremove,
    cli_major,
    finish,
    require_cli,
    require_running,
    require_toolbox,
    sidecar_labels,
)
from dhitui.sessions.strategies.sidecars import (
    beside_note,
    network_note,
    sidecar_user,
    strategy_view,
    target_files_note,
    target_files_path,
    with_view,
)
from dhitui.sessions.targets import (
    MOUNT_POINT,
    TOOLBOX_ADVICE,
    TOOLBOX_PATH_DIRS,
    ContainerTarget,
    ImageTarget,
    safe_path_entries,
)
from dhitui.strategy_registry import StrategyName, Transport

INFO = StrategyInfo(
    name=StrategyName.IMAGE_MOUNT,
    title="a sidecar on the target's own image with the toolbox mounted read-only at "
    f"{MOUNT_POINT}",
    help="a sidecar on the target's own image with the toolbox mounted read-only at "
    f"`{MOUNT_POINT}` (Docker Engine 28+, Podman 2.2+), in the target's PID namespace. "
    "Inside view (default): the session is a process in the target, `/` is its live root "
    "and the toolbox is on PATH; beside view: `/` is the image, the target's files at "
    "`/proc/1/root`.",
    # engine.identity judges it per engine; this is the help screen's wording.
    needs=("image mounts (Docker Engine 28+ / API 1.48, or Podman 2.2+)",
           "the toolbox image present locally",
           "a running container"),
    sidecar=True,
    has_views=True,
)


def build(ins: Inputs) -> Strategy:
    t = ins.target
    checks = Checks()
    require_cli(ins, checks)
    if ins.transport == Transport.CLI:
        major = cli_major(ins.caps.docker_cli)
        checks.need(
            f"docker CLI {MIN_CLI_FOR_IMAGE_MOUNTS}+ (knows --mount type=image)",
            major is None or major >= MIN_CLI_FOR_IMAGE_MOUNTS,
            f"the docker CLI is {ins.caps.docker_cli}; `--mount type=image` needs "
            f"{MIN_CLI_FOR_IMAGE_MOUNTS}.0 or newer (--transport api does not)",
        )
    checks.need(
        f"image mounts ({ins.caps.identity.image_mounts_requirement})", ins.caps.image_mounts,
        ins.caps.identity.image_mounts_why,
    )
    tb = require_toolbox(ins, checks)
    if tb is not None and tb.problem is None:
        # For a running container the toolbox strategy runs such a toolbox as its root.
        instead = ("-s toolbox --view beside runs it as a sidecar's root, or "
                   if isinstance(t, ContainerTarget) and t.running else "")
        checks.need(f"a toolbox that works mounted at {MOUNT_POINT} (static, no absolute links)",
                    tb.mount_shell is not None,
                    f"the toolbox image {tb.ref} cannot work mounted at {MOUNT_POINT}: "
                    f"{tb.mount_problem} ({instead}{TOOLBOX_ADVICE})")
    require_running(ins, checks, allow_paused=True)
    shell = tb.mount_shell if tb and tb.mount_shell else "/bin/sh"
    entry = MOUNT_POINT + shell
    path = tools_path(MOUNT_POINT, shell, TOOLBOX_PATH_DIRS, safe_path_entries(t.path_env))
    tools_note = (f"tools: {MOUNT_POINT}/bin (first on PATH); the sidecar's own / is the "
                  "target's image as built")
    name = ins.sidecar_name
    labels = sidecar_labels(ins, INFO.name)
    if isinstance(t, ImageTarget):
        user = "0:0" if ins.options.root else None
        notes = ["runs as root, because --root was asked for" if ins.options.root
                 else f"runs as the image's user ({t.user.display})",
                 "the image's files are at /; no network", tools_note]
        return finish(
            ins, INFO,
            f"a container of the image with the toolbox mounted read-only at {MOUNT_POINT}",
            checks, notes,
            lambda: SidecarSpec(
                image=t.ref, name=name, labels=labels, tty=ins.options.tty, entrypoint=entry,
                args=shell_args(ins.options.command, own_pid_namespace=True), user=user,
                network="none",
                mount=ImageMount(tb.ref if tb else "", MOUNT_POINT, ins.caps.identity),
                env=(("PATH", path), ("PS1", PROMPT_IMAGE)), privileged=ins.options.privileged,
                auto_remove=autoremove(ins),
            ),
            sidecar=name, labels=labels, where=f"the image's files: /, tools: {MOUNT_POINT}/bin",
        )
    view = strategy_view(ins, checks, tb)
    beside_checks = Checks() if view.inside else checks
    who = sidecar_user(ins, beside_checks, names_resolve=True)
    beside_notes = [beside_note(t, view, "the target's image as built"), who.note,
                    target_files_note(t), tools_note, network_note(t)]
    if t.state == "paused":
        beside_notes.append(f"{t.label} is paused: its processes stay frozen until unpaused")

    def beside() -> SessionSpec:
        return SidecarSpec(
            image=t.image_id, name=name, labels=labels, tty=ins.options.tty, entrypoint=entry,
            args=shell_args(ins.options.command), user=who.user, group_add=who.groups,
            pid_of=t.id, network=f"container:{t.id}", userns=sidecar_userns(t, ins.caps.identity),
            mount=ImageMount(tb.ref if tb else "", MOUNT_POINT, ins.caps.identity),
            env=(("PATH", path), ("PS1", PROMPT_BESIDE)), cap_add=who.caps,
            privileged=ins.options.privileged, auto_remove=autoremove(ins),
        )

    beside_where = (f"beside: / is the target's image as built; its live files: "
                    f"{target_files_path(t)}; tools: {MOUNT_POINT}/bin")
    return with_view(ins, INFO, INFO.title, checks, view, tb, name, labels,
                     on_target_image=True, beside=beside, beside_notes=beside_notes,
                     beside_where=beside_where, beside_ok=beside_checks.ok)
