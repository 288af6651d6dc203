"""What a debug session runs, as one definition with two renderings.

A strategy (in `dhitui.sessions.strategies`) decides *what* runs and describes it once, as a
`SidecarSpec`, an `ExecSpec` or a `PluginSpec`. From that one value come both:

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

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dhitui.engine.identity import EngineIdentity

# Runs the user's command with no shell interpretation of its words: "$@" is the argv.
EXEC_ARGS_SCRIPT = 'exec "$@"'
SCRIPT_NAME = "dhitui"  # $0 of that script
PROMPT = r"[dhitui] \w \$ "


def shell_args(command: Sequence[str] | None) -> tuple[str, ...]:
    """Arguments after the sidecar's shell: none for an interactive shell, else the constant
    script that execs the user's command word for word."""
    if command is None:
        return ()
    return ("-c", EXEC_ARGS_SCRIPT, SCRIPT_NAME, *command)


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
    init: bool = False  # an init as PID 1, so signals reach a command that would be PID 1
    kind: str = field(default="sidecar", init=False)

    def argv(self, prefix: Sequence[str]) -> list[str]:
        """`docker run`, exactly equivalent to `create_body()` plus attach, start, wait and
        remove."""
        argv = [*prefix, "run", *(["--rm"] if self.auto_remove else []), "-i"]
        if self.tty:
            argv.append("-t")
        argv += ["--pull", "never", "--name", self.name]
        for key, value in self.labels.items():
            argv += ["--label", f"{key}={value}"]
        argv += ["--log-driver", "none"]
        if self.pid_of is not None:
            argv += ["--pid", f"container:{self.pid_of}"]
        argv += ["--network", self.network]
        if self.volumes_from is not None:
            argv += ["--volumes-from", self.volumes_from]
        if self.init:
            argv.append("--init")
        if self.user is not None:
            argv += ["--user", self.user]
        for cap in self.cap_add:
            argv += ["--cap-add", cap]
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
            "LogConfig": {"Type": "none", "Config": {}},
            "NetworkMode": self.network,
            "Privileged": self.privileged,
        }
        if self.pid_of is not None:
            host["PidMode"] = f"container:{self.pid_of}"
        if self.volumes_from is not None:
            host["VolumesFrom"] = [self.volumes_from]
        if self.init:
            host["Init"] = True
        if self.cap_add:
            host["CapAdd"] = list(self.cap_add)
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
    kind: str = field(default="exec", init=False)

    def argv(self, prefix: Sequence[str]) -> list[str]:
        argv = [*prefix, "exec", "-i"]
        if self.tty:
            argv.append("-t")
        if self.user is not None:
            argv += ["--user", self.user]
        if self.privileged:
            argv.append("--privileged")
        return [*argv, self.container, *self.cmd]

    def exec_body(self) -> dict[str, Any]:
        """`POST /containers/{container}/exec`, the same process as `argv()`'s `docker exec`."""
        body: dict[str, Any] = {
            "AttachStdin": True, "AttachStdout": True, "AttachStderr": True,
            "Tty": self.tty, "Cmd": list(self.cmd), "Privileged": self.privileged,
        }
        if self.user is not None:
            body["User"] = self.user
        return body


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


SessionSpec = SidecarSpec | ExecSpec | PluginSpec
