"""Checks about the connected engine: version, what debugging it allows, leftovers.

Check ids and the keys of their `data`:

  engine.version         {engine, engine_product, engine_version, api_version,
                          negotiated_api_version, os, arch}
  engine.image-mounts    {supported, engine_product, engine_version, api_version, needs}
  engine.docker-debug    {available, plugin, docker_cli}
  engine.toolbox         {image, present}
  engine.security        {rootless, userns, seccomp_profile, apparmor, selinux}
  engine.sidecars        dhitui sidecars whose session is gone (dhitui.sessions judges them)
                         {sidecars: [{id, name, state, target, status, orphan, reason}],
                          orphans: [id]}
  engine.skipped         no engine answered: why the engine and container checks did not run
"""

from __future__ import annotations

from collections.abc import Sequence

from dhitui.diagnostics import fixes
from dhitui.diagnostics.check import Check
from dhitui.engine.capabilities import Capabilities
from dhitui.engine.client import Engine
from dhitui.errors import DhituiError
from dhitui.sessions import Sidecar, list_sidecars


def run_engine_checks(engine: Engine, caps: Capabilities) -> list[Check]:
    """Engine checks."""
    checks = [
        _version(caps),
        _image_mounts(caps),
        _docker_debug(caps),
        _toolbox(engine, caps),
        _security(caps),
    ]
    try:
        sidecars = list_sidecars(engine)
    except DhituiError as exc:
        checks.append(Check("engine.sidecars", "warn",
                            f"could not list dhitui's sidecars to look for orphans: {exc}"))
    else:
        checks.append(orphan_sidecar_check(engine, sidecars))
    return checks


def skipped_check(reason: str, containers: Sequence[str] = ()) -> Check:
    named = f" ({', '.join(containers)} not checked)" if containers else ""
    return Check("engine.skipped", "warn",
                 f"engine and container checks skipped: {reason}{named}",
                 detail="They need an engine that answers; the host checks explain why none "
                        "does.", data={"reason": reason, "containers": list(containers)})


def _version(caps: Capabilities) -> Check:
    return Check(
        "engine.version", "ok",
        f"{caps.identity.display} (API {caps.api_version}), "
        f"{caps.os}/{caps.arch}",
        detail=f"dhitui speaks API {caps.negotiated_api_version} with it; "
               f"{caps.operating_system or 'unknown OS'}, kernel {caps.kernel or '?'}, "
               f"storage {caps.storage_driver or '?'}.",
        data={"engine": caps.identity.name, "engine_product": caps.engine_product,
              "engine_version": caps.engine_version, "api_version": caps.api_version,
              "negotiated_api_version": caps.negotiated_api_version, "os": caps.os,
              "arch": caps.arch},
    )


def _image_mounts(caps: Capabilities) -> Check:
    ident = caps.identity
    data = {"supported": caps.image_mounts, "engine_product": caps.engine_product,
            "engine_version": caps.engine_version, "api_version": caps.api_version,
            "needs": ident.image_mounts_requirement}
    if caps.image_mounts:
        return Check("engine.image-mounts", "ok",
                     f"image mounts supported ({ident.image_mounts_requirement})",
                     detail="Debug sidecars can run on the target's own image with the toolbox "
                            "mounted read-only at /dbg.", data=data)
    fx = fixes.upgrade_for_image_mounts(ident)
    return Check("engine.image-mounts", "warn", f"no image mounts: {ident.image_mounts_why}",
                 detail="Debug sidecars fall back to the toolbox image as their root, so the "
                        "target's files are reached through /proc/1/root instead of being the "
                        "sidecar's own.", fix=fx.fix, data=data)


def _docker_debug(caps: Capabilities) -> Check:
    plugin = caps.docker_debug_plugin
    data = {"available": caps.docker_debug, "plugin": plugin, "docker_cli": caps.docker_cli}
    if caps.docker_debug and plugin:
        return Check("engine.docker-debug", "ok",
                     f"`docker debug` available (plugin {plugin.get('version', '?')})",
                     detail=f"Plugin at {plugin.get('path', '?')}; docker CLI "
                            f"{caps.docker_cli}.", data=data)
    if plugin:
        return Check("engine.docker-debug", "warn",
                     "the docker-debug plugin is installed but there is no docker CLI on PATH "
                     "to run it", detail=f"Plugin at {plugin.get('path', '?')}.",
                     fix=fixes.plugin_without_cli().fix,
                     data=data)
    return Check("engine.docker-debug", "ok",
                 "`docker debug` not installed (optional; dhitui uses its own sidecars)",
                 detail="It is a Docker Desktop CLI plugin; dhitui's sidecar and exec "
                        "strategies need neither it nor the docker CLI (they run over the "
                        "Engine API).", data=data)


