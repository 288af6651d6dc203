"""What a debug session runs, as one definition with two renderings.

A strategy (in `dhitui.sessions.strategies`) decides *what* runs and describes it once, as a
`SidecarSpec`, an `ExecSpec`, an `InsideSpec` (a holder sidecar plus an exec in the target) or
a `PluginSpec`. From that one value come both:

- `argv(prefix)`: the equivalent docker command line, which `--print` shows, `c` copies and
  the CLI transport runs;
- `create_body()` / `exec_body()`: the Engine API request bodies the API transport sends
  (`dhitui.engine.attach`).

Both renderings sit side by side here, field by field, so they cannot drift apart; a test
checks every option of one has its counterpart in the other.

Container data never becomes shell text: commands given after `--` reach the sidecar's shell
as positional arguments of a constant script (`sh -c 'exec "$@"' dhitui CMD...`).
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dhitui.engine.identity import EngineIdentity

# Runs the user's command with no shell interpretation of its words: "$@" is the argv.
EXEC_ARGS_SCRIPT = 'exec "$@"'
SCRIPT_NAME = "dhitui"  # $0 of that script
# The prompt says where the session stands; constant text only (a shell expands $(...) in
# PS1, so no container data ever goes into it).
PROMPT_INSIDE = r"[dhitui inside] \w \$ "
PROMPT_BESIDE = r"[dhitui beside] \w \$ "
PROMPT_SNAPSHOT = r"[dhitui snapshot] \w \$ "
PROMPT_IMAGE = r"[dhitui image] \w \$ "
# The holder of an inside session prints its pid in the target's PID namespace, then waits
# for its stdin to end (StdinOnce: when dhitui closes its attach, or dies) and exits.
HOLDER_SCRIPT = "echo $$; while read -r line; do :; done"
PID_PLACEHOLDER = "<pid>"  # in a command shown before the holder runs


def tools_path(root: str, shell: str, dirs: Sequence[str], rest: Sequence[str]) -> str:
    """PATH for a session whose toolbox's root is at `root` (`/dbg`, `/proc/7/root`): the
    toolbox's directories first (its shell's own directory too), then `rest`."""
    entries = [root + d for d in dirs]
    shell_dir = posixpath.dirname(root + shell)
    if shell_dir not in entries:
        entries.insert(0, shell_dir)
    return ":".join([*entries, *rest])


# The same, where the session has a PID namespace of its own (a snapshot, an image): the
# command would be PID 1, which the kernel shields from every signal it has no handler for,
# so the shell stays PID 1 and runs it as its child (and reaps it). Ctrl-C then reaches the
# command as INTERRUPT_SCRIPT, run in the container: the SIGINT a terminal gives its
# foreground job. No init binary is needed (Podman's --init needs catatonit on its host).
CHILD_ARGS_SCRIPT = '"$@"; exit $?'
INTERRUPT_SCRIPT = "kill -INT -1"  # every process of the container but PID 1 and itself


def shell_args(command: Sequence[str] | None, *,
               own_pid_namespace: bool = False) -> tuple[str, ...]:
    """Arguments after the sidecar's shell: none for an interactive shell, else the constant
    script that runs the user's command word for word."""
    if command is None:
        return ()
    script = CHILD_ARGS_SCRIPT if own_pid_namespace else EXEC_ARGS_SCRIPT
    return ("-c", script, SCRIPT_NAME, *command)


@dataclass(frozen=True)
class ImageMount:
    """A read-only image mount, spelled the way the engine it is for takes it (Podman rejects
    `ro`; see engine.identity): one mount, two renderings that cannot disagree."""

    source: str  # image reference
    target: str  # mount point in the sidecar
    engine: EngineIdentity

    def cli(self) -> str:
        return self.engine.image_mount_cli(self.source, self.target)

    def api(self) -> dict[str, Any]:
        return self.engine.image_mount_api(self.source, self.target)


