"""Session planning without an engine: the argv builder, the choice of strategy and its
reasons, the orphan rule, and the pieces of the runner that need no container."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from dhitui.cli import split_trailing
from dhitui.detect.remotefs import elf_interpreter
from dhitui.engine.capabilities import Capabilities
from dhitui.engine.endpoint import DEFAULT_HOST, Endpoint, TLSFiles
from dhitui.engine.specs import InsideSpec, SidecarSpec
from dhitui.models import UserSpec, resolve_user
from dhitui.sessions import argv as A
from dhitui.sessions import labels as L
from dhitui.sessions.orphans import GONE, judge
from dhitui.sessions.runner import SessionResult, exit_status
from dhitui.sessions.strategies import SessionOptions, SessionPlan, plan
from dhitui.sessions.targets import (
    CommandCheck,
    ContainerTarget,
    ImageTarget,
    ToolboxInfo,
    safe_path_entries,
)

from conftest import skip_or_fail
from polling import poll

CLI = "/usr/bin/docker"
HOST = "unix:///run/e28.sock"
MACHINE = L.Machine(host="here", boot="boot-1")
CID = "c0ffee" + "0" * 58
IMAGE_ID = "sha256:" + "a" * 64


def caps(**changes: object) -> Capabilities:
    base = Capabilities(
        endpoint=HOST, source="flag", reason="--host", context=None, engine_version="28.5.2",
        api_version="1.51", negotiated_api_version="1.51", min_api_version="1.24", os="linux",
        arch="amd64", kernel="6.1", operating_system="Debian", rootless=False, userns=False,
        seccomp_profile="builtin", apparmor=False, selinux=False, cgroup_version="2",
        cgroup_driver="systemd", storage_driver="overlay2", image_mounts=True,
        docker_cli="28.5.2", docker_cli_path=CLI, docker_debug=False, docker_debug_plugin=None,
        toolbox_image="busybox", toolbox_image_present=True, containers_running=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


E20 = {"engine_version": "20.10.24", "api_version": "1.41", "image_mounts": False}
PLUGIN = {"docker_debug": True, "docker_debug_plugin": {"name": "debug", "path": "/x"}}


def target(**changes: object) -> ContainerTarget:
    base = ContainerTarget(
        id=CID, name="payments-api", image="dhi.io/app:1", image_id=IMAGE_ID, state="running",
        user=resolve_user("65532", "image", {"nonroot": (65532, 65532)}, {}), shell=None,
        path_env="/usr/local/bin:/usr/bin:/bin", network_mode="none", pid_mode="",
        host_pid=4242,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


TOOLBOX = ToolboxInfo("busybox", "sha256:" + "b" * 64, "/bin/sh", "/bin/sh")
ENDPOINT = Endpoint(url=HOST, source="flag", reason="--host")


def make_plan(t: ContainerTarget | ImageTarget | None = None, *, c: Capabilities | None = None,
              toolbox: ToolboxInfo | None = TOOLBOX, endpoint: Endpoint = ENDPOINT,
              **options: object) -> SessionPlan:
    return plan(t or target(), caps=c or caps(), endpoint=endpoint, toolbox=toolbox,
                options=SessionOptions(**options),  # type: ignore[arg-type]
                session="f" * 32, machine=MACHINE)


# --------------------------------------------------------------------------- engine selection


@pytest.mark.parametrize(("endpoint", "expected"), [
    (Endpoint(DEFAULT_HOST, "default", "default"), [CLI]),
    (Endpoint("unix:///run/user/1000/docker.sock", "well-known", "rootless"),
     [CLI, "-H", "unix:///run/user/1000/docker.sock"]),
    (Endpoint(HOST, "flag", "--host"), [CLI, "-H", HOST]),
    (Endpoint("tcp://192.0.2.1:2376", "env", "DOCKER_HOST"), [CLI, "-H", "tcp://192.0.2.1:2376"]),
    (Endpoint("unix:///run/ctx.sock", "context", "ctx", context="prod"),
     [CLI, "--context", "prod"]),
    (Endpoint("tcp://192.0.2.1:2376", "env", "DOCKER_HOST",
              tls=TLSFiles("/c/ca.pem", "/c/cert.pem", "/c/key.pem", verify=True)),
     [CLI, "-H", "tcp://192.0.2.1:2376", "--tlsverify", "--tlscacert", "/c/ca.pem",
      "--tlscert", "/c/cert.pem", "--tlskey", "/c/key.pem"]),
    (Endpoint("tcp://192.0.2.1:2376", "flag", "--host",
              tls=TLSFiles(None, "/c/cert.pem", "/c/key.pem", verify=False)),
     [CLI, "-H", "tcp://192.0.2.1:2376", "--tls", "--tlscert", "/c/cert.pem", "--tlskey",
      "/c/key.pem"]),
])
def test_docker_prefix_targets_exactly_the_resolved_engine(endpoint: Endpoint,
                                                           expected: list[str]) -> None:
    assert A.docker_prefix(CLI, endpoint) == expected


def test_child_env_cannot_redirect_the_cli() -> None:
    env = {"DOCKER_HOST": "tcp://evil:2375", "DOCKER_CONTEXT": "other", "DOCKER_TLS_VERIFY": "1",
           "DOCKER_CERT_PATH": "/x", "DOCKER_TLS": "1", "DOCKER_CONFIG": "/cfg", "HOME": "/h"}
    assert A.child_env(env) == {"DOCKER_CONFIG": "/cfg", "HOME": "/h"}


# --------------------------------------------------------------------------- argv


def test_command_words_are_arguments_never_shell_text() -> None:
    words = ["sh", "-c", "echo $HOME; rm -rf /", "'quoted' \"double\" $(x)"]
    p = make_plan(command=tuple(words), tty=False)
    argv = list(p.argv)
    assert argv[-len(words) - 3:] == ["-c", 'exec "$@"', "dhitui", *words]
    assert shlex.split(p.command_line) == argv  # the printed line is the argv, exactly
    assert "-t" not in argv


def test_docker_debug_command_is_the_users_words_quoted_and_target_separate() -> None:
    p = make_plan(c=caps(**PLUGIN), command=("ls", "-l", "/a b"), tty=False)
    assert p.chosen is not None and p.chosen.name == "docker-debug"
    assert list(p.argv) == [CLI, "-H", HOST, "debug", "--command", "ls -l '/a b'", CID]


def test_control_characters_never_reach_an_argv() -> None:
    assert A.check_argv(["docker", "run", "x\x1b]0;owned\x07"]) is not None
    assert A.check_argv(["docker", "run", "x"]) is None
    assert safe_path_entries("/usr/bin:/evil\x1b[2J:relative:/ok/bin") == ["/usr/bin", "/ok/bin"]
    weird = target(user=UserSpec(raw="ev\x1bil", source="container", name="ev\x1bil"))
    p = make_plan(weird, strategy="image-mount")
    assert not p.runnable and all("\x1b" not in a for s in p.strategies for a in s.argv)


# --------------------------------------------------------------------------- choosing


def test_engine_28_hardened_gets_image_mount_with_every_promise() -> None:
    """The beside view: the sidecar's own shell, the target's files at /proc/1/root."""
    p = make_plan(view="beside")
    assert p.chosen is not None and p.chosen.name == "image-mount" and p.runnable
    assert p.chosen.view == "beside" and p.chosen.fallback is None
    argv = list(p.argv)
    assert argv[:6] == [CLI, "-H", HOST, "run", "--rm", "-i"]
    assert "-t" in argv  # interactive by default
    assert argv[argv.index("--pull"):argv.index("--pull") + 2] == ["--pull", "never"]
    assert argv[argv.index("--pid") + 1] == f"container:{CID}"
    assert argv[argv.index("--network") + 1] == f"container:{CID}"
    assert argv[argv.index("--user") + 1] == "65532:65532"
    assert argv[argv.index("--mount") + 1] == "type=image,source=busybox,destination=/dbg,ro"
    assert argv[argv.index("--entrypoint") + 1] == "/dbg/bin/sh"
    path = next(a for a in argv if a.startswith("PATH="))
    assert path.startswith("PATH=/dbg/bin:") and path.endswith(":/usr/local/bin:/usr/bin:/bin")
    assert argv[-1] == IMAGE_ID  # the target's exact image, not a tag that may have moved
    assert "--privileged" not in argv and "--cap-add" not in argv
    name = argv[argv.index("--name") + 1]
    assert name == p.chosen.sidecar and name.startswith("dhitui-debug-payments-api-")
    assert p.chosen.labels[L.SIDECAR] == "1" and p.chosen.labels[L.TARGET] == CID
    assert p.chosen.labels[L.TARGET_NAME] == "payments-api"
    assert f"{L.SESSION}={'f' * 32}" in argv
    assert [s.name for s in p.strategies] == ["docker-debug", "image-mount", "toolbox", "exec",
                                              "snapshot"]


PODMAN_431 = {"engine_product": "podman", "engine_version": "4.3.1", "api_version": "1.41",
              "image_mounts": True}


def test_podman_gets_image_mount_in_its_own_spelling() -> None:
    """Podman 4.3 reports API 1.41 yet mounts images; its parser rejects `ro`, and its
    `--rm` loses the exit status (before 4.6), so dhitui removes the sidecar itself."""
    p = make_plan(c=caps(**PODMAN_431), view="beside")
    assert p.chosen is not None and p.chosen.name == "image-mount" and p.runnable
    argv = list(p.argv)
    assert argv[argv.index("--mount") + 1] == "type=image,source=busybox,destination=/dbg"
    assert "--rm" not in argv and p.chosen.sidecar_autoremove is False
    docker28 = list(make_plan(view="beside").argv)
    assert docker28[docker28.index("--mount") + 1].endswith(",destination=/dbg,ro")
    assert "--rm" in docker28
    assert make_plan(view="beside").chosen.sidecar_autoremove  # type: ignore[union-attr]
    newer = make_plan(c=caps(**{**PODMAN_431, "engine_version": "5.2.0"}), view="beside")
    assert "--rm" in newer.argv
    # Inside, the holder's mount is spelled the same way; it needs no exit status, so the
    # engine removes it on every version.
    inside = make_plan(c=caps(**PODMAN_431)).chosen
    assert inside is not None and isinstance(inside.spec, InsideSpec)
    holder = inside.spec.holder.argv([CLI])
    assert holder[holder.index("--mount") + 1] == "type=image,source=busybox,destination=/dbg"
    assert "--rm" in holder and inside.spec.holder.create_body()["HostConfig"]["AutoRemove"]
    old = make_plan(c=caps(**{**PODMAN_431, "engine_version": "2.1.0", "image_mounts": False}))
    mount = old.strategy("image-mount")
    assert not mount.available
    assert any("Podman 2.1.0 cannot mount images: that needs Podman 2.2+" in r
               for r in mount.reasons)


def test_engine_28_hardened_gets_a_session_inside_it_by_default() -> None:
    """Inside: an exec in the target as its own user, the toolbox from a holder that runs as
    the same uid:gid with no capability, in its PID namespace, with no network."""
    from dhitui.engine.specs import HOLDER_SCRIPT

    p = make_plan()
    s = p.chosen
    assert s is not None and s.name == "image-mount" and p.runnable and s.view == "inside"
    assert isinstance(s.spec, InsideSpec)
    argv = list(p.argv)
    assert argv[:6] == [CLI, "-H", HOST, "exec", "-i", "-t"]
    assert "--user" not in argv  # the target's own user, as `docker exec` resolves it
    assert "--privileged" not in argv
    tools = "/proc/<pid>/root/dbg"
    assert argv[-2:] == [CID, f"{tools}/bin/sh"]
    path = next(a for a in argv if a.startswith("PATH="))
    assert path == (f"PATH={tools}/bin:{tools}/usr/bin:{tools}/sbin:{tools}/usr/sbin:"
                    "/usr/local/bin:/usr/bin:/bin")
    assert "PS1=[dhitui inside] \\w \\$ " in argv
    exact = s.spec.exec_spec(7)
    assert exact.cmd == ("/proc/7/root/dbg/bin/sh",) and exact.user is None
    assert dict(exact.env)["PATH"].startswith("/proc/7/root/dbg/bin:")
    holder = s.spec.holder.argv([CLI])
    assert holder[:5] == [CLI, "run", "-d", "--rm", "-i"] and "-t" not in holder
    assert holder[holder.index("--pid") + 1] == f"container:{CID}"
    assert holder[holder.index("--network") + 1] == "none"
    assert holder[holder.index("--user") + 1] == "65532:65532"
    assert holder[holder.index("--cap-drop") + 1] == "ALL" and "--cap-add" not in holder
    assert holder[holder.index("--security-opt") + 1] == "no-new-privileges"
    assert holder[holder.index("--mount") + 1] == "type=image,source=busybox,destination=/dbg,ro"
    assert holder[holder.index("--entrypoint") + 1] == "/dbg/bin/sh"
    assert holder[-3:] == [IMAGE_ID, "-c", HOLDER_SCRIPT] and "--privileged" not in holder
    assert s.labels[L.ROLE] == L.HOLDER_ROLE and s.sidecar == s.spec.holder.name
    assert any(n.startswith("before: ") and " run -d --rm -i " in n for n in s.notes)
    assert any("no capability is added" in n for n in s.notes)
    assert s.where.startswith("inside: / is payments-api's live root")
    # Chosen automatically: if the engine cannot start it inside, the beside session.
    assert isinstance(s.fallback, SidecarSpec) and s.fallback.pid_of == CID
    assert s.fallback_where.startswith("beside: ")
    assert make_plan(view="inside").chosen.fallback is None  # type: ignore[union-attr]
    command = make_plan(command=("cat", "/etc/os-release"), tty=False)
    assert list(command.argv)[-6:] == [f"{tools}/bin/sh", "-c", 'exec "$@"', "dhitui", "cat",
                                       "/etc/os-release"]
    assert "-t" not in command.argv


def test_engine_20_hardened_gets_the_toolbox_inside_it() -> None:
    p = make_plan(c=caps(**E20))
    s = p.chosen
    assert s is not None and s.name == "toolbox" and s.view == "inside"
    assert isinstance(s.spec, InsideSpec)
    assert list(p.argv)[-1] == "/proc/<pid>/root/bin/sh"  # the toolbox is the holder's root
    holder = s.spec.holder.argv([CLI])
    assert "--mount" not in holder and holder[holder.index("-c") - 1] == "busybox"
    assert holder[holder.index("--entrypoint") + 1] == "/bin/sh"


@pytest.mark.parametrize(("change", "why"), [
    ({"state": "paused"}, "payments-api is paused, and no process can be started in a paused "
                          "container (`docker unpause payments-api` first)"),
    ({"user": resolve_user("app", "image", {}, {})},
     "the target's user app (uid unknown) has no known uid and gid"),
])
def test_where_the_inside_view_cannot_work_auto_says_why_and_stands_beside(
        change: dict[str, object], why: str) -> None:
    p = make_plan(target(**change))
    s = p.chosen
    assert s is not None and s.view == "beside" and s.fallback is None and p.runnable
    assert s.view_problem is not None and s.view_problem.startswith(why)
    assert any(n.startswith("beside payments-api: ") and why in n for n in s.notes)
    # Asked for, it cannot be had: every strategy says why (a snapshot would be a copy).
    asked = make_plan(target(**change), view="inside")
    assert not asked.runnable
    for name in ("image-mount", "toolbox"):
        assert any(why in r and "--view beside" in r for r in asked.strategy(name).reasons)
    assert any("not the running container" in r for r in asked.strategy("snapshot").reasons)


def test_a_toolbox_that_works_only_as_a_root_stands_beside() -> None:
    absolute = ToolboxInfo("alpine-tools", "sha256:" + "c" * 64, "/bin/sh", None,
                           mount_problem="its shell /bin/sh is reached through an absolute "
                           "symlink (/bin/sh -> /bin/busybox)")
    p = make_plan(c=caps(**E20), toolbox=absolute)
    s = p.chosen
    assert s is not None and s.name == "toolbox" and s.view == "beside"
    assert s.view_problem == ("the toolbox alpine-tools cannot run from another root: its shell "
                              "/bin/sh is reached through an absolute symlink (/bin/sh -> "
                              "/bin/busybox)")


def test_the_holder_shares_the_targets_user_namespace() -> None:
    def holder(c: Capabilities, mode: str) -> list[str]:
        s = make_plan(target(userns_mode=mode), c=c).chosen
        assert s is not None and isinstance(s.spec, InsideSpec)
        return s.spec.holder.argv([CLI])

    # `--userns host` on a remapped Docker Engine: the holder too.
    assert holder(caps(), "host")[holder(caps(), "host").index("--userns") + 1] == "host"
    assert "--userns" not in holder(caps(), "")
    # Podman `--userns keep-id|auto`: a private namespace, joined.
    podman = caps(**PODMAN_431)
    private = holder(podman, "private")
    assert private[private.index("--userns") + 1] == f"container:{CID}"
    assert "--userns" not in holder(podman, "")


def test_engine_20_hardened_gets_toolbox_as_the_targets_user() -> None:
    p = make_plan(c=caps(**E20), view="beside")
    assert p.chosen is not None and p.chosen.name == "toolbox"
    mount = p.strategy("image-mount")
    assert not mount.available and any("API 1.48" in r for r in mount.reasons)
    argv = list(p.argv)
    assert argv[argv.index("--user") + 1] == "65532:65532"
    assert argv[argv.index("--entrypoint") + 1] == "/bin/sh" and argv[-1] == "busybox"
    assert "--cap-add" not in argv and "--mount" not in argv
    assert any("least privilege" in n for n in p.chosen.notes)


def test_container_with_a_shell_gets_exec_even_with_docker_debug_installed() -> None:
    p = make_plan(target(shell="/bin/sh", user=resolve_user("", "default")), c=caps(**PLUGIN))
    assert p.chosen is not None and p.chosen.name == "exec"
    assert list(p.argv) == [CLI, "-H", HOST, "exec", "-i", "-t", CID, "/bin/sh"]
    assert p.strategies[0].name == "exec"
    cmd = make_plan(target(shell="/bin/sh"), command=("ls", "/"), tty=False)
    assert list(cmd.argv) == [CLI, "-H", HOST, "exec", "-i", CID, "ls", "/"]


def test_docker_debug_is_first_for_a_shell_less_container_when_installed() -> None:
    p = make_plan(c=caps(**PLUGIN))
    assert p.chosen is not None and p.chosen.name == "docker-debug"
    assert list(p.argv) == [CLI, "-H", HOST, "debug", CID]
    assert p.chosen.sidecar is None  # docker debug cleans up after itself


def test_requested_strategy_is_used_or_explained() -> None:
    p = make_plan(strategy="toolbox")
    assert p.chosen is not None and p.chosen.name == "toolbox" and p.runnable
    bad = make_plan(c=caps(**E20), strategy="image-mount")
    assert not bad.runnable and bad.problem is not None
    assert bad.problem.startswith("strategy image-mount cannot be used")
    assert "20.10.24" in bad.problem and "API 1.48" in bad.problem
    no_shell = make_plan(strategy="exec")
    assert not no_shell.runnable and "has no shell" in (no_shell.problem or "")


@pytest.mark.parametrize("state", ["exited", "created", "dead", "restarting"])
def test_container_that_does_not_run_gets_a_snapshot(state: str) -> None:
    p = make_plan(target(state=state))
    assert p.runnable and p.chosen is not None and p.chosen.name == "snapshot"
    assert [s.name for s in p.strategies][:2] == ["docker-debug", "snapshot"]
    # The others say why they are out.
    why = "crash-looping" if state == "restarting" else f"not running ({state})"
    assert any(why in r for r in p.strategy("image-mount").reasons)
    argv = list(p.argv)
    assert "--rm" not in argv  # removed by dhitui, keeping the volumes it borrowed
    assert argv[argv.index("--volumes-from") + 1] == CID
    assert argv[argv.index("--network") + 1] == "none"
    assert argv[argv.index("--entrypoint") + 1] == "/dbg/bin/sh"
    assert argv[argv.index("--user") + 1] == "65532:65532"
    assert "--pid" not in argv and "--cap-add" not in argv
    assert "type=image,source=busybox,destination=/dbg,ro" in argv  # Engine 28: mounted
    # No init: the toolbox's shell is PID 1 and runs a command as its child; Ctrl-C is a
    # `kill -INT -1` run in the sidecar.
    assert "--init" not in argv
    cmd = make_plan(target(state=state), command=("sleep", "9"), tty=False).chosen
    assert cmd is not None and isinstance(cmd.spec, SidecarSpec)
    assert cmd.spec.args == ("-c", '"$@"; exit $?', "dhitui", "sleep", "9")
    assert cmd.spec.interrupt_cmd == ("/dbg/bin/sh", "-c", "kill -INT -1")
    assert make_plan(command=("sleep", "9"), view="beside").chosen.spec.interrupt_cmd is None  # type: ignore[union-attr]
    spec = p.chosen.snapshot
    assert spec is not None and spec.copy_toolbox is None and spec.container == CID
    assert any(a.startswith("PATH=/dbg/bin:") for a in argv)
    assert f"dhitui-snapshot:{'f' * 32}" in argv
    assert spec.labels[L.SNAPSHOT] == "1" and spec.labels[L.TARGET] == CID
    assert any(n.startswith("before: ") and " commit --pause=false " in n for n in p.chosen.notes)
    # docker debug can open a stopped container's filesystem: first when installed, except
    # for a crash loop.
    dd = make_plan(target(state=state), c=caps(**PLUGIN))
    assert dd.chosen is not None
    assert dd.chosen.name == ("snapshot" if state == "restarting" else "docker-debug")


def test_snapshot_on_engine_20_copies_the_toolbox_in() -> None:
    p = make_plan(target(state="exited"), c=caps(**E20))
    assert p.chosen is not None and p.chosen.name == "snapshot"
    spec = p.chosen.snapshot
    assert spec is not None and spec.copy_toolbox == "busybox"
    assert spec.images == (f"dhitui-snapshot:{'f' * 32}", f"dhitui-snapshot:{'f' * 32}-base")
    assert not any(a.startswith("type=image") for a in p.argv)
    assert any("cp - COPY:/dbg" in n for n in p.chosen.notes)


def test_snapshot_of_a_running_container_only_when_asked() -> None:
    auto = make_plan(target(state="running"))
    assert auto.chosen is not None and auto.chosen.name == "image-mount"
    asked = make_plan(target(state="running"), strategy="snapshot")
    assert asked.runnable and asked.chosen is not None and asked.chosen.name == "snapshot"
    net = make_plan(target(state="exited"), network="backend")
    assert net.argv[list(net.argv).index("--network") + 1] == "backend"
    bad = make_plan(target(state="exited"), network="container:abc")
    assert not bad.strategy("snapshot").available


def test_snapshot_with_root_runs_as_root_without_extra_capabilities() -> None:
    p = make_plan(target(state="exited"), root=True)
    argv = list(p.argv)
    assert argv[argv.index("--user") + 1] == "0:0" and "--cap-add" not in argv


def test_paused_container_blocks_exec_but_not_sidecars() -> None:
    p = make_plan(target(state="paused", shell="/bin/sh"))
    assert not p.strategy("exec").available
    assert "docker unpause" in p.strategy("exec").reasons[0]
    assert p.chosen is not None and p.chosen.name == "image-mount"
    assert any("paused" in n for n in p.chosen.notes)


def test_missing_toolbox_says_so_and_never_pulls() -> None:
    missing = ToolboxInfo("nope/absent:1", None, None, None)
    p = make_plan(toolbox=missing)
    assert not p.runnable
    for name in ("image-mount", "toolbox"):
        reasons = p.strategy(name).reasons
        assert any("nope/absent:1 is not present locally" in r for r in reasons)
        assert any("never pulls" in r for r in reasons)


def test_toolbox_with_absolute_links_cannot_be_mounted_but_can_be_the_root() -> None:
    alpine = ToolboxInfo("alpine-box", "sha256:" + "c" * 64, "/bin/sh", None,
                         mount_problem="its shell is reached through an absolute symlink")
    p = make_plan(toolbox=alpine)
    assert not p.strategy("image-mount").available
    assert "absolute symlink" in p.strategy("image-mount").reasons[0]
    assert p.chosen is not None and p.chosen.name == "toolbox"


def _cmd_plan(check: CommandCheck, toolbox: ToolboxInfo = TOOLBOX, **options: object
              ) -> SessionPlan:
    return plan(target(shell="/bin/sh"), caps=caps(), endpoint=ENDPOINT, toolbox=toolbox,
                options=SessionOptions(command=("cat", "/x"), **options),  # type: ignore[arg-type]
                session="f" * 32, machine=MACHINE, command_check=check)


PATH3 = ("/usr/local/bin", "/usr/bin", "/bin")


def test_a_command_the_target_has_keeps_exec() -> None:
    p = _cmd_plan(CommandCheck("cat", PATH3, "/bin/cat", None))
    assert p.chosen is not None and p.chosen.name == "exec" and p.why is None


def test_a_command_only_the_toolbox_has_picks_a_toolbox_strategy() -> None:
    p = _cmd_plan(CommandCheck("cat", PATH3, None, "/bin/cat", toolbox_mountable=True))
    assert p.chosen is not None and p.chosen.name == "image-mount"
    assert p.why == ("the container has a shell but no `cat` on its PATH; the toolbox busybox "
                     "has it (/bin/cat)")
    # Its copy breaks at /dbg (an absolute link): the toolbox-rooted sidecar has it.
    p = _cmd_plan(CommandCheck("cat", PATH3, None, "/bin/cat", toolbox_mountable=False))
    assert p.chosen is not None and p.chosen.name == "toolbox"
    p = _cmd_plan(CommandCheck("cat", PATH3, None, "/bin/cat"), strategy="exec")
    assert not p.runnable
    assert p.problem == ("strategy exec cannot be used: `cat` is not on the container's PATH "
                         "(/usr/local/bin:/usr/bin:/bin); strategy toolbox has it (the toolbox "
                         "busybox: /bin/cat): use -s toolbox")


def test_a_command_nobody_has_is_said_plainly() -> None:
    p = _cmd_plan(CommandCheck("frob", PATH3, None, None))
    assert p.chosen is not None and p.chosen.name == "image-mount"
    assert p.why is not None and "the toolbox busybox does not have it either" in p.why
    assert p.strategy("exec").reasons == (
        "`frob` is not on the container's PATH (/usr/local/bin:/usr/bin:/bin), nor in the "
        "toolbox busybox",)


def test_no_docker_cli_runs_everything_but_the_plugin_over_the_api() -> None:
    p = make_plan(c=caps(docker_cli=None, docker_cli_path=None, **PLUGIN))
    assert p.runnable and p.transport == "api"
    assert p.chosen is not None and p.chosen.name == "image-mount"
    plugin = p.strategy("docker-debug")
    assert not plugin.available and any("no docker CLI" in r for r in plugin.reasons)
    # The command shown and copied is still the equivalent docker command line.
    assert p.argv[0] == "docker" and "exec" in p.argv


def test_no_docker_cli_and_cli_transport_asked_blocks_everything() -> None:
    p = make_plan(c=caps(docker_cli=None, docker_cli_path=None, **PLUGIN), transport="cli")
    assert not p.runnable
    assert all(any("no docker CLI" in r for r in s.reasons) for s in p.strategies)


def test_auto_transport_is_the_default_and_the_plugin_always_uses_the_cli() -> None:
    from dhitui.strategy_registry import DEFAULT_TRANSPORT

    p = make_plan()
    assert p.transport == DEFAULT_TRANSPORT
    p = make_plan(c=caps(**PLUGIN))
    assert p.chosen is not None and p.chosen.name == "docker-debug"
    assert p.transport == "cli"


def test_old_docker_cli_cannot_mount_images_over_the_cli() -> None:
    p = make_plan(c=caps(docker_cli="27.5.1"), transport="cli")
    assert not p.strategy("image-mount").available
    assert p.chosen is not None and p.chosen.name == "toolbox"
    # The API transport does not care how old the CLI is.
    p = make_plan(c=caps(docker_cli="27.5.1"), transport="api")
    assert p.chosen is not None and p.chosen.name == "image-mount"


def test_root_option_adds_ptrace_only_where_needed() -> None:
    """Beside, root reads another user's /proc/1/root only with CAP_SYS_PTRACE; inside,
    root is the exec's user and the holder's, and nothing is added."""
    p = make_plan(root=True, view="beside")
    argv = list(p.argv)
    assert argv[argv.index("--user") + 1] == "0:0"
    assert argv[argv.index("--cap-add") + 1] == "SYS_PTRACE"
    root_target = make_plan(target(user=resolve_user("", "default")), root=True, view="beside")
    assert "--cap-add" not in root_target.argv  # root reading root needs nothing extra
    priv = make_plan(privileged=True, view="beside")
    assert "--privileged" in priv.argv
    inside = make_plan(root=True).chosen
    assert inside is not None and isinstance(inside.spec, InsideSpec)
    assert inside.argv[inside.argv.index("--user") + 1] == "0:0"
    holder = inside.spec.holder.argv([CLI])
    assert holder[holder.index("--user") + 1] == "0:0" and "--cap-add" not in holder
    assert "--privileged" in make_plan(privileged=True).argv  # the exec, as asked
    assert "--privileged" not in make_plan(privileged=True).chosen.spec.holder.argv([CLI])  # type: ignore[union-attr]


def test_unknown_uid_blocks_the_toolbox_but_not_the_image_mount() -> None:
    t = target(user=resolve_user("app", "image", {}, {}))
    assert t.user.uid is None
    p = make_plan(t)
    assert p.chosen is not None and p.chosen.name == "image-mount"
    assert p.argv[list(p.argv).index("--user") + 1] == "app"  # resolved by the target's image
    tb = p.strategy("toolbox")
    assert not tb.available and "--root" in tb.reasons[0]
    assert make_plan(t, strategy="toolbox", root=True).runnable


def test_host_pid_target_says_where_its_files_are() -> None:
    p = make_plan(target(pid_mode="host", host_pid=777), view="beside")
    assert p.chosen is not None
    assert any("/proc/777/root" in n for n in p.chosen.notes)
    assert "/proc/777/root" in p.chosen.where
    # Inside, its files are at /, wherever its PID namespace is.
    inside = make_plan(target(pid_mode="host", host_pid=777)).chosen
    assert inside is not None and inside.view == "inside" and "live root" in inside.where


def test_image_targets() -> None:
    img = ImageTarget(ref="dhi.io/app:1", image_id=IMAGE_ID,
                      user=resolve_user("65532", "image", {}, {}), shell=None,
                      path_env="/usr/bin:/bin")
    p = make_plan(img)
    assert p.chosen is not None and p.chosen.name == "image-mount"
    argv = list(p.argv)
    assert "--pid" not in argv and argv[argv.index("--network") + 1] == "none"
    assert argv[-1] == "dhi.io/app:1" and "--user" not in argv  # the image's own USER
    assert p.chosen.labels[L.TARGET_IMAGE] == "dhi.io/app:1" and L.TARGET not in p.chosen.labels
    old = make_plan(img, c=caps(**E20))
    assert not old.runnable and old.problem is not None
    assert "Engine 28+" in old.problem and "image" in old.problem
    shell_img = make_plan(replace(img, shell="/bin/sh"), c=caps(**E20))
    assert shell_img.chosen is not None and shell_img.chosen.name == "exec"
    assert shell_img.argv[list(shell_img.argv).index("--entrypoint") + 1] == "/bin/sh"


def test_plan_json_carries_everything_a_ui_needs() -> None:
    data = make_plan().to_json()
    assert data["strategy"] == "image-mount" and data["runnable"] is True
    assert data["argv"] and shlex.split(data["command_line"]) == data["argv"]
    assert {s["name"] for s in data["strategies"]} == {"docker-debug", "image-mount", "toolbox",
                                                        "snapshot",
                                                         "exec"}
    dd = next(s for s in data["strategies"] if s["name"] == "docker-debug")
    assert dd["available"] is False and dd["reasons"] and dd["argv"] == []
    assert {"what": "the docker CLI", "met": True} in dd["needs"]


# --------------------------------------------------------------------------- files


def test_elf_interpreter_of_static_and_dynamic_binaries() -> None:
    busybox = Path("/bin/busybox")  # busybox-static, which scripts/test-engines installs
    if not busybox.exists():
        skip_or_fail("no static binary at /bin/busybox (apt-get install busybox-static)")
    assert elf_interpreter(busybox.read_bytes()[:4096]) == ""
    dynamic = Path(shutil.which("ls") or "/bin/ls").read_bytes()[:4096]
    interp = elf_interpreter(dynamic)
    assert interp and interp.startswith("/lib") and "ld-" in interp
    assert elf_interpreter(b"#!/bin/sh\necho hi\n" + b"\0" * 64) is None


# --------------------------------------------------------------------------- orphans


def labels_for(session: str, **extra: str) -> dict[str, str]:
    """A sidecar's labels, made by a dhitui process that is gone (its start time differs)."""
    return {**L.session_labels(session=session, strategy="toolbox", machine=MACHINE,
                               target_id=CID, target_name="payments-api"),
            L.OWNER_START: "gone", **extra}


