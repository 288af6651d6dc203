"""What the sidecar strategies share (image-mount, toolbox, snapshot): who a sidecar runs as,
where it sees the target's files, and the inside or beside view of a running container.

Reading the target's files at `/proc/1/root` passes the kernel's ptrace access check, which
wants the same uid *and* gid as the target, or CAP_SYS_PTRACE (not in Docker's default set).
Sidecars therefore run as the target's user and get no extra capability (least privilege);
`root=True` runs them as root with `--cap-add SYS_PTRACE` instead, for reading files the
target's user cannot or for tracing. Never `--privileged` unless asked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from dhitui.engine.specs import SessionSpec
from dhitui.sessions import argv as A
from dhitui.sessions import labels as L
from dhitui.sessions.inside import ViewChoice, choose_view, inside_notes, inside_spec, where_inside
from dhitui.sessions.strategies.common import Checks, Inputs, Strategy, StrategyInfo, finish
from dhitui.sessions.targets import ContainerTarget, ToolboxInfo, safe_word
from dhitui.strategy_registry import AUTO


def target_files_path(t: ContainerTarget) -> str:
    """Where a sidecar in the target's PID namespace sees the target's files."""
    if t.pid_mode == "host":
        return f"/proc/{t.host_pid}/root" if t.host_pid else "/proc/<its host pid>/root"
    if t.pid_mode.startswith("container:"):
        return "/proc/<its pid>/root"
    return "/proc/1/root"


def target_files_note(t: ContainerTarget) -> str:
    where = target_files_path(t)
    if t.pid_mode == "host":
        return (f"the target shares the host's PID namespace, so PID 1 is the host's init: "
                f"the target's files are at {where}")
    if t.pid_mode.startswith("container:"):
        return (f"the target shares the PID namespace of {t.pid_mode[len('container:'):]}, "
                "whose process is PID 1 here: find the target's process with `ps` and use "
                f"{where}")
    return f"the target's files (live): {where}; its process is PID 1"


class Identity(NamedTuple):
    """Who a sidecar of a container target runs as."""

    user: str | None  # --user
    caps: tuple[str, ...]  # --cap-add
    groups: tuple[str, ...]  # --group-add: the target's supplementary groups
    note: str


def groups_note(t: ContainerTarget) -> str:
    """The groups the target's process has, and where each comes from."""
    if t.account is None:
        return "its groups could not be read"
    return "groups: " + (", ".join(t.account.sources) or "none")


def sidecar_user(ins: Inputs, checks: Checks, *, names_resolve: bool) -> Identity:
    """Who a sidecar of a container target runs as: its user, uid and gid, and every group
    its process has (`--group-add`, by number); `names_resolve`: the sidecar runs the
    target's image, so a user name means the same."""
    t = ins.target
    assert isinstance(t, ContainerTarget)
    if ins.options.root:
        caps = () if t.user.uid == 0 else ("SYS_PTRACE",)
        why = ("as root" + (" with CAP_SYS_PTRACE (needed to read /proc/1/root of another "
                            "user, and to trace its processes)" if caps else ", like the target"))
        return Identity("0:0", caps, (), f"runs {why}, because --root was asked for")
    u = t.user
    groups = tuple(str(g) for g in t.supplementary_gids)
    if u.uid is not None:
        value = f"{u.uid}:{u.gid}" if u.gid is not None else str(u.uid)
        note = (f"runs as {value}, the target's own user ({groups_note(t)}): the kernel lets "
                "the same uid and gid read /proc/1/root with no extra capability (least "
                "privilege; --root would run it as root with CAP_SYS_PTRACE instead)")
        if u.gid is None:
            note += "; the target's gid is unknown, and a different gid is refused"
        return Identity(value, (), groups, note)
    if names_resolve and u.raw and safe_word(u.raw.replace(":", "")):
        return Identity(u.raw, (), groups,
                         f"runs as {u.raw}, the target's own user (resolved by the target's "
                         f"image, which this sidecar is built on; {groups_note(t)})")
    checks.need(
        "the target's uid", False,
        f"the target runs as {u.display}, whose uid is not known (its image's /etc/passwd does "
        "not list it), so a sidecar cannot match it; use --root (root with CAP_SYS_PTRACE)",
    )
    return Identity(None, (), (), "")


def strategy_view(ins: Inputs, checks: Checks, tb: ToolboxInfo | None) -> ViewChoice:
    """Inside or beside (see `inside`); an inside view asked for that cannot work blocks."""
    t = ins.target
    assert isinstance(t, ContainerTarget)
    view = choose_view(ins.options.view, t, tb, root=ins.options.root)
    if view.inside and view.problem:
        checks.block(f"the inside view cannot be used: {view.problem} (--view beside "
                     "opens the sidecar's own view)")
    return view


def beside_note(t: ContainerTarget, view: ViewChoice, root: str) -> str:
    note = f"beside {t.label}: / is {root}, not the target's live files"
    if view.fell_back:
        note += f" (the inside view cannot be used here: {view.problem})"
    return note


def with_view(ins: Inputs, info: StrategyInfo, summary: str, checks: Checks,
              view: ViewChoice, tb: ToolboxInfo | None, sidecar: str, labels: dict[str, str], *,
              on_target_image: bool, beside: Callable[[], SessionSpec],
              beside_notes: list[str], beside_where: str, beside_ok: bool) -> Strategy:
    """A sidecar strategy's session in the chosen view; an inside one keeps the beside
    session as its fallback when the view was chosen automatically."""
    t = ins.target
    assert isinstance(t, ContainerTarget)
    if not view.inside or tb is None or tb.mount_shell is None:
        return finish(ins, info, summary, checks, beside_notes, beside, sidecar=sidecar,
                      labels=labels, where=beside_where, view=view)
    holder_labels = {**labels, L.ROLE: L.HOLDER_ROLE}
    spec = inside_spec(t, tb, engine=ins.caps.identity, on_target_image=on_target_image,
                       name=sidecar, labels=holder_labels, command=ins.options.command,
                       tty=ins.options.tty, root=ins.options.root,
                       privileged=ins.options.privileged)
    notes = inside_notes(t, tb, spec, root=ins.options.root)
    if checks.ok:
        notes.append("before: " + A.command_line(spec.holder.argv(ins.prefix))
                     + "  (the holder; it prints its pid)")
        notes.append("after: " + A.command_line([*ins.prefix, "rm", "-f", sidecar]))
    fallback = beside if view.requested == AUTO and beside_ok else None
    return finish(ins, info, summary, checks, notes, lambda: spec, sidecar=sidecar,
                  labels=holder_labels, where=where_inside(t, tb, root=ins.options.root),
                  view=view, fallback=fallback, fallback_where=beside_where)


def network_note(t: ContainerTarget) -> str:
    return (f"shares the target's network namespace (--network container:ID; the target's "
            f"own mode is {t.network_mode})")
