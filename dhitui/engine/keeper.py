"""The waiting half of a session's keeper (`dhitui.engine.reaper`), kept apart so that it
costs next to nothing: it is started for sidecar and snapshot sessions as

    python -I -S .../dhitui/engine/keeper.py

(no site, no environment, no imports but `os` and `sys`: a few milliseconds of CPU instead
of an interpreter with dhitui's modules, on a machine where the sidecar's start competes for
the same cores). It reads its stdin to the end: request lines (JSON, the last one counts),
`wait PID` lines, and `done`. If dhitui wrote `done`, nothing is to be done. If the pipe ended
without it (dhitui died), it waits until every process named by a `wait` line has ended too
(the docker CLI holding a session through the CLI transport keeps it alive), then becomes
the reaper proper (`python -m dhitui.engine.reaper REQUEST`), which removes what the session
made.
"""

import os
import sys
import time

DONE = b"done\n"
WAIT = b"wait "
POLL = 0.5  # seconds between looks at a process it waits for


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
    lines = data.split(b"\n")
    if DONE.rstrip(b"\n") in lines:
        return 0
    requests = [line for line in lines if line.startswith(b"{")]
    if not requests:
        return 0
    for line in lines:
        if line.startswith(WAIT) and line[len(WAIT):].isdigit():
            _wait_for(int(line[len(WAIT):]))
    _become_reaper(requests[-1])
    return 1  # only if it could not be started


def _wait_for(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass  # it exists, as another user
        time.sleep(POLL)


def _become_reaper(request: bytes) -> None:
    # The environment (PYTHONPATH to dhitui's root) was set by the parent for this. An argv
    # list, no shell; the request is the JSON dhitui wrote.
    os.execv(sys.executable, [sys.executable, "-m", "dhitui.engine.reaper",  # noqa: S606
                              request.decode(errors="replace")])


if __name__ == "__main__":
    raise SystemExit(main())