@dataclass(frozen=True)
class SidecarSpec:
    """A helper container run for the session: removed on exit, never pulls, named and
    labelled as dhitui's, no logs kept by the engine (the session's output is only on your
    terminal), no healthcheck inherited from the image."""

    image: str
    name: str
    labels: Mapping[str, str]
    tty: bool
    entrypoint: str
    args: tuple[str, ...]  # after the entrypoint
    user: str | None = None
    pid_of: str | None = None  # join this container's PID namespace
    network: str = "none"
    mount: ImageMount | None = None
    env: tuple[tuple[str, str], ...] = ()
    cap_add: tuple[str, ...] = ()
    privileged: bool = False
    volumes_from: str | None = None  # borrow this container's volumes (and keep them)
    auto_remove: bool = True  # False: the caller removes it (keeping borrowed volumes)
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()  # e.g. no-new-privileges
    group_add: tuple[str, ...] = ()  # supplementary groups (numbers: any image will do)
    userns: str | None = None  # user namespace mode (host; Podman: container:ID)
    # A holder (see InsideSpec) keeps the engine's default log driver, so that the pid it
    # prints can be read back with `docker logs` by whoever runs the shown command by hand.
    keep_logs: bool = False
    # Shown as `docker run -d -i`: dhitui attaches over the API, but by hand the holder is
    # started in the background with its stdin open.
    detach: bool = False
    kind: str = field(default="sidecar", init=False)

    @property
    def interrupt_cmd(self) -> tuple[str, ...] | None:
        """How Ctrl-C reaches its command: run this in it (its command is PID 1's child, see
        CHILD_ARGS_SCRIPT); None: a SIGINT to its main process does."""
        if self.args[1:2] == (CHILD_ARGS_SCRIPT,):
            return (self.entrypoint, "-c", INTERRUPT_SCRIPT)
        return None

    def argv(self, prefix: Sequence[str]) -> list[str]:
        """`docker run`, exactly equivalent to `create_body()` plus attach, start, wait and
        remove."""
        argv = [*prefix, "run", *(["-d"] if self.detach else []),
                *(["--rm"] if self.auto_remove else []), "-i"]
        if self.tty:
            argv.append("-t")
        argv += ["--pull", "never", "--name", self.name]
        for key, value in self.labels.items():
            argv += ["--label", f"{key}={value}"]
        if not self.keep_logs:
            argv += ["--log-driver", "none"]
        if self.pid_of is not None:
            argv += ["--pid", f"container:{self.pid_of}"]
        if self.userns is not None:
            argv += ["--userns", self.userns]
        argv += ["--network", self.network]
        if self.volumes_from is not None:
            argv += ["--volumes-from", self.volumes_from]
        if self.user is not None:
            argv += ["--user", self.user]
        for group in self.group_add:
            argv += ["--group-add", group]
        for cap in self.cap_drop:
            argv += ["--cap-drop", cap]
        for cap in self.cap_add:
            argv += ["--cap-add", cap]
        for opt in self.security_opt:
            argv += ["--security-opt", opt]
        if self.privileged:
            argv.append("--privileged")
        if self.mount is not None:
            argv += ["--mount", self.mount.cli()]
        argv += ["--no-healthcheck", "--entrypoint", self.entrypoint]
        for key, value in self.env:
            argv += ["-e", f"{key}={value}"]
        argv += [self.image, *self.args]
        return argv

    def create_body(self) -> dict[str, Any]:
        """`POST /containers/create?name=NAME`, the same container as `argv()`'s `docker run`
        (`--rm` is AutoRemove; `-i` is OpenStdin + StdinOnce; the attach comes before
        start). Image mounts go in as a plain dict: docker-py's `Mount` type rejects them."""
        host: dict[str, Any] = {
            "AutoRemove": self.auto_remove,
            "NetworkMode": self.network,
            "Privileged": self.privileged,
        }
        if not self.keep_logs:
            host["LogConfig"] = {"Type": "none", "Config": {}}
        if self.pid_of is not None:
            host["PidMode"] = f"container:{self.pid_of}"
        if self.userns is not None:
            host["UsernsMode"] = self.userns
        if self.volumes_from is not None:
            host["VolumesFrom"] = [self.volumes_from]
        if self.cap_add:
            host["CapAdd"] = list(self.cap_add)
        if self.cap_drop:
            host["CapDrop"] = list(self.cap_drop)
        if self.security_opt:
            host["SecurityOpt"] = list(self.security_opt)
        if self.group_add:
            host["GroupAdd"] = list(self.group_add)
        if self.mount is not None:
            host["Mounts"] = [self.mount.api()]
        body: dict[str, Any] = {
            "Image": self.image,
            "Entrypoint": [self.entrypoint],
            "Cmd": list(self.args),
            "Tty": self.tty,
            "OpenStdin": True,
            "StdinOnce": True,
            "AttachStdin": True,
            "AttachStdout": True,
            "AttachStderr": True,
            "Env": [f"{k}={v}" for k, v in self.env],
            "Labels": dict(self.labels),
            "Healthcheck": {"Test": ["NONE"]},
            "HostConfig": host,
        }
        if self.user is not None:
            body["User"] = self.user
        return body


