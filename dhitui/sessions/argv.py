"""Every docker command line dhitui runs for a session is built here, and only here.

The command targets exactly the engine dhitui resolved:

- a docker context: `docker --context NAME ...` (the CLI reads the context store itself);
- an address from `-H`, `DOCKER_HOST` or a well-known socket: `docker -H URL ...`, plus
  `--tls`/`--tlsverify` and the certificate files for TLS over tcp;
- the default socket `/var/run/docker.sock`: nothing extra.

The child runs without `DOCKER_HOST`, `DOCKER_CONTEXT` and the TLS variables (`ENV_UNSET`),
so nothing in the environment can point it elsewhere; `DOCKER_CONFIG` is kept (it holds the
context store and the CLI plugins). What is printed is `shlex.join(argv)`, and that is what
runs.

Container data never becomes shell text: commands given after `--` reach the sidecar's shell
as positional arguments of a constant script (`sh -c 'exec "$@"' dhitui CMD...`), and
`check_argv` refuses any argument holding control characters.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

from dhitui.engine.endpoint import DEFAULT_HOST, Endpoint

ENV_UNSET = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS")
# Runs the user's command with no shell interpretation of its words: "$@" is the argv.
EXEC_ARGS_SCRIPT = 'exec "$@"'
SCRIPT_NAME = "dhitui"  # $0 of that script
PROMPT = r"[dhitui] \w \$ "
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def docker_prefix(cli_path: str, endpoint: Endpoint) -> list[str]:
    """`docker` plus the global options that select exactly `endpoint`."""
    if endpoint.source == "context" and endpoint.context:
        return [cli_path, "--context", endpoint.context]
    if endpoint.source == "default" and endpoint.url == DEFAULT_HOST:
        return [cli_path]
    argv = [cli_path, "-H", endpoint.url]
    tls = endpoint.tls
    if tls is not None and endpoint.url.startswith("tcp://"):
        argv.append("--tlsverify" if tls.verify else "--tls")
        if tls.ca_cert:
            argv += ["--tlscacert", tls.ca_cert]
        if tls.client_cert and tls.client_key:
            argv += ["--tlscert", tls.client_cert, "--tlskey", tls.client_key]
    return argv


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment the docker CLI runs with: `env` without what could redirect it."""
    return {k: v for k, v in env.items() if k not in ENV_UNSET}


def command_line(argv: Sequence[str]) -> str:
    """The copyable form of an argv (exactly what runs)."""
    return shlex.join(argv)


def check_argv(argv: Sequence[str]) -> str | None:
    """Why this argv must not run, if it must not: an argument with control characters
    (from container data) would be invisible or act on the terminal when shown."""
    for arg in argv:
        if _CONTROL.search(arg):
            return f"an argument holds control characters: {arg.encode('unicode_escape')!r}"
    return None


def _labels(labels: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for key, value in labels.items():
        out += ["--label", f"{key}={value}"]
    return out


def shell_args(command: Sequence[str] | None) -> list[str]:
    """Arguments after the sidecar's shell: none for an interactive shell, else the constant
    script that execs the user's command word for word."""
    if command is None:
        return []
    return ["-c", EXEC_ARGS_SCRIPT, SCRIPT_NAME, *command]


def sidecar_run(
    prefix: Sequence[str],
    *,
    image: str,
    name: str,
    labels: Mapping[str, str],
    tty: bool,
    entrypoint: str,
    command: Sequence[str] | None,
    user: str | None,
    pid_of: str | None = None,
    network: str,
    toolbox_mount: str | None = None,
    mount_point: str = "/dbg",
    path: str | None = None,
    cap_add: Sequence[str] = (),
    privileged: bool = False,
    volumes_from: str | None = None,
    auto_remove: bool = True,
    init: bool = False,
) -> list[str]:
    """`docker run` for a sidecar: removed on exit (`--rm`, unless the caller removes it
    itself), never pulls, named and labelled as dhitui's, no logs kept by the engine (the
    session's output is only on your terminal), no healthcheck inherited from the image."""
    argv = [*prefix, "run", *(["--rm"] if auto_remove else []), "-i"]
    if tty:
        argv.append("-t")
    argv += ["--pull", "never", "--name", name, *_labels(labels), "--log-driver", "none"]
    if pid_of is not None:
        argv += ["--pid", f"container:{pid_of}"]
    argv += ["--network", network]
    if volumes_from is not None:
        argv += ["--volumes-from", volumes_from]
    if init:
        argv.append("--init")
    if user is not None:
        argv += ["--user", user]
    for cap in cap_add:
        argv += ["--cap-add", cap]
    if privileged:
        argv.append("--privileged")
    if toolbox_mount is not None:
        # Image mounts are always read-only; `ro` says so in the command too.
        argv += ["--mount", f"type=image,source={toolbox_mount},destination={mount_point},ro"]
    argv += ["--no-healthcheck", "--entrypoint", entrypoint]
    if path is not None:
        argv += ["-e", f"PATH={path}"]
    argv += ["-e", f"PS1={PROMPT}", image, *shell_args(command)]
    return argv


def exec_in(
    prefix: Sequence[str],
    *,
    container: str,
    shell: str,
    command: Sequence[str] | None,
    tty: bool,
    root: bool = False,
    privileged: bool = False,
) -> list[str]:
    """`docker exec` of the container's own shell, or of the command as given."""
    argv = [*prefix, "exec", "-i"]
    if tty:
        argv.append("-t")
    if root:
        argv += ["--user", "0:0"]
    if privileged:
        argv.append("--privileged")
    argv.append(container)
    argv += list(command) if command is not None else [shell]
    return argv


def docker_debug(
    prefix: Sequence[str], *, target: str, command: Sequence[str] | None, privileged: bool = False
) -> list[str]:
    """`docker debug`: its `--command` takes shell text, built from the user's own words
    (quoted), never from container data; the target is a separate argument."""
    argv = [*prefix, "debug"]
    if privileged:
        argv.append("--privileged")
    if command is not None:
        argv += ["--command", shlex.join(command)]
    argv.append(target)
    return argv
