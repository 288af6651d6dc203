"""Every fix dhitui suggests, written in one place, safest first, with real values.

Each function returns a `Fixes`: the safest step (`fix`), the others in order of safety
(`alternatives`) and a `caution` that belongs in the check's detail (what a fix costs, or
what not to do). Commands are composed from argv lists with `shlex.join`, so a path or name
taken from the engine is quoted, never spliced into a shell string; nothing here runs them.

One rule stands out: `chmod 666` on the docker socket is never suggested. It gives every
local user control of the engine, which is root on the host. It is only ever mentioned as
what not to do.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dhitui.engine.endpoint import (
    DEFAULT_SOCKET,
    Endpoint,
    podman_socket,
    rootless_podman_socket,
)
from dhitui.engine.identity import EngineIdentity

NEVER_CHMOD = ("Do not `chmod 666` the socket (or make it world-writable in any other way): "
               "that hands root on this machine to every local user and process.")


@dataclass(frozen=True)
class Fixes:
    fix: str | None = None
    alternatives: tuple[str, ...] = ()
    caution: str = ""


def cmd(*argv: str) -> str:
    return shlex.join(argv)


def docker_argv(endpoint: Endpoint | None) -> list[str]:
    """`docker`, plus `-H URL` when the docker CLI would not find this engine by itself (it
    does follow DOCKER_HOST and contexts, but not dhitui's `-H`, podman's settings or the
    well-known-socket pick)."""
    if endpoint is None:
        return ["docker"]
    if endpoint.source in ("flag", "podman-env", "podman-connection") or (
            endpoint.source == "well-known" and endpoint.socket_path != DEFAULT_SOCKET):
        return ["docker", "-H", endpoint.url]
    return ["docker"]


def group_equivalence(group: str) -> str:
    return (f"Members of the {group} group control the engine, and through it can run "
            "containers as root with the host's filesystem mounted: membership is "
            "root-equivalent. Grant it only to people who may be root.")


def _who(user_name: str | None) -> str:
    return user_name or "$USER"


def rootless_fix() -> str:
    return ("use rootless Docker instead (your own engine, no root needed): "
            "`dockerd-rootless-setuptool.sh install` as your user, not as root")


def other_engine_fix(url: str) -> str:
    return cmd("export", f"DOCKER_HOST={url}")


def other_engines(answering: Sequence[str]) -> list[str]:
    """At most one "use the other engine" alternative; host.other-engines lists them all."""
    return [f"use the engine that answers at {u}: `{other_engine_fix(u)}`"
            for u in answering[:1]]


def socket_permission(*, group: str | None, gid: int, user_name: str | None,
                      listed_in_group: bool, socket_path: str,
                      inside_container: bool, answering_elsewhere: Sequence[str]) -> Fixes:
    """This process may not connect to the socket (`group` owns it, GID `gid`)."""
    alternatives: list[str] = []
    gname = group or str(gid)
    if inside_container:
        # The socket came in through a bind mount: group membership comes from the
        # container's start options, not from usermod inside a throwaway container.
        fix = (f"recreate this container with `--group-add {gid}` (the socket's GID on the "
               f"host; computed there: `--group-add $(stat -c '%g' {shlex.quote(socket_path)})`)")
        caution = ("An entrypoint that calls initgroups() (su, gosu, some init scripts) drops "
                   "supplementary groups added with --group-add.")
    elif gid == 0:
        # Never suggest joining the root group.
        fix = ("configure the engine's socket group instead of joining `root`: start dockerd "
               "with `--group docker` (or `SocketGroup=docker` in docker.socket), then "
               f"`sudo usermod -aG docker {_who(user_name)}` and log in again")
        caution = group_equivalence("docker")
    elif listed_in_group:
        fix = (f"you are already in group {gname} but this session is not: log out and back "
               f"in, or start a shell with it: `newgrp {gname}`")
        caution = group_equivalence(gname)
    else:
        fix = (f"`sudo usermod -aG {shlex.quote(gname)} {_who(user_name)}`, then log out and "
               f"back in (or `newgrp {shlex.quote(gname)}` for this shell)")
        caution = group_equivalence(gname)
    alternatives.append(rootless_fix())
    alternatives.extend(other_engines(answering_elsewhere))
    return Fixes(fix, tuple(alternatives), f"{caution} {NEVER_CHMOD}")


ROOTLESS_PODMAN = ("`systemctl --user enable --now podman.socket` as your user (not root): "
                   "your own rootless Podman, no root or group needed; dhitui finds "
                   "$XDG_RUNTIME_DIR/podman/podman.sock by itself (or `export "
                   "CONTAINER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock`)")


def podman_socket_permission(*, group: str | None, gid: int, owner: str, perm: str,
                             user_name: str | None, listed_in_group: bool,
                             group_can_write: bool, answering_elsewhere: Sequence[str]
                             ) -> Fixes:
    """This process may not connect to a (rootful) podman socket. Rootless Podman first:
    it needs no privilege at all; then the socket's real owner and mode decide."""
    gname = group or str(gid)
    alternatives: list[str] = []
    caution = ""
    if group_can_write and gid != 0:
        if listed_in_group:
            alternatives.append(f"or use this socket: you are already in group {gname} but "
                                f"this session is not: log in again, or `newgrp {gname}`")
        else:
            alternatives.append(f"or use this socket through its group: `sudo usermod -aG "
                                f"{shlex.quote(gname)} {_who(user_name)}`, then log in again")
        caution = group_equivalence(gname)
    else:
        alternatives.append(f"or use this socket as its owner: only {owner} may (group "
                            f"{gname}, mode {perm}): run dhitui with sudo")
        alternatives.append(
            "or give the socket a group: `sudo systemctl edit podman.socket` with "
            "`[Socket]` `SocketGroup=podman` `SocketMode=0660`, then `sudo systemctl restart "
            f"podman.socket` and `sudo usermod -aG podman {_who(user_name)}`")
        caution = group_equivalence("podman")
    alternatives.extend(other_engines(answering_elsewhere))
    return Fixes(ROOTLESS_PODMAN, tuple(alternatives), f"{caution} {NEVER_CHMOD}".strip())


