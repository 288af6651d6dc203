"""What debugging a container will take: the session planner's answer, as a check.

The rules live in `dhitui.sessions` (it chooses strategies and builds their argv); this
module only turns a plan into a `Check` with a fix, so `doctor`, the TUI and `dhitui debug`
can never disagree about which strategy runs or why another cannot.

Check id `container.debug`, data: {chosen, view, account, preferred, running, shell,
command_line, strategies: [{name, available, missing: [...]}]}.
"""

from __future__ import annotations

from dhitui.detect import Classifier
from dhitui.diagnostics import fixes
from dhitui.diagnostics.check import Check, ContainerRef
from dhitui.engine.capabilities import Capabilities
from dhitui.engine.client import Engine
from dhitui.sessions import ContainerTarget, SessionPlan, Strategy, plan_session
from dhitui.sessions.strategies import SIDECAR_NAMES
from dhitui.strategy_registry import AUTO, BESIDE


def debug_strategy_check(engine: Engine, ref: ContainerRef, caps: Capabilities, *,
                         image: str, preferred: str = AUTO,
                         classifier: Classifier | None = None, view: str = AUTO) -> Check:
    plan = plan_session(engine, caps, ref.id, strategy=preferred, classifier=classifier,
                        view=view)
    return strategy_check(plan, ref, caps, image=image, preferred=preferred, engine=engine)


def strategy_check(plan: SessionPlan, ref: ContainerRef, caps: Capabilities, *, image: str,
                   preferred: str, engine: Engine) -> Check:
    target = plan.target
    state = getattr(target, "state", "unknown")
    data = {
        "preferred": preferred,
        "running": state == "running",
        "shell": getattr(target, "shell", None),
        "chosen": plan.chosen.name if plan.runnable and plan.chosen else None,
        "view": plan.chosen.view if plan.runnable and plan.chosen else None,
        # Who the session runs as: the target's uid, gid and every group (see sessions).
        "account": (target.account.to_json()
                    if isinstance(target, ContainerTarget) and target.account else None),
        "command_line": plan.command_line if plan.runnable else None,
        "strategies": [{"name": s.name, "available": s.available, "missing": list(s.reasons)}
                       for s in plan.strategies],
    }
    if plan.runnable and plan.chosen is not None:
        chosen = plan.chosen
        skipped = plan.strategies[:plan.strategies.index(chosen)] if preferred == AUTO else ()
        why_not = "; ".join(f"{s.name}: {', '.join(s.reasons)}" for s in skipped
                            if not s.available)
        how = "as configured" if preferred != AUTO else "the best available"
        stands = f", {chosen.view} the container" if chosen.view else ""
        where = f" {chosen.where[:1].upper()}{chosen.where[1:]}." if chosen.where else ""
        not_inside = (f" Not inside it: {chosen.view_problem}." if chosen.view == BESIDE
                      and chosen.view_problem else "")
        return Check("container.debug", "ok",
                     f"`dhitui debug` will use {chosen.name}{stands} ({how})",
                     detail=(f"{chosen.summary}.{where}{not_inside} "
                             + (f"Not usable here: {why_not}." if why_not else "")).strip(),
                     container=ref, data=data)
    endpoint = engine.endpoint
    if state != "running":
        fx = fixes.start_container(ref.name, image, endpoint)
        return Check("container.debug", "warn",
                     f"no debug session possible while the container is {state}",
                     detail=plan.problem or "", fix=fx.fix, alternatives=fx.alternatives,
                     container=ref, data=data)
    blocked = plan.chosen if plan.chosen is not None else _best_blocked(plan)
    return Check("container.debug", "fail",
                 plan.problem or "no debug strategy can be used for this container",
                 detail="; ".join(f"{s.name}: {', '.join(s.reasons)}" for s in plan.strategies
                                  if not s.available),
                 fix=_fix_for(blocked, caps, ref, image, engine), container=ref, data=data)


def _best_blocked(plan: SessionPlan) -> Strategy | None:
    """The strategy most worth unblocking: the sidecar that needs the least."""
    sidecars = [s for s in plan.strategies if s.name in SIDECAR_NAMES]
    return min(sidecars, key=lambda s: len(s.reasons), default=None)


def _fix_for(strategy: Strategy | None, caps: Capabilities, ref: ContainerRef, image: str,
             engine: Engine) -> str | None:
    if strategy is None:
        return None
    unmet = [n.what for n in strategy.needs if not n.met]
    if any(w.startswith("the toolbox image") for w in unmet):
        return fixes.toolbox_missing(caps.toolbox_image, engine.endpoint).fix
    if any(w.startswith("image mounts") for w in unmet):
        return fixes.upgrade_for_image_mounts(caps.identity).fix
    return None
