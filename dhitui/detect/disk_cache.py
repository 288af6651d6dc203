"""A small on-disk cache of what images hold for sessions (`image_facts.ImageFiles`: their
shell, its links, their users), so that `dhitui debug` does not create a throwaway container
to look at the same toolbox on every run (docs/benchmarks.md says what that costs). Used by
`facts.ImageFactsCache`, which decides when to read and write it.

An image id is the digest of the image's configuration, which names its layers by content:
the same id always means the same files, on any engine. Entries therefore never go stale;
the file only grows to `MAX_ENTRIES` (oldest dropped). It lives at
`$XDG_CACHE_HOME/dhitui/image-files.json` (default `~/.cache/dhitui/`). Any problem reading
or writing it (read-only home, corrupt file) just means looking again.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FORMAT = 1
MAX_ENTRIES = 256
_lock = threading.Lock()


def cache_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(
        Path(env.get("HOME") or os.path.expanduser("~")) / ".cache")
    return Path(base) / "dhitui" / "image-files.json"


def _read(path: Path, version: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get(
            "version") != version or not isinstance(data.get("images"), dict):
        return {}
    images: dict[str, Any] = data["images"]
    return images


def load(image_id: str, version: str, env: Mapping[str, str] | None = None
         ) -> dict[str, Any] | None:
    """The cached entry for an image, if any. `version` names the probe's rules (a change in
    what is looked for invalidates the file)."""
    entry = _read(cache_path(env), version).get(image_id)
    return entry if isinstance(entry, dict) else None


def store(image_id: str, entry: dict[str, Any], version: str,
          env: Mapping[str, str] | None = None) -> None:
    path = cache_path(env)
    with _lock, contextlib.suppress(OSError):
        images = _read(path, version)
        images.pop(image_id, None)
        images[image_id] = entry
        while len(images) > MAX_ENTRIES:
            images.pop(next(iter(images)))
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a concurrent reader sees the old file or the new one, never half.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".image-files.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"format": FORMAT, "version": version, "images": images}, f)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