def socket_parent_blocked(blocked_at: str) -> Fixes:
    return Fixes(
        f"ask the owner of {blocked_at} to let you enter it, or use another endpoint",
        (rootless_fix(),),
    )


def start_engine(socket_path: str | None, *, systemd: bool,
                 answering_elsewhere: Sequence[str]) -> Fixes:
    """Nothing listens (missing or stale socket)."""
    alternatives = other_engines(answering_elsewhere)
    if socket_path and rootless_podman_socket(socket_path):
        fix = ("start your rootless Podman's API socket: `systemctl --user enable --now "
               "podman.socket`" if systemd else
               "start your rootless Podman's API service: `podman system service --time=0 &`")
    elif socket_path and podman_socket(socket_path):
        alternatives.insert(0, ROOTLESS_PODMAN)
        fix = ("start Podman's API socket: `sudo systemctl enable --now podman.socket`"
               if systemd else "start Podman's API service: `sudo podman system service "
               f"--time=0 unix://{socket_path} &`")
    elif socket_path in (DEFAULT_SOCKET, "/run/docker.sock"):
        fix = ("start the engine: `sudo systemctl start docker`" if systemd
               else "start the engine: `sudo service docker start` (or run `sudo dockerd`)")
        alternatives.append(rootless_fix())
    elif socket_path and socket_path.endswith("/docker.sock") and "/run/user/" in socket_path:
        fix = "start your rootless engine: `systemctl --user start docker`"
    elif socket_path:
        fix = f"start the engine that serves {socket_path} (dockerd --host unix://{socket_path})"
    else:
        fix = "start the engine, or point DOCKER_HOST at one that runs"
    return Fixes(fix, tuple(alternatives))


