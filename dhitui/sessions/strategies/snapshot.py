"""The `snapshot` strategy, for a container that does not run (exited, created, dead,
crash-looping): a temporary image of it (`docker commit`, writable layer included), run with
the toolbox at `/dbg`, its volumes, env, working directory and user, and no network; the
image and the sidecar are removed when the session ends (`sessions.snapshot` makes and
removes the image)."""

from __future__ import annotations

from dhitui.engine.specs import PROMPT_SNAPSHOT, ImageMount, SidecarSpec, shell_args, tools_path
from dhitui.sessions import labels as L
from dhitui.sessions.snapshot import SnapshotSpec
from dhitui.sessions.strategies.common import (
    MIN_CLI_FOR_IMAGE_MOUNTS,
    Checks,
    Inputs,
    Strategy,
    StrategyInfo,
    cli_major,
    finish,
    require_cli,
    require_toolbox,
    sidecar_labels,
)
from dhitui.sessions.strategies.sidecars import groups_note, sidecar_user
from dhitui.sessions.targets import (
    MOUNT_POINT,
    TOOLBOX_ADVICE,
    TOOLBOX_PATH_DIRS,
    ImageTarget,
    safe_path_entries,
    safe_word,
)
from dhitui.strategy_registry import StrategyName, Transport, View

INFO = StrategyInfo(
    name=StrategyName.SNAPSHOT,
    title="a temporary snapshot of the container (docker commit) with its volumes, env and "
    f"user, the toolbox at {MOUNT_POINT}, no network",
    help="for a container that does not run (exited, crashed, crash-looping): a temporary "
    "image of it (`docker commit`, writable layer included) run with the toolbox at "
    f"`{MOUNT_POINT}`, its volumes, env, working directory and user, and no network; removed "
    "when the session ends.",
    needs=("the toolbox image present locally", "the engine allows docker commit"),
    sidecar=True,
    opens_stopped=True,
)


def build(ins: Inputs) -> Strategy:
    """A sidecar on a temporary image of the container (see `sessions.snapshot` for why and
    how)."""
    t = ins.target
    checks = Checks()
    summary = INFO.title
    if isinstance(t, ImageTarget):
        checks.block("an image has no container to take a snapshot of (the other strategies "
                     "explore images)")
        return finish(ins, INFO, summary, checks, [], lambda: None)
    require_cli(ins, checks)
    if t.state == "removing":
        checks.block(f"container {t.label} is being removed")
    if ins.options.view == View.INSIDE and t.running and not t.crash_looping:
        checks.block(f"a snapshot is a copy of {t.label}, not the running container "
                     "(--view inside was asked for)")
    tb = require_toolbox(ins, checks)
    # Through the CLI an image mount also needs a CLI that knows `--mount type=image`.
    mounted = ins.caps.image_mounts and (ins.transport != Transport.CLI or (
        (cli_major(ins.caps.docker_cli) or MIN_CLI_FOR_IMAGE_MOUNTS) >= MIN_CLI_FOR_IMAGE_MOUNTS))
    if tb is not None and tb.problem is None:
        checks.need(f"a toolbox that works at {MOUNT_POINT} (static, no absolute links)",
                    tb.mount_shell is not None,
                    f"the toolbox image {tb.ref} cannot work at {MOUNT_POINT}: "
                    f"{tb.mount_problem} ({TOOLBOX_ADVICE})")
    who = sidecar_user(ins, checks, names_resolve=True)
    network = ins.options.network or "none"
    if network.startswith("container:") or not safe_word(network):
        checks.block(f"network {network!r} cannot be used: give a network name "
                     "(a snapshot has no process whose network it could share)")
    elif not ins.network_found:
        checks.block(f"the engine has no network named {network} (`docker network ls` lists "
                     "them; without --network the snapshot runs with none)")
    name = ins.sidecar_name
    labels = sidecar_labels(ins, INFO.name)
    spec = SnapshotSpec(
        container=t.id, label=t.label, session=ins.session,
        labels=L.snapshot_labels(session=ins.session, machine=ins.machine, target_id=t.id,
                                 target_name=t.name),
        copy_toolbox=None if mounted else (tb.ref if tb else ins.caps.toolbox_image),
        mount_point=MOUNT_POINT,
    )
    shell = tb.mount_shell if tb and tb.mount_shell else "/bin/sh"
    entry = MOUNT_POINT + shell
    path = tools_path(MOUNT_POINT, shell, TOOLBOX_PATH_DIRS, safe_path_entries(t.path_env))
    state = {"restarting": "crash-looping: its restart policy is left alone, and the snapshot "
                           "is its filesystem at the moment of the commit",
             "crash-looping": "crash-looping (up for a moment between restarts): its restart "
                              "policy is left alone, and the snapshot is its filesystem at the "
                              "moment of the commit",
             "running": "running: the snapshot is a copy; the running process is not joined "
                        "(the other strategies join it)",
             "paused": "paused: its processes stay frozen, and the snapshot is a copy of its "
                       "files as they are now"}.get(
        "crash-looping" if t.crash_looping and t.state == "running" else t.state,
        f"{t.state}: the snapshot is its filesystem as it was left")
    notes = [
        f"{t.label} is {state}",
        "sees the container's files as they are now, writable layer included, at /; its "
        "volumes and bind mounts at their paths (--volumes-from); its env and working "
        "directory; the app's own entrypoint never runs; the toolbox's shell is PID 1 and "
        "runs your command as its child (Ctrl-C reaches it; no init binary is needed)",
        ("runs as root, because --root was asked for" if ins.options.root else
         f"runs as {who.user}, the container's own user ({groups_note(t)}; --root runs it "
         "as root)")
        if who.user is not None else who.note,
        "no network (--network none)" if network == "none"
        else f"on the network {network}, as asked",
        (f"toolbox: mounted read-only at {MOUNT_POINT} (image mount)" if mounted else
         f"toolbox: this engine cannot mount images, so {spec.copy_toolbox} is copied into the "
         f"snapshot at {MOUNT_POINT} over the Engine API (works with a remote engine; no file "
         "on its host)"),
    ]
    if checks.ok:
        prefix = ins.prefix
        notes += [f"before: {line}" for line in spec.prepare_lines(prefix)]
        notes += [f"after: {line}" for line in spec.cleanup_lines(prefix, name)]
    return finish(
        ins, INFO, summary, checks, notes,
        lambda: SidecarSpec(
            image=spec.image, name=name, labels=labels, tty=ins.options.tty,
            entrypoint=entry, args=shell_args(ins.options.command, own_pid_namespace=True),
            user=who.user, group_add=who.groups, network=network, volumes_from=t.id,
            mount=(ImageMount(tb.ref, MOUNT_POINT, ins.caps.identity)
                   if tb and mounted else None),
            env=(("PATH", path), ("PS1", PROMPT_SNAPSHOT)), privileged=ins.options.privileged,
            auto_remove=False,
        ),
        sidecar=name, labels=labels, snapshot=spec,
        where=f"a snapshot: / is {t.label}'s files as they are now (a copy), its volumes at "
              f"their paths; tools: {MOUNT_POINT}/bin",
    )
