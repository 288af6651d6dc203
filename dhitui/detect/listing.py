"""The container list as detection reads it, and the rule for when the list is not enough.

A container's own settings (user, entrypoint, cmd) can be overridden at `docker run`; only an
inspect shows them all. The container list carries the `Command` (entrypoint + cmd joined) but
not the user. **The rule** (`needs_inspect`): a container known from the list is classified
from the list and its image, and inspected only when
  1. its verdict depends on its user: no shell, probed, and no hardened source in its names,
     labels or contents (then root makes it "shell-less", anyone else "hardened"); or
  2. its `Command` is not the image's entrypoint + cmd (an `--entrypoint` or a command given
     at `docker run`; Podman's compat list shows only the cmd, so there a container whose
     image has an entrypoint is always inspected: an override could not be told apart); or
  3. the list names its image by ID (the reference it was created from, whose tag is evidence
     for the variant, has moved on).
Otherwise the verdict is the same whoever the container runs as (a shell makes it "standard",
a hardened source without a shell "hardened"), and the user shown is the image's USER, marked
`inspected=False` until something inspects the container (the TUI does when a row is
selected; a session plan always does). So classifying N containers of K images costs K x
(1 image inspect + a few path stats + 2 small file reads) + the inspects the rule asks for,
and a container passed by name or ID is always inspected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dhitui.detect import rules
from dhitui.detect.image_facts import ImageFacts
from dhitui.engine.client import Engine
from dhitui.models import ContainerSummary


def summary_from_api(item: dict[str, Any]) -> ContainerSummary:
    """A `GET /containers/json` entry as a ContainerSummary."""
    names = item.get("Names") or []
    name = names[0].lstrip("/") if names else item.get("Id", "")[:12]
    return ContainerSummary(
        id=item["Id"],
        name=name,
        image=item.get("Image", ""),
        image_id=item.get("ImageID", ""),
        state=item.get("State", ""),
        status=item.get("Status", ""),
        labels=dict(item.get("Labels") or {}),
        created=int(item.get("Created") or 0),
        command=str(item.get("Command") or ""),
    )


def list_summaries(engine: Engine, *, all: bool = False) -> list[ContainerSummary]:
    return [summary_from_api(c) for c in engine.list_containers(all=all)]


def listed_command(argv: Iterable[str]) -> str:
    """A process's argv as the engine's container list shows it in `Command`: joined by
    spaces, arguments after the first in single quotes when they hold a space (Docker's
    daemon/list.go). Podman's compat list leaves the entrypoint out: those rows do not
    match and are inspected, which is the safe side."""
    path, *args = list(argv) or [""]
    if not args:
        return path
    return path + " " + " ".join(f"'{a}'" if " " in a else a for a in args)


InspectReason = str  # why a container needs its own inspect (for evidence and tests)


def needs_inspect(summary: ContainerSummary, facts: ImageFacts) -> InspectReason | None:
    """Why the list and the image are not enough to classify this container (the rule in
    the module docstring), or None when they are."""
    if not summary.image or summary.image.startswith("sha256:"):
        return "the list names its image by ID"
    if summary.command != listed_command([*facts.entrypoint, *facts.cmd]):
        return "its command is not the image's"
    if facts.probed and facts.shell is None:
        source, _ = rules.image_source([summary.image, *facts.tags],
                                       {**facts.labels, **summary.labels})
        if source == "other" and facts.content_source is None:
            return "its verdict depends on who it runs as"
    return None