def not_a_socket(path: str, kind: str | None, answering_elsewhere: Sequence[str]) -> Fixes:
    caution = ""
    if kind == "directory":
        caution = ("A directory where a socket belongs is what `-v "
                   f"{path}:{path}` leaves behind when the socket did not exist on the "
                   "host at the time: Docker creates the missing source as a directory.")
    fix = (f"move the {kind or 'file'} at {path} aside and restart the engine so it can "
           "create its socket there, or point DOCKER_HOST at the engine's real socket")
    return Fixes(fix, tuple(other_engines(answering_elsewhere)), caution)


def tls_failure(url: str) -> Fixes:
    return Fixes(
        "check that DOCKER_CERT_PATH (or the context's TLS files) holds the ca.pem, cert.pem and "
        f"key.pem this engine expects, and that {url} really speaks TLS (2376) or not (2375)",
        ("compare with `docker --tlsverify version`",),
    )


def timeout(url: str, seconds: float, systemd: bool) -> Fixes:
    status = "`systemctl status docker` and `journalctl -u docker`" if systemd \
        else "the engine's log"
    return Fixes(
        f"the engine at {url} accepted the connection but did not answer within "
        f"{seconds:g}s: check {status}; a restart of the engine usually clears a hang",
        ("try again with a longer `--timeout`",),
    )


def not_an_engine(url: str, answering: Sequence[str], *, dropped: bool) -> Fixes:
    """Something other than an engine at the endpoint (or something that hangs up)."""
    what = ("closes connections without answering: a daemon still starting, a proxy whose "
            "engine is down, or a socket another program owns" if dropped else
            "is not a Docker Engine API (a web server or another service)")
    fix = f"what listens at {url} {what}: point dhitui at the engine's own endpoint"
    if answering:
        return Fixes(f"{fix}: `{other_engine_fix(answering[0])}`",
                     tuple(other_engine_fix(u) for u in answering[1:3]))
    return Fixes(f"{fix} (-H unix:///path/to/docker.sock, DOCKER_HOST or --context)", ())


def endpoint_docker_host(value: str, answering: Sequence[str]) -> Fixes:
    alternatives = ["`unset DOCKER_HOST` to fall back to the default socket or context"]
    if answering:
        return Fixes(other_engine_fix(answering[0]), tuple(alternatives))
    return Fixes("`unset DOCKER_HOST`, or set it to unix:///path/to/docker.sock, "
                 "tcp://HOST:PORT or ssh://USER@HOST", ())


def endpoint_config_json(path: Path, answering: Sequence[str]) -> Fixes:
    alternatives = [f"bypass it for now: `{other_engine_fix(u)}`" for u in answering[:1]]
    alternatives.append(f"move it aside (it may hold registry credentials; keep the copy): "
                        f"`{cmd('mv', str(path), str(path) + '.broken')}`")
    return Fixes(f"repair the JSON in {path}; `{cmd('python3', '-m', 'json.tool', str(path))}` "
                 "points at the error", tuple(alternatives))


def endpoint_context(name: str, origin: str, known: Sequence[str]) -> Fixes:
    known_text = ", ".join(known) if known else "none besides default"
    if origin == "DOCKER_CONTEXT":
        fix = "`unset DOCKER_CONTEXT` (or set it to an existing context)"
    elif origin == "--context":
        fix = "pass an existing context to --context"
    else:
        fix = "`docker context use default` (or create the missing context)"
    return Fixes(fix, (f"known contexts: {known_text}; see `docker context ls`",))


def endpoint_generic(hint: str | None) -> Fixes:
    return Fixes(hint or "choose the engine explicitly with -H/--host", ())


def endpoint_host_flag() -> Fixes:
    return Fixes("pass a valid address to -H/--host (unix:///path/to/docker.sock, "
                 "tcp://HOST:PORT or ssh://USER@HOST)", ())


def endpoint_tls_files(hint: str | None) -> Fixes:
    return Fixes(hint or "set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and "
                 "key.pem, or unset DOCKER_TLS_VERIFY", ())


def tcp_refused(url: str, answering_elsewhere: Sequence[str]) -> Fixes:
    return Fixes(f"check the address in {url} and that the engine there listens on TCP "
                 "(dockerd -H tcp://...)", tuple(other_engines(answering_elsewhere)))