def test_judge_live_orphan_unknown() -> None:
    s = "1" * 32
    assert judge(labels_for(s), "running", "running", MACHINE, {s})[0] == "live"
    # Over the API no process's command line names the session: its dhitui process does.
    owned = L.session_labels(session=s, strategy="toolbox", machine=MACHINE, target_id=CID)
    status, why = judge(owned, "running", "running", MACHINE, set())
    assert status == "live" and str(os.getpid()) in why
    status, why = judge(labels_for(s), "running", "running", MACHINE, set())
    assert status == "orphan" and "no process on this machine" in why
    assert judge(labels_for(s), "running", GONE, MACHINE, {s}) == (
        "orphan", "its target payments-api no longer exists")
    assert judge(labels_for(s), "running", "exited", MACHINE, {s})[0] == "orphan"
    rebooted = L.Machine(host="here", boot="boot-2")
    assert judge(labels_for(s), "running", "running", rebooted, {s})[0] == "orphan"
    elsewhere = L.Machine(host="laptop", boot="boot-9")
    status, why = judge(labels_for(s), "running", "running", elsewhere, set())
    assert status == "unknown" and "another machine (here)" in why
    assert judge(labels_for(s), "exited", "running", elsewhere, set())[0] == "orphan"


def test_judge_helpers_by_their_owner_process() -> None:
    here = L.Machine.current()
    mine = L.helper_labels("2" * 32, here)
    assert judge(mine, "created", None, here, set())[0] == "live"
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    gone = {**mine, L.OWNER_PID: str(proc.pid)}
    assert judge(gone, "created", None, here, set())[0] == "orphan"


