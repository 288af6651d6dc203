"""The TUI against the real engines, driven by Textual's pilot."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sockproxy import SocketProxy
from textual.widgets import Static

from dhitui.live import EngineSession
from dhitui.ui.app import DhituiApp
from dhitui.ui.render import clock

from conftest import HARDENED_IMAGE, STANDARD_IMAGE, EngineUnderTest, cli_env, docker
from uitools import ids, key, link, panel_text, select_alone, session, verdict_of, wait_for

pytestmark = pytest.mark.engine
SIZE = (150, 45)


def make_app(engine: EngineUnderTest) -> DhituiApp:
    return DhituiApp(EngineSession(host=engine.host, env=cli_env()))


async def test_fixtures_appear_with_their_badges(engine: EngineUnderTest,
                                                 containers: Callable[..., str]) -> None:
    hardened = containers(engine, HARDENED_IMAGE)
    standard = containers(engine, STANDARD_IMAGE)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: verdict_of(app, hardened) == "● hardened"
                       and verdict_of(app, standard) == "○ standard", "both verdicts")
        assert app.table.get_cell(key(hardened), "user").plain == "65532 (nonroot)"
        assert app.table.get_cell(key(hardened), "shell").plain == "none"
        assert app.table.get_cell(key(standard), "shell").plain == "/bin/sh"
        assert "connected" in panel_text(app, "engine")


async def test_containers_come_and_go_without_a_key_press(
    engine: EngineUnderTest, containers: Callable[..., str]
) -> None:
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: link(app).connected, "connection")
        cid = containers(engine, HARDENED_IMAGE)
        await wait_for(pilot, lambda: verdict_of(app, cid) == "● hardened", "the new row")
        docker(engine, "stop", "-t", "5", cid)
        await wait_for(pilot, lambda: cid not in ids(app.table), "stopped row gone")
        await pilot.press("a")  # show stopped containers too
        await wait_for(pilot, lambda: cid in ids(app.table), "stopped row shown")
        assert app.table.get_cell(key(cid), "state").plain == "exited"
        docker(engine, "rm", "-f", cid)
        await wait_for(pilot, lambda: key(cid) not in app.table.rows, "removed row gone")


async def test_filter_as_you_type(engine28: EngineUnderTest,
                                  containers: Callable[..., str]) -> None:
    tag = uuid.uuid4().hex[:6]
    a = containers(engine28, HARDENED_IMAGE, name=f"dhitui-test-alpha-{tag}")
    b = containers(engine28, STANDARD_IMAGE, name=f"dhitui-test-beta-{tag}")
    app = make_app(engine28)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: {a, b} <= set(ids(app.table)), "both rows")
        await pilot.press("slash", *f"alpha-{tag}")
        await wait_for(pilot, lambda: ids(app.table) == [a], "only alpha")
        await pilot.press("escape")
        await wait_for(pilot, lambda: {a, b} <= set(ids(app.table)), "filter cleared")
        await wait_for(pilot, lambda: verdict_of(app, b) == "○ standard", "verdict of beta")
        await pilot.press("slash", *f"{tag} standard")  # terms match name and verdict
        await wait_for(pilot, lambda: ids(app.table) == [b], "only beta")
        assert app.focused is not None and app.focused.id == "filter"
        await pilot.press("enter")
        assert app.focused is app.table


async def test_side_panel_follows_the_selection(engine28: EngineUnderTest,
                                                containers: Callable[..., str]) -> None:
    tag = uuid.uuid4().hex[:6]
    first = containers(engine28, HARDENED_IMAGE, name=f"dhitui-test-a-{tag}")
    second = containers(engine28, STANDARD_IMAGE, name=f"dhitui-test-b-{tag}")
    app = make_app(engine28)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *tag, "enter")
        await wait_for(pilot, lambda: ids(app.table) == [first, second],
                       f"two rows (filter={app.table.filter_text!r})")
        await wait_for(pilot, lambda: "no shell" in panel_text(app, "container"), "evidence")
        text = panel_text(app, "container")
        assert f"dhitui-test-a-{tag}" in text and "/app/app" in text
        await pilot.press("down")
        await wait_for(pilot, lambda: f"dhitui-test-b-{tag}" in panel_text(app, "container"),
                       "panel shows the second container")
        await wait_for(pilot, lambda: "shell /bin/sh" in panel_text(app, "container"),
                       "second container's evidence")


async def test_a_selected_row_shows_the_containers_own_user(
    engine28: EngineUnderTest, containers: Callable[..., str]
) -> None:
    """A --user override is invisible in the container list: the row first shows the
    image's user (in italics; the verdict holds whoever it runs as), and the container's
    own once the row is selected and the container inspected."""
    tag = uuid.uuid4().hex[:6]
    cid = containers(engine28, HARDENED_IMAGE, "--user", "0", name=f"dhitui-test-u-{tag}")
    app = make_app(engine28)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: verdict_of(app, cid) == "● hardened", "the verdict")
        await select_alone(pilot, app, tag, cid)
        await wait_for(pilot, lambda: app.table.get_cell(key(cid), "user").plain == "root",
                       "the container's own user")
        row = app.table.rows[key(cid)]
        assert row.classification is not None and row.classification.inspected
        assert "italic" not in str(app.table.get_cell(key(cid), "user").style)
        assert "root (container)" in panel_text(app, "container")


async def test_markup_and_escapes_in_labels_render_literally(
    engine28: EngineUnderTest, containers: Callable[..., str]
) -> None:
    tag = uuid.uuid4().hex[:6]
    cid = containers(engine28, HARDENED_IMAGE, "--label", "com.docker.dhi.[bold]x[/bold]=1",
                     "--label", "com.docker.dhi.variant=\x1b]0;pwned\x07runtime",
                     name=f"dhitui-test-m-{tag}")
    app = make_app(engine28)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *tag, "enter")
        await wait_for(pilot, lambda: verdict_of(app, cid) is not None
                       and "Evidence" in panel_text(app, "container"), "evidence")
        text = panel_text(app, "container")
        assert "com.docker.dhi.[bold]x[/bold]" in text
        assert "\x1b" not in text and "pwned" not in text


async def test_unreachable_engine_is_explained(tmp_path: object) -> None:
    app = DhituiApp(EngineSession(host=f"unix://{tmp_path}/none.sock", env=cli_env()))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: link(app).state == "unreachable", "lost state")
        text = panel_text(app, "engine")
        assert "no socket at" in text and "dhitui doctor" in text
        assert app.table.row_count == 0


async def test_survives_the_daemon_restarting(engine20: EngineUnderTest,
                                              containers: Callable[..., str]) -> None:
    """Stop the real daemon under the running app, start it again: the panel says so, the
    app keeps running, and the list comes back without a restart of the app."""
    import subprocess

    from conftest import REPO

    script = str(REPO / "scripts" / "test-engines")
    cid = containers(engine20, HARDENED_IMAGE, "--restart", "always")
    app = make_app(engine20)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: verdict_of(app, cid) == "● hardened", "the row")
        try:
            subprocess.run([script, "down", "--only", "e20"], check=True, timeout=120,
                           capture_output=True)
            await wait_for(pilot, lambda: link(app).state == "unreachable", "engine lost")
            assert "unreachable" in panel_text(app, "engine")
        finally:
            subprocess.run([script, "up", "--only", "e20"], check=True, timeout=300,
                           capture_output=True)
        await wait_for(pilot, lambda: link(app).connected, "reconnected", 60)
        # --restart always: the engine brings the container back; the list shows it again.
        await wait_for(pilot, lambda: verdict_of(app, cid) == "● hardened"
                       and app.table.get_cell(key(cid), "state").plain == "running",
                       "the row back", 60)


async def test_rows_are_last_seen_while_the_engine_is_unreachable(
    engine28: EngineUnderTest, containers: Callable[..., str], tmp_path: Path
) -> None:
    """The connection to a running engine drops (its containers keep running): the rows
    are shown as last seen, dimmed, with the time, never as running now; when the engine
    answers again they are current."""
    cid = containers(engine28, HARDENED_IMAGE)
    proxy = SocketProxy(str(tmp_path / "engine.sock"), engine28.socket)
    proxy.start()
    app = DhituiApp(EngineSession(host=proxy.host, env=cli_env()))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: verdict_of(app, cid) == "● hardened", "the row")
            assert app.table.get_cell(key(cid), "state").plain == "running"
            app.table.move_cursor(row=app.table.get_row_index(key(cid)), animate=False)
            await wait_for(pilot, lambda: "running (Up" in panel_text(app, "container"),
                           "the panel")
            proxy.cut()
            await wait_for(pilot, lambda: link(app).state == "unreachable", "engine lost")
            seen = session(app).freshness.as_of
            assert seen is not None and not session(app).freshness.current
            assert app.table.get_cell(key(cid), "state").plain == f"running? seen {clock(seen)}"
            assert all(any(span.style == "dim" for span in cell.spans)
                       for cell in app.table.get_row(key(cid)))
            assert f"what the engine said at {clock(seen)}" in str(
                app.query_one("#notice", Static).render())
            panel = panel_text(app, "container")
            assert f"running? seen {clock(seen)}, the engine does not answer now" in panel
            assert "running (Up" not in panel
            proxy.start()
            await wait_for(pilot, lambda: link(app).connected, "reconnected", 60)
            await wait_for(pilot, lambda: app.table.get_cell(key(cid), "state").plain == "running",
                           "the row current again")
            assert session(app).freshness.current
            name_cell = app.table.get_cell(key(cid), "name")
            assert not any(span.style == "dim" for span in name_cell.spans)
            await wait_for(pilot, lambda: "running (Up" in panel_text(app, "container"),
                           "the panel current again")
    finally:
        proxy.cut()


async def test_panel_shows_a_failing_socket_permission_with_the_real_gid(
    engine28: EngineUnderTest, containers: Callable[..., str]
) -> None:
    import os

    gid = os.stat(engine28.socket).st_gid
    tag = uuid.uuid4().hex[:6]
    containers(engine28, HARDENED_IMAGE, "-v", f"{engine28.socket}:/var/run/docker.sock",
               name=f"dhitui-test-sock-{tag}")
    app = make_app(engine28)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *tag, "enter")
        await wait_for(pilot, lambda: "✘" in panel_text(app, "container"), "failing check")
        text = panel_text(app, "container")
        assert "mounts the docker socket" in text and f"--group-add {gid}" in text
        details = app.details_of(app.table.selected_key)  # type: ignore[arg-type]
        shown = details.checks
        assert all("666" not in (c.fix or "") for c in shown)  # never offered as a fix
        await wait_for(pilot, lambda: "other checks pass" in panel_text(app, "diagnostics"),
                       "host diagnostics")


# ------------------------------------------------------------------ debug from the TUI


def recording_app(engine: EngineUnderTest, calls: list[object]) -> DhituiApp:
    """The real app and backend; only the last step — handing the terminal to the session,
    which the headless driver cannot do — records the plan instead (the pty tests run it)."""
    from dhitui.sessions import SessionResult

    def runner(plan: object) -> SessionResult:
        calls.append(plan)
        return SessionResult(strategy=plan.chosen.name, exit_status=0,  # type: ignore[attr-defined]
                             duration=0.0)

    return DhituiApp(EngineSession(host=engine.host, env=cli_env()), session_runner=runner)


async def test_enter_debugs_the_selected_container_with_the_best_strategy(
    engine: EngineUnderTest, containers: Callable[..., str]
) -> None:
    tag = uuid.uuid4().hex[:6]
    cid = containers(engine, HARDENED_IMAGE, name=f"dhitui-test-dbg-{tag}")
    calls: list[object] = []
    app = recording_app(engine, calls)
    planned: list[str] = []  # plans made for a session (not for the panel)
    make_plan = app.make_plan

    def make_plan_counted(container_id: str, purpose: str, strategy: str = "auto",
                          view: str | None = None) -> None:
        planned.append(purpose)
        make_plan(container_id, purpose, strategy, view)

    app.make_plan = make_plan_counted  # type: ignore[method-assign,assignment]
    async with app.run_test(size=SIZE) as pilot:
        await select_alone(pilot, app, tag, cid)
        expected = "image-mount" if engine.image_mounts else "toolbox"
        assert f"enter → {expected}" in panel_text(app, "container")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(calls) == 1, "the session runner")
        plan = calls[0]
        assert plan.target.id == cid and plan.chosen.name == expected  # type: ignore[attr-defined]
        # Inside the selected container: the exec names it.
        assert plan.runnable and cid in plan.argv  # type: ignore[attr-defined]
        assert plan.chosen.view == "inside"  # type: ignore[attr-defined]
        assert planned == []  # the panel's plan ran: no engine requests for a new one
        await pilot.press("d")
        await wait_for(pilot, lambda: len(calls) == 2, "d debugs too")
        # A session's plan is used once: the next one is new (the panel's next, or made now).
        assert calls[1].session_id != plan.session_id  # type: ignore[attr-defined]


async def test_strategy_picker_and_copy(engine28: EngineUnderTest,
                                        containers: Callable[..., str]) -> None:
    from dhitui.ui.screens.strategy_picker import StrategyPicker

    tag = uuid.uuid4().hex[:6]
    cid = containers(engine28, HARDENED_IMAGE, name=f"dhitui-test-pick-{tag}")
    calls: list[object] = []
    app = recording_app(engine28, calls)
    async with app.run_test(size=SIZE) as pilot:
        await select_alone(pilot, app, tag, cid)
        await pilot.press("c")
        await wait_for(pilot, lambda: bool(app.clipboard), "the clipboard")
        # The session inside the container: an exec in it (its holder's pid shown as <pid>).
        assert app.clipboard == app.details_of(key(cid)).plan.command_line
        assert " exec -i -t " in app.clipboard and "/proc/<pid>/root" in app.clipboard
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, StrategyPicker), "the picker")
        picker = app.screen
        assert isinstance(picker, StrategyPicker)
        options = {s.name: s.available for s in picker.plan.strategies}
        assert options == {"docker-debug": False, "image-mount": True, "toolbox": True,
                           "exec": False, "snapshot": True}
        await pilot.press("down", "enter")  # from image-mount (best) to toolbox
        await wait_for(pilot, lambda: len(calls) == 1, "the session runner")
        assert calls[0].chosen.name == "toolbox"  # type: ignore[attr-defined]
        assert calls[0].chosen.view == "inside"  # type: ignore[attr-defined]
        # Last in the picker: the sidecar strategies beside the target.
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, StrategyPicker), "the picker")
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: len(calls) == 2, "the session runner again")
        assert calls[1].chosen.name == "toolbox"  # type: ignore[attr-defined]
        assert calls[1].chosen.view == "beside"  # type: ignore[attr-defined]
        assert "[dhitui beside]" in calls[1].command_line  # type: ignore[attr-defined]


async def test_a_crashed_container_says_why_and_enter_opens_a_snapshot(
    engine: EngineUnderTest, containers: Callable[..., str]
) -> None:
    tag = uuid.uuid4().hex[:6]
    cid = containers(engine, HARDENED_IMAGE, name=f"dhitui-test-crash-{tag}",
                     command=["--crash", "/tmp/FILE", "x", "3"])
    calls: list[object] = []
    app = recording_app(engine, calls)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", "slash", *tag, "enter")
        await wait_for(pilot, lambda: ids(app.table) == [cid], "the row")
        await wait_for(pilot, lambda: "Why it stopped" in panel_text(app, "container"),
                       "the reason in the panel")
        text = panel_text(app, "container")
        assert "exited with 3" in text and "the app's own exit code" in text
        assert "│ fixture-app: fatal: config missing, exiting with 3" in text
        assert "enter → snapshot" in text
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(calls) == 1, "the session runner")
        plan = calls[0]
        assert plan.chosen.name == "snapshot"  # type: ignore[attr-defined]
        assert plan.chosen.snapshot.container == cid  # type: ignore[attr-defined]


async def test_a_crash_loop_is_marked_in_the_running_only_view(
    engine28: EngineUnderTest, containers: Callable[..., str]
) -> None:
    tag = uuid.uuid4().hex[:6]
    cid = containers(engine28, HARDENED_IMAGE, "--restart", "always",
                     name=f"dhitui-test-loop-{tag}", command=["--crash", "/tmp/FILE", "x", "4"])
    app = make_app(engine28)
    async with app.run_test(size=SIZE) as pilot:
        assert not app.show_all
        await pilot.press("slash", *tag, "enter")
        # Up for moments between restarts: it stays listed, marked while it restarts.
        await wait_for(pilot, lambda: cid in ids(app.table)
                       and app.table.get_cell(key(cid), "state").plain == "⟳ crash-loop",
                       "the crash loop marked")


async def test_orphan_sidecars_are_offered_for_removal_at_start(
    engine28: EngineUnderTest, containers: Callable[..., str]
) -> None:
    from dhitui.ui.screens.orphans import OrphansScreen

    orphan = containers(engine28, HARDENED_IMAGE, "--label", "dhitui.sidecar=1",
                        "--label", f"dhitui.target={'f' * 64}")  # a target that never existed
    app = make_app(engine28)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, OrphansScreen), "the offer")
        assert any(s.id == orphan for s in app.screen.sidecars)  # type: ignore[attr-defined]
        await pilot.press("y")
        await wait_for(pilot, lambda: docker(engine28, "ps", "-aq", "--no-trunc", "--filter",
                                             f"id={orphan}").stdout.strip() == "",
                       "the orphan removed")


async def test_podman_service_restart_keeps_the_list_and_catches_up(
        podman_engine: EngineUnderTest, containers: Callable[..., str]) -> None:
    """Podman's API service stops under the running app while its containers keep running
    (conmon holds them); meanwhile the podman CLI (daemonless, no service needed) removes one
    container and starts another. The list stays while the service is away, the panel says
    so, and once the service is back the list is current and the panel says what changed."""
    import subprocess

    from conftest import REPO

    script = str(REPO / "scripts" / "test-engines")
    kept = containers(podman_engine, HARDENED_IMAGE)
    gone = containers(podman_engine, STANDARD_IMAGE)
    new_name = f"dhitui-test-{uuid.uuid4().hex[:10]}"
    app = make_app(podman_engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: verdict_of(app, kept) == "● hardened"
                       and verdict_of(app, gone) is not None, "the rows")
        rows = app.table.row_count
        try:
            subprocess.run([script, "service", "stop", "--only", "podman"], check=True,
                           timeout=120, capture_output=True)
            await wait_for(pilot, lambda: link(app).state == "unreachable", "engine lost")
            engine_panel = panel_text(app, "engine")
            assert "unreachable" in engine_panel and "lost at" in engine_panel
            # The list stays as it was.
            assert app.table.row_count == rows and verdict_of(app, kept) == "● hardened"
            podman = [script, "podman"]
            subprocess.run([*podman, "rm", "-f", gone], check=True, timeout=120,
                           capture_output=True)
            made = subprocess.run([*podman, "run", "-d", "--network", "none", "--label",
                                   "dhitui.test=1", "--name", new_name, HARDENED_IMAGE],
                                  check=True, timeout=120, capture_output=True, text=True)
            new = made.stdout.strip().splitlines()[-1]
        finally:
            subprocess.run([script, "service", "start", "--only", "podman"], check=True,
                           timeout=300, capture_output=True)
        try:
            await wait_for(pilot, lambda: link(app).connected, "reconnected", 60)
            await wait_for(pilot, lambda: verdict_of(app, new) == "● hardened"
                           and key(gone) not in app.table.rows, "the list current", 60)
            # The container that outlived the service is still there, still running.
            assert app.table.get_cell(key(kept), "state").plain == "running"
            # The capabilities are probed again after the reconnect, in their own worker:
            # the panel names the engine once that answer is in, not necessarily before the
            # list is current.
            await wait_for(pilot, lambda: "Podman" in panel_text(app, "engine"),
                           "the engine named again", 30)
            engine_panel = " ".join(panel_text(app, "engine").split())  # unwrapped
            assert "back at" in engine_panel and "1 gone, 1 new" in engine_panel
        finally:
            docker(podman_engine, "rm", "-f", new_name, check=False)
