"""The waiting half of a sidecar's keeper (`dhitui.engine.reaper`), kept apart so that it
costs next to nothing: it is started for every sidecar session as

    python -I -S .../dhitui/engine/keeper.py

(no site, no environment, no imports but `os` and `sys`: a few milliseconds of CPU instead
of an interpreter with dhitui's modules, on a machine where the sidecar's start competes for
the same cores). It reads its stdin to the end. If dhitui wrote `done` first, nothing is to
be done; if the pipe ended without it (dhitui died), it becomes the reaper proper
(`python -m dhitui.engine.reaper REQUEST`, with docker-py), which removes the sidecar.
"""

import os
import sys

DONE = b"done\n"


def main() -> int:
    data = b""
    while True:
        try:
            chunk = os.read(0, 65536)
        except InterruptedError:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    request, _, rest = data.partition(b"\n")
    if not request or request + b"\n" == DONE or rest.startswith(DONE):
        return 0
    _become_reaper(request)
    return 1  # only if it could not be started


def _become_reaper(request: bytes) -> None:
    # The environment (PYTHONPATH to dhitui's root) was set by the parent for this. An argv
    # list, no shell; the request is the JSON dhitui wrote.
    os.execv(sys.executable, [sys.executable, "-m", "dhitui.engine.reaper",  # noqa: S606
                              request.decode(errors="replace")])


if __name__ == "__main__":
    raise SystemExit(main())