def _toolbox(engine: Engine, caps: Capabilities) -> Check:
    data = {"image": caps.toolbox_image, "present": caps.toolbox_image_present}
    if caps.toolbox_image_present:
        return Check("engine.toolbox", "ok",
                     f"toolbox image {caps.toolbox_image} is present locally",
                     detail="Debug sidecars take their shell and tools from it.", data=data)
    fx = fixes.toolbox_missing(caps.toolbox_image, engine.endpoint)
    return Check("engine.toolbox", "warn",
                 f"toolbox image {caps.toolbox_image} is not present locally",
                 detail="The image-mount and toolbox debug strategies need it on this engine; "
                        "dhitui never pulls it by itself.",
                 fix=fx.fix, alternatives=fx.alternatives, data=data)


def _security(caps: Capabilities) -> Check:
    data = {"rootless": caps.rootless, "userns": caps.userns,
            "seccomp_profile": caps.seccomp_profile, "apparmor": caps.apparmor,
            "selinux": caps.selinux}
    mode = "rootless" if caps.rootless else "rootful"
    userns = ", user namespaces remapped" if caps.userns else ""
    detail = []
    if caps.rootless:
        detail.append("Container UIDs map to your subordinate UIDs (/etc/subuid), so a "
                      "container's UID 65532 is another number on the host.")
    if caps.userns:
        detail.append("With userns-remap, container UIDs are shifted on the host and debug "
                      "sidecars join the target's user namespace.")
    if not detail:
        detail.append("Container UIDs are the host's UIDs.")
    lsm = [n for n, on in (("AppArmor", caps.apparmor), ("SELinux", caps.selinux)) if on]
    detail.append(f"seccomp {caps.seccomp_profile or 'off'}"
                  + (f", {', '.join(lsm)}" if lsm else "") + ".")
    return Check("engine.security", "ok", f"{mode} engine{userns}", detail=" ".join(detail),
                 data=data)


def orphan_sidecar_check(engine: Engine, sidecars: Sequence[Sidecar]) -> Check:
    """Sidecars whose session is gone (judged by dhitui.sessions: the target is gone or
    stopped, or no process on this machine runs the session any more)."""
    data = {
        "sidecars": [{"id": s.id, "name": s.name, "what": s.what, "state": s.state,
                      "target": s.target_name or s.target_id or "", "status": s.status,
                      "orphan": s.is_orphan, "reason": s.reason} for s in sidecars],
        "orphans": [s.id for s in sidecars if s.is_orphan],
    }
    orphans = [s for s in sidecars if s.is_orphan]
    if not orphans:
        live = sum(1 for s in sidecars if s.status == "live")
        unknown = len(sidecars) - live
        extra = [f"{live} in a running session"] if live else []
        extra += [f"{unknown} started elsewhere"] if unknown else []
        suffix = f" ({', '.join(extra)})" if extra else ""
        return Check("engine.sidecars", "ok", f"no orphan dhitui sidecars{suffix}", data=data)
    listing_text = "; ".join(f"{s.what} {s.name} ({s.reason})" for s in orphans[:10])
    fx = fixes.cleanup_orphans(engine.endpoint)
    kinds: dict[str, int] = {}
    for s in orphans:
        kinds[s.what] = kinds.get(s.what, 0) + 1
    counted = ", ".join(f"{n} {what}{'s' if n != 1 else ''}" for what, n in kinds.items())
    return Check(
        "engine.sidecars", "warn",
        f"left behind by debug sessions that died: {counted}",
        detail=f"What dhitui made for sessions that ended without cleaning up (a crash, a "
               f"kill -9 of dhitui and its keeper): {listing_text}.",
        fix=fx.fix, alternatives=fx.alternatives, data=data,
    )
