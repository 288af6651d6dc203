"""What each debug strategy needs, judged from capabilities and the container's state only.

This is deliberately separate from the per-container checks: once `dhitui.sessions` exists
(it owns the strategies and builds their argv), `strategy_needs` should ask it instead of
repeating its rules here. Until then the rules are the spec's (SPEC.md section 3):

  docker-debug  the `docker debug` CLI plugin and a docker CLI to run it
  image-mount   API >= 1.48, the toolbox image present locally, a running target
  toolbox       the toolbox image present locally, a running target
  exec          a shell inside the container, a running target

Check id `container.debug`, data: {chosen, preferred, strategies: [{name, available,
missing: [...]}], running, shell}.
"""

from __future__ import annotations

from dataclasses import dataclass

from dhitui.diagnostics import fixes
from dhitui.diagnostics.check import Check, ContainerRef
from dhitui.engine.capabilities import Capabilities
from dhitui.engine.client import IMAGE_MOUNT_API
from dhitui.engine.endpoint import Endpoint

STRATEGIES = ("docker-debug", "image-mount", "toolbox", "exec")


@dataclass(frozen=True)
class StrategyNeeds:
    name: str
    missing: tuple[str, ...]

    @property
    def available(self) -> bool:
        return not self.missing


def strategy_needs(caps: Capabilities, *, running: bool, state: str, shell: str | None
                   ) -> list[StrategyNeeds]:
    """Every strategy, best first, with what it lacks for this container."""
    not_running = f"a running target (it is {state})"
    toolbox = f"the toolbox image {caps.toolbox_image} present locally"
    out = []
    dd: list[str] = []
    if not caps.docker_debug_plugin:
        dd.append("the docker-debug CLI plugin (Docker Desktop)")
    if not caps.docker_cli:
        dd.append("a docker CLI on PATH")
    out.append(StrategyNeeds("docker-debug", tuple(dd)))
    im: list[str] = []
    if not caps.image_mounts:
        im.append(f"API {IMAGE_MOUNT_API} for image mounts (engine speaks {caps.api_version})")
    if not caps.toolbox_image_present:
        im.append(toolbox)
    if not running:
        im.append(not_running)
    out.append(StrategyNeeds("image-mount", tuple(im)))
    tb: list[str] = []
    if not caps.toolbox_image_present:
        tb.append(toolbox)
    if not running:
        tb.append(not_running)
    out.append(StrategyNeeds("toolbox", tuple(tb)))
    ex: list[str] = []
    if shell is None:
        ex.append("a shell in the container")
    if not running:
        ex.append(not_running)
    out.append(StrategyNeeds("exec", tuple(ex)))
    return out


def debug_strategy_check(ref: ContainerRef, caps: Capabilities, *, state: str, image: str,
                         shell: str | None, preferred: str = "auto",
                         endpoint: Endpoint | None = None) -> Check:
    running = state == "running"
    needs = strategy_needs(caps, running=running, state=state, shell=shell)
    by_name = {n.name: n for n in needs}
    data = {
        "preferred": preferred,
        "running": running,
        "shell": shell,
        "strategies": [{"name": n.name, "available": n.available, "missing": list(n.missing)}
                       for n in needs],
    }
    if preferred != "auto" and preferred in by_name:
        chosen = by_name[preferred]
        if chosen.available:
            return Check("container.debug", "ok", f"debug strategy {preferred} (as configured) "
                         "can be used", container=ref, data={**data, "chosen": preferred})
        fallback = next((n.name for n in needs if n.available), None)
        alt = (f"or use `--strategy {fallback}`, which works here",) if fallback else ()
        return Check("container.debug", "fail",
                     f"the configured debug strategy {preferred} cannot be used: it needs "
                     + "; ".join(chosen.missing),
                     detail="The strategy comes from --strategy or dhitui's config.toml.",
                     fix=_fix_for(chosen, caps, ref, image, endpoint), alternatives=alt,
                     container=ref, data={**data, "chosen": None})
    chosen_auto = next((n for n in needs if n.available), None)
    if chosen_auto is not None:
        skipped = [n for n in needs[:needs.index(chosen_auto)]]
        why_not = "; ".join(f"{n.name} needs {', '.join(n.missing)}" for n in skipped)
        return Check("container.debug", "ok",
                     f"`dhitui debug` will use {chosen_auto.name}",
                     detail=(f"Better strategies are out: {why_not}." if why_not else
                             "That is the best strategy there is."),
                     container=ref, data={**data, "chosen": chosen_auto.name})
    if not running:
        fx = fixes.start_container(ref.name, image, endpoint)
        return Check("container.debug", "warn",
                     f"no debug session possible while the container is {state}",
                     detail="Sidecars join a running process's namespaces and exec needs a "
                            "running process.", fix=fx.fix, alternatives=fx.alternatives,
                     container=ref, data={**data, "chosen": None})
    summary = "; ".join(f"{n.name} needs {', '.join(n.missing)}" for n in needs)
    return Check("container.debug", "fail", "no debug strategy can be used for this container",
                 detail=f"{summary}.", fix=_fix_for(by_name["toolbox"], caps, ref, image,
                                                    endpoint),
                 container=ref, data={**data, "chosen": None})


def _fix_for(needs: StrategyNeeds, caps: Capabilities, ref: ContainerRef, image: str,
             endpoint: Endpoint | None) -> str | None:
    if any("toolbox image" in m for m in needs.missing):
        return fixes.toolbox_missing(caps.toolbox_image, endpoint).fix
    if any("running target" in m for m in needs.missing):
        return fixes.start_container(ref.name, image, endpoint).fix
    if needs.name == "image-mount":
        return fixes.upgrade_for_image_mounts().fix
    return None
