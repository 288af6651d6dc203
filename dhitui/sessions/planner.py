"""`plan_session`: gather the facts for a target from the engine, then plan (pure).

This is the entry the CLI and the TUI call; the engine calls it makes are bounded by the
engine client's timeout. Cost: one container inspect (plus a classification unless the
caller passes one it has), and for the toolbox one image inspect plus, once per machine and
toolbox image (it is kept on disk), a created-never-started container to find its shell.
With a command to run in a target that has a shell: path stats for it along the target's
PATH (once per image and command), and when it is not there, along the toolbox's. Image
facts come from the caller's `ImageFactsCache` (the TUI's and doctor's through their
classifier, shared across plans; `dhitui debug`'s, one per run), else from a new one.
"""

from __future__ import annotations

from collections.abc import Sequence

from dhitui.detect.classifier import Classifier
from dhitui.detect.facts import ImageFactsCache
from dhitui.engine.capabilities import Capabilities
from dhitui.engine.client import Engine
from dhitui.errors import UsageError
from dhitui.models import Classification
from dhitui.sessions import labels as L
from dhitui.sessions.strategies import AUTO, STRATEGIES, SessionOptions, SessionPlan, plan
from dhitui.sessions.targets import (
    ContainerTarget,
    ImageTarget,
    check_command,
    container_target,
    image_target,
    toolbox_info,
)
from dhitui.strategy_registry import TRANSPORT_CHOICES, VIEW_CHOICES


def plan_session(
    engine: Engine,
    caps: Capabilities,
    target: str | Classification | ContainerTarget | ImageTarget | None = None,
    *,
    image: str | None = None,
    strategy: str = AUTO,
    toolbox: str | None = None,
    command: Sequence[str] | None = None,
    tty: bool = True,
    root: bool = False,
    privileged: bool = False,
    network: str | None = None,
    classifier: Classifier | None = None,
    transport: str = AUTO,
    view: str = AUTO,
    facts: ImageFactsCache | None = None,
) -> SessionPlan:
    """Plan a debug session into a container (name, id, or a Classification the caller
    has), or into a local `image` with no container. Raises NotFound for an unknown
    container or image, UsageError for an unknown strategy. An impossible session is a plan
    with `runnable == False` and its reasons, not an exception. Image facts come from
    `facts`, else the classifier's, else a new cache for this plan."""
    if (target is None) == (image is None):
        raise UsageError("debug either a container or an image (--image), not both or neither")
    if strategy != AUTO and strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}",
                         hint=f"choose one of: {AUTO}, {', '.join(STRATEGIES)}")
    if transport not in TRANSPORT_CHOICES:
        raise UsageError(f"unknown transport {transport!r}",
                         hint=f"choose one of: {', '.join(TRANSPORT_CHOICES)}")
    if view not in VIEW_CHOICES:
        raise UsageError(f"unknown view {view!r}", hint=f"choose one of: {', '.join(VIEW_CHOICES)}")
    machine = L.Machine.current()
    if facts is None:
        facts = classifier.facts if classifier is not None else ImageFactsCache(engine)
    if image is not None:
        target = image_target(engine, image, machine, facts)
    elif isinstance(target, str | Classification):
        target = container_target(engine, target, classifier)
    assert target is not None
    tb = toolbox_info(engine, toolbox or caps.toolbox_image, machine, facts)
    options = SessionOptions(
        strategy=strategy,
        command=tuple(command) if command is not None else None,
        tty=tty,
        root=root,
        privileged=privileged,
        transport=transport,
        network=network,
        view=view,
    )
    # A command the target does not have would fail under `exec` (127): find out first.
    checked = (check_command(engine, target, tb, options.command, machine, facts)
               if options.command else None)
    # A network to join (snapshot sessions): known before anything is made, or said why not.
    network_found = (engine.network_exists(network)
                     if network and network != "none" and isinstance(target, ContainerTarget)
                     else True)
    return plan(target, caps=caps, endpoint=engine.endpoint, toolbox=tb, options=options,
                session=L.new_session_id(), machine=machine, command_check=checked,
                network_found=network_found)