def test_live_sessions_are_found_in_process_command_lines() -> None:
    session = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()",
                             f"--label=dhitui.session={session}"], stdin=subprocess.PIPE)
    try:
        # Between fork and exec the child still shows our command line: poll, with a deadline.
        poll("the session in /proc", lambda: session in L.live_sessions(), 30, interval=0.01)
    finally:
        proc.communicate(b"")
    assert session not in L.live_sessions()


# --------------------------------------------------------------------------- runner bits


def test_exit_status_and_result_message() -> None:
    assert exit_status(0) == 0 and exit_status(3) == 3
    assert exit_status(-signal.SIGKILL) == 137 and exit_status(-signal.SIGINT) == 130
    r = SessionResult("toolbox", 137, 1.0, sidecar="s", target_running=False,
                      leftover_removed=True)
    assert r.message == ("session ended (exit status 137); the target is no longer running; "
                         "removed the leftover sidecar s")


def test_split_trailing_keeps_the_command_word_for_word() -> None:
    assert split_trailing(["debug", "c", "--", "ls", "--", "-H", "x"]) == (
        ["debug", "c"], ["ls", "--", "-H", "x"])
    assert split_trailing(["debug", "c"]) == (["debug", "c"], None)
    assert split_trailing(["debug", "c", "--"]) == (["debug", "c"], [])


