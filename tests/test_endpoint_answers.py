"""Endpoints where something other than an engine answers, or nothing does: what dhitui says
is what happened there, with no engine needed (a socket served by the test itself)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import run_dhitui, run_json

WEB_PAGE = b"<html><h1>Welcome to nginx!</h1></html>"


def _serve(path: Path, answer: bytes | None) -> Iterator[str]:
    """A unix socket that answers every request with `answer`, or (None) closes every
    connection at once."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                if answer is not None:
                    conn.recv(65536)
                    conn.sendall(answer)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield f"unix://{path}"
    done.set()
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[str]:
    yield from _serve(tmp_path / "web.sock", b"HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\n"
                      b"Content-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(WEB_PAGE)
                      + WEB_PAGE)


@pytest.fixture
def hang_up(tmp_path: Path) -> Iterator[str]:
    yield from _serve(tmp_path / "hangs-up.sock", None)


def test_something_that_is_not_an_engine_is_named_with_what_it_said(web_server: str) -> None:
    proc = run_dhitui("ls", "-H", web_server)
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    assert "answers, but not as a Docker Engine API (GET /version: HTTP 404 Not Found from " \
           "nginx/1.22.1: <html><h1>Welcome to nginx!</h1></html>)" in proc.stderr
    code, report = run_json("doctor", "--json", "-H", web_server)
    assert code == 1 and isinstance(report, dict)
    daemon = next(c for c in report["checks"] if c["id"] == "host.daemon")
    assert daemon["data"]["kind"] == "not-an-engine"
    assert "is not a Docker Engine API" in daemon["fix"] and "start the engine" not in daemon["fix"]


def test_a_socket_that_hangs_up_is_said_to(hang_up: str) -> None:
    proc = run_dhitui("ls", "-H", hang_up)
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    assert "accepts connections there and closes them without an answer" in proc.stderr
    code, report = run_json("doctor", "--json", "-H", hang_up)
    assert code == 1 and isinstance(report, dict)
    daemon = next(c for c in report["checks"] if c["id"] == "host.daemon")
    assert daemon["data"]["kind"] == "dropped"
    assert "closes connections without answering" in daemon["fix"]


def test_ssh_without_paramiko_says_what_is_missing_and_the_ways_forward() -> None:
    import importlib.util

    from conftest import skip_or_fail

    if importlib.util.find_spec("paramiko") is not None:
        skip_or_fail("paramiko is installed here: the missing-paramiko path cannot be seen")
    proc = run_dhitui("ls", "-H", "ssh://someone@192.0.2.1")
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "ssh:// engines need the Python package paramiko" in proc.stderr
    assert "pip install paramiko" in proc.stderr and "ssh -nNT -L" in proc.stderr
    assert "Install paramiko package" not in proc.stderr  # not docker-py's own words