@dataclass(frozen=True)
class ExecSpec:
    """A process started in the running target (`docker exec`)."""

    container: str
    cmd: tuple[str, ...]
    tty: bool
    user: str | None = None
    privileged: bool = False
    env: tuple[tuple[str, str], ...] = ()  # added to the container's own environment
    kind: str = field(default="exec", init=False)

    def argv(self, prefix: Sequence[str]) -> list[str]:
        argv = [*prefix, "exec", "-i"]
        if self.tty:
            argv.append("-t")
        if self.user is not None:
            argv += ["--user", self.user]
        if self.privileged:
            argv.append("--privileged")
        for key, value in self.env:
            argv += ["-e", f"{key}={value}"]
        return [*argv, self.container, *self.cmd]

    def exec_body(self) -> dict[str, Any]:
        """`POST /containers/{container}/exec`, the same process as `argv()`'s `docker exec`."""
        body: dict[str, Any] = {
            "AttachStdin": True, "AttachStdout": True, "AttachStderr": True,
            "Tty": self.tty, "Cmd": list(self.cmd), "Privileged": self.privileged,
        }
        if self.user is not None:
            body["User"] = self.user
        if self.env:
            body["Env"] = [f"{k}={v}" for k, v in self.env]
        return body


@dataclass(frozen=True)
class InsideSpec:
    """A session *inside* a running target: a process started in it (`docker exec`), so its
    `/` is the target's live root (writable layer, volumes, bind mounts), as the target's own
    user, groups, capabilities and seccomp profile, with the toolbox's programs on PATH.

    The target has no tools of its own, so a `holder` sidecar brings them: a container in
    the target's PID namespace whose process keeps the toolbox as its root (the toolbox image
    as its root, or mounted at /dbg on the target's image). From inside the target that root
    is `/proc/<holder pid>/root`. The kernel lets a process follow another's
    `/proc/PID/root` when both have the same uid and gid and the other holds no capability
    the first lacks, so the holder runs as the session's uid:gid with no capability at all;
    nothing is added to the session, and nothing is written into the target.

    The holder's pid is known only once it runs: `exec_spec(pid)` is the exec then; before,
    `argv()` shows `<pid>` in its place."""

    holder: SidecarSpec
    container: str  # the target
    tools: str  # the toolbox's root inside the holder: "" (its own root) or "/dbg"
    shell: str  # the toolbox's shell, from the toolbox's root ("/bin/sh")
    path_dirs: tuple[str, ...]  # toolbox directories put first on PATH
    target_path: tuple[str, ...]  # then the target's own PATH
    command: tuple[str, ...] | None  # None: an interactive shell
    tty: bool
    user: str | None = None  # None: the target's own user (what `docker exec` runs as)
    privileged: bool = False
    kind: str = field(default="inside", init=False)

    def root(self, pid: int | None) -> str:
        """Where the toolbox's root is seen from inside the target."""
        return f"/proc/{PID_PLACEHOLDER if pid is None else pid}/root{self.tools}"

    def exec_spec(self, pid: int | None) -> ExecSpec:
        root = self.root(pid)
        path = tools_path(root, self.shell, self.path_dirs, self.target_path)
        return ExecSpec(
            container=self.container, cmd=(root + self.shell, *shell_args(self.command)),
            tty=self.tty, user=self.user, privileged=self.privileged,
            env=(("PATH", path), ("PS1", PROMPT_INSIDE)),
        )

    def argv(self, prefix: Sequence[str]) -> list[str]:
        """The session's `docker exec`, with `<pid>` for the holder's pid."""
        return self.exec_spec(None).argv(prefix)


@dataclass(frozen=True)
class PluginSpec:
    """`docker debug`, a CLI plugin: it has a command line and no Engine API form."""

    target: str
    command: tuple[str, ...] | None
    privileged: bool = False
    kind: str = field(default="plugin", init=False)

    def argv(self, prefix: Sequence[str]) -> list[str]:
        """Its `--command` takes shell text, built from the user's own words (quoted), never
        from container data; the target is a separate argument."""
        argv = [*prefix, "debug"]
        if self.privileged:
            argv.append("--privileged")
        if self.command is not None:
            argv += ["--command", shlex.join(self.command)]
        argv.append(self.target)
        return argv


SessionSpec = SidecarSpec | ExecSpec | InsideSpec | PluginSpec