def test_process_start_tells_a_live_pid() -> None:
    assert L.process_start(os.getpid()) is not None
    assert L.owner_process_alive({L.OWNER_PID: str(os.getpid()),
                                  L.OWNER_START: L.process_start(os.getpid()) or ""})
    assert not L.owner_process_alive({L.OWNER_PID: str(os.getpid()), L.OWNER_START: "1"})


# --------------------------------------------------------------------------- image cache


def test_image_cache_round_trip_and_bad_files(tmp_path: Path) -> None:
    from dhitui.detect import disk_cache as image_cache

    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert image_cache.load("sha256:1", "v1", env) is None
    image_cache.store("sha256:1", {"shell": "/bin/sh"}, "v1", env)
    assert image_cache.load("sha256:1", "v1", env) == {"shell": "/bin/sh"}
    assert image_cache.load("sha256:1", "v2", env) is None  # other probe rules: not used
    path = image_cache.cache_path(env)
    assert path == tmp_path / "dhitui" / "image-files.json"
    path.write_text("{not json")
    assert image_cache.load("sha256:1", "v1", env) is None
    image_cache.store("sha256:2", {"shell": None}, "v1", env)  # a corrupt file is replaced
    assert image_cache.load("sha256:2", "v1", env) == {"shell": None}
    for i in range(image_cache.MAX_ENTRIES + 5):
        image_cache.store(f"sha256:x{i}", {}, "v1", env)
    assert image_cache.load("sha256:2", "v1", env) is None  # the oldest went first
    assert image_cache.load(f"sha256:x{image_cache.MAX_ENTRIES + 4}", "v1", env) == {}
    read_only = {"XDG_CACHE_HOME": "/proc/no-such-dir"}
    image_cache.store("sha256:1", {}, "v1", read_only)  # cannot write: silently skipped
    assert image_cache.load("sha256:1", "v1", read_only) is None


