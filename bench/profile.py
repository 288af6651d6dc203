"""Where dhitui's launch time goes: pyinstrument from the first line to the painted list.

    python -m bench.profile HOST [OUT.txt]     (containers should be running on HOST)

Runs dhitui's own entry point on a real pty (bench.term), with pyinstrument started before
anything of dhitui is imported, and stops it right after the frame that first shows the
list: the profile covers imports, building the screen, the first engine calls as the main
thread waits for them, and the table fill. Thread workers are sampled only where the main
thread waits for them; `python -X importtime` and bench.table cover the rest.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

CHILD = "--child"


def child(host: str, out: str) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    from dhitui.ui import app as app_module

    loaded = app_module.DhituiApp.on_containers_loaded

    def on_containers_loaded(self: app_module.DhituiApp, message: object) -> None:
        loaded(self, message)  # type: ignore[arg-type]

        def stop() -> None:
            profiler.stop()
            Path(out).write_text(profiler.output_text(
                unicode=True, color=False,
                processor_options={"filter_threshold": 0.01}))
            self.exit(0)

        self.call_after_refresh(stop)

    app_module.DhituiApp.on_containers_loaded = on_containers_loaded  # type: ignore[method-assign]
    from dhitui.cli import main

    sys.exit(main(["-H", host]))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        child(sys.argv[2], sys.argv[3])
        return 0
    from bench.term import Terminal

    host = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else "bench/results/profile-startup.txt"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    term = Terminal([sys.executable, "-m", "bench.profile", CHILD, host, out])
    deadline = time.monotonic() + 60
    while term.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    term.close()
    print(Path(out).read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
