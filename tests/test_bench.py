"""The benchmark harness itself works (bench/, issue 7): a tiny fleet, the floor app and dhitui
driven through a pty, the request counter. It checks behaviour only; the benchmark reports
times, the tests never assert them."""

from __future__ import annotations

import os
import sys

import pytest

from conftest import REPO, EngineUnderTest, skip_or_fail

pytestmark = pytest.mark.engine
try:
    import pyte  # noqa: F401
except ImportError:
    skip_or_fail("bench needs pyte (pip install -e '.[test]')", allow_module_level=True)
sys.path.insert(0, str(REPO))

from bench import measure  # noqa: E402
from bench.fleet import IMAGES, fleet  # noqa: E402


def test_harness_measures_the_floor_and_dhitui(engine28: EngineUnderTest) -> None:
    with fleet(engine28.host, 4) as f:
        assert len(f.ids) == 4
        floor = measure.tui_session("floor", engine28.host, f, idle_seconds=0.5, keys=True)
        app = measure.tui_session("dhitui", engine28.host, f, idle_seconds=0.5, keys=True)
        counted = measure.count_classify_requests(engine28.host)
        cli = os.environ.get("DHITUI_TEST_DOCKER_CLI", "docker")
        env = measure.session_env(cli)
        bare = measure.wall(measure.bare_run_argv(cli, engine28.host, f.name(0)), env=env)
        debug = measure.wall(measure.debug_true_argv(engine28.host, f.name(0)), env=env)
        prompt = measure.enter_to_prompt(engine28.host, f, cli)
    assert floor.first_paint is not None and floor.first_paint > 0
    assert floor.cursor_ms and floor.idle_cpu is not None
    assert floor.peak_rss_mb is not None and floor.peak_rss_mb > 10
    assert app.first_paint is not None and app.classified is not None
    assert app.classified >= app.first_paint
    assert app.cursor_ms and app.filter_ms  # the cursor moved, the filter narrowed the list
    assert counted["containers"] >= 4 and counted["images"] >= len(IMAGES)
    kinds = counted["by_kind"]
    # The fleet's containers are classified from the list and their images: none inspected.
    assert kinds.get("container inspect", 0) <= counted["containers"] - 4
    assert bare > 0 and debug > 0 and prompt > 0  # numbers; their size is bench/'s to report
    assert kinds["image inspect"] == counted["images"]
    # The fleet is gone afterwards.
    from bench.fleet import remove_label

    assert remove_label(engine28.host, f.run_id) == 0