def test_image_files_survive_the_disk_and_bad_entries_are_not_used() -> None:
    """What ImageFactsCache writes (`asdict`) reads back equal through JSON; an entry of
    the wrong shape is read as no entry (the image is looked at again), not as facts."""
    import json
    from dataclasses import asdict

    from dhitui.detect.image_facts import ImageFiles, image_files_from_json

    files = ImageFiles(shell="/bin/sh", shell_hops=("/bin/busybox",), mountable=False,
                       unmountable_why="an absolute symlink (/bin/sh -> /bin/busybox)",
                       interpreter="", passwd={"root": (0, 0), "app": (65532, 65532)},
                       groups={"root": 0, "docker": 999})
    entry = json.loads(json.dumps(asdict(files)))
    assert image_files_from_json(entry) == files
    assert image_files_from_json(None) is None
    for broken in ({**entry, "shell": 3}, {**entry, "passwd": {"root": [0]}},
                   {**entry, "unmountable_why": ["x"]}, {k: v for k, v in entry.items()
                                                         if k != "groups"}):
        assert image_files_from_json(broken) is None, broken


# --------------------------------------------------------------------------- one definition


def _parse_run(argv: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """`docker run` options (flag -> values) and the words after the image."""
    takes_value = {"--pull", "--name", "--label", "--log-driver", "--pid", "--network",
                   "--user", "--cap-add", "--cap-drop", "--security-opt", "--userns", "--mount",
                   "--entrypoint", "-e", "--volumes-from", "--group-add"}
    flags: dict[str, list[str]] = {}
    i = argv.index("run") + 1
    while argv[i].startswith("-"):
        flag = argv[i]
        if flag in takes_value:
            flags.setdefault(flag, []).append(argv[i + 1])
            i += 2
        else:
            flags.setdefault(flag, []).append("")
            i += 1
    return flags, argv[i:]


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("product", ["docker", "podman"])
def test_a_sidecar_spec_renders_the_same_container_as_argv_and_as_api_body(
        full: bool, product: str) -> None:
    from dhitui.engine.identity import EngineIdentity
    from dhitui.engine.specs import ImageMount, SidecarSpec

    engine = (EngineIdentity("docker", "28.5.2", "1.51") if product == "docker"
              else EngineIdentity("podman", "4.3.1", "1.41"))
    spec = SidecarSpec(
        image="sha256:" + "a" * 64, name="dhitui-debug-x", labels={"dhitui.sidecar": "1",
                                                                  "dhitui.target": "c0ffee"},
        tty=full, entrypoint="/dbg/bin/sh", args=("-c", 'exec "$@"', "dhitui", "id"),
        user="65532:65532" if full else None, pid_of="c0ffee" if full else None,
        network="container:c0ffee" if full else "none",
        mount=ImageMount("busybox", "/dbg", engine) if full else None,
        env=(("PATH", "/dbg/bin:/bin"), ("PS1", "x")), cap_add=("SYS_PTRACE",) if full else (),
        privileged=full, volumes_from=None if full else "c0ffee", auto_remove=full,
        cap_drop=("ALL",) if full else (), group_add=("4242",) if full else (),
        security_opt=("no-new-privileges",) if full else (), userns="host" if full else None,
        keep_logs=not full, detach=not full,
    )
    flags, rest = _parse_run(spec.argv(["docker"]))
    body = spec.create_body()
    host = body["HostConfig"]
    # Every option of the command line, and its counterpart in the request body.
    known = {"--rm", "-i", "-t", "--pull", "--name", "--label", "--log-driver", "--pid",
             "--network", "--user", "--cap-add", "--privileged", "--mount", "--no-healthcheck",
             "--entrypoint", "-e", "--volumes-from", "--cap-drop", "--security-opt",
             "--userns", "-d", "--group-add"}
    assert set(flags) <= known, set(flags) - known
    assert ("--rm" in flags) == host["AutoRemove"]
    assert flags.get("--volumes-from", [None])[0] == (host.get("VolumesFrom") or [None])[0]
    assert "Init" not in host  # no strategy needs an init binary the host may lack
    assert flags.get("--group-add", []) == host.get("GroupAdd", [])
    assert ("-i" in flags) == body["OpenStdin"] == body["AttachStdin"] == body["StdinOnce"]
    assert ("-t" in flags) == body["Tty"]
    assert flags["--pull"] == ["never"]  # create never pulls
    assert flags["--name"] == [spec.name]  # the create request's ?name=
    assert dict(v.split("=", 1) for v in flags["--label"]) == body["Labels"]
    if spec.keep_logs:  # the engine's default log driver
        assert "--log-driver" not in flags and "LogConfig" not in host
    else:
        assert flags["--log-driver"] == ["none"] and host["LogConfig"]["Type"] == "none"
    # -d: by hand the container starts in the background; dhitui attaches over the API.
    assert ("-d" in flags) == spec.detach
    assert flags.get("--pid", [None])[0] == host.get("PidMode")
    assert flags.get("--userns", [None])[0] == host.get("UsernsMode")
    assert flags.get("--cap-drop", []) == host.get("CapDrop", [])
    assert flags.get("--security-opt", []) == host.get("SecurityOpt", [])
    assert flags["--network"] == [host["NetworkMode"]]
    assert flags.get("--user", [None])[0] == body.get("User")
    assert flags.get("--cap-add", []) == host.get("CapAdd", [])
    assert ("--privileged" in flags) == host["Privileged"]
    if spec.mount and product == "docker":
        assert flags["--mount"] == ["type=image,source=busybox,destination=/dbg,ro"]
        assert host["Mounts"] == [{"Type": "image", "Source": "busybox", "Target": "/dbg",
                                   "ReadOnly": True}]
    elif spec.mount:  # Podman rejects `ro`: its image mounts are read-only anyway
        assert flags["--mount"] == ["type=image,source=busybox,destination=/dbg"]
        assert host["Mounts"] == [{"Type": "image", "Source": "busybox", "Target": "/dbg"}]
    else:
        assert "--mount" not in flags and "Mounts" not in host
    assert ("--no-healthcheck" in flags) and body["Healthcheck"] == {"Test": ["NONE"]}
    assert flags["--entrypoint"] == body["Entrypoint"]
    assert flags["-e"] == body["Env"]
    assert rest == [body["Image"], *body["Cmd"]]


def test_an_exec_spec_renders_the_same_process_as_argv_and_as_api_body() -> None:
    from dhitui.engine.specs import ExecSpec

    spec = ExecSpec(container="c0ffee", cmd=("sh", "-c", "id"), tty=True, user="0:0",
                    privileged=True, env=(("PATH", "/x/bin:/bin"),))
    argv = spec.argv(["docker"])
    body = spec.exec_body()
    assert argv == ["docker", "exec", "-i", "-t", "--user", "0:0", "--privileged", "-e",
                    "PATH=/x/bin:/bin", "c0ffee", "sh", "-c", "id"]
    assert body == {"AttachStdin": True, "AttachStdout": True, "AttachStderr": True,
                    "Tty": True, "Cmd": ["sh", "-c", "id"], "Privileged": True, "User": "0:0",
                    "Env": ["PATH=/x/bin:/bin"]}