def plugin_without_cli() -> Fixes:
    return Fixes("install the docker CLI, or let dhitui use its own sidecars", ())


def dhitui_settings(path: str) -> Fixes:
    return Fixes(f"fix or remove {path} (keys: toolbox, strategy, transport)", ())


# ---------------------------------------------------------------- containers


def socket_source_not_a_socket(host_path: str) -> Fixes:
    return Fixes(f"recreate the container once the engine's socket exists at {host_path}", (),
                 "Docker creates a missing bind-mount source as a directory: the socket did not "
                 "exist when the container was created.")


def group_add(gid: int, host_socket: str, container_socket: str) -> Fixes:
    """A container's user cannot use the docker socket mounted into it."""
    return Fixes(
        f"recreate the container with `--group-add {gid}` (compose: `group_add: [\"{gid}\"]`)",
        (f"computed on the host when the container starts: "
         f"`--group-add $(stat -c '%g' {shlex.quote(host_socket)})`",),
        f"{gid} is the socket's group on the host; a group name would be looked up in the "
        f"container's /etc/group instead, where it may be missing or mean another GID. Access "
        f"to {container_socket} is root-equivalent on the host. An entrypoint that calls "
        f"initgroups() drops groups added this way. {NEVER_CHMOD}",
    )


def bind_mount(host_path: str, uid: int, gid: int, *, write: bool, is_dir: bool,
               owner_uid: int | None, owner_gid: int | None) -> Fixes:
    """A container's nonroot user lacks access to the host side of a bind mount."""
    perms = ("rwX" if write else "rX") if is_dir else ("rw" if write else "r")
    acl = cmd("sudo", "setfacl", "-m", f"u:{uid}:{perms}", host_path)
    alternatives = [f"keep the owner and grant just this UID: `{acl}`"]
    if owner_uid not in (None, 0):
        alternatives.append(
            f"or run the container as the directory's owner: `--user {owner_uid}:{owner_gid}`")
    caution = ("Only the mount's top level was checked; files inside keep their own owners "
               "(`chown -R` when the container must write to all of them).") if is_dir else ""
    return Fixes(cmd("sudo", "chown", f"{uid}:{gid}", host_path), tuple(alternatives), caution)


def entrypoint(image: str, shell: str | None, container_name: str) -> Fixes:
    if shell:
        return Fixes(cmd("docker", "run", "--rm", "-it", "--entrypoint", shell, image),
                     (f"next to the running process instead: `dhitui debug {container_name}`",))
    return Fixes(f"this image has no shell to pass to it; debug it with "
                 f"`{cmd('dhitui', 'debug', container_name)}`", ())


def toolbox_missing(toolbox: str, endpoint: Endpoint | None) -> Fixes:
    docker = docker_argv(endpoint)
    return Fixes(
        cmd(*docker, "pull", toolbox),
        (f"without a registry: `{cmd('docker', 'save', toolbox, '-o', 'toolbox.tar')}` where "
         f"it exists, then `{cmd(*docker, 'load', '-i', 'toolbox.tar')}` here",
         "or name an image that is present with `--toolbox IMAGE` (or `toolbox = ...` in "
         "dhitui's config.toml)"),
    )


def cleanup_orphans(endpoint: Endpoint | None) -> Fixes:
    """dhitui's own cleanup: it removes only sidecars whose session is gone."""
    flags = docker_argv(endpoint)[1:]  # the same engine selection, as dhitui options
    return Fixes(cmd("dhitui", *flags, "debug", "--cleanup"), ())


def start_container(name: str, image: str, endpoint: Endpoint | None) -> Fixes:
    return Fixes(cmd(*docker_argv(endpoint), "start", name),
                 (f"or debug its image without a container: "
                  f"`{cmd('dhitui', 'debug', '--image', image)}`",))


def upgrade_for_image_mounts(identity: EngineIdentity) -> Fixes:
    return Fixes(f"upgrade to {identity.image_mounts_requirement} or newer for image mounts; "
                 "until then dhitui uses the toolbox image as the sidecar's root", ())
