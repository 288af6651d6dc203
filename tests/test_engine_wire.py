"""dhitui's own connections (`dhitui.engine.wire`) on every transport the client supports:
a session's bytes over `tcp://`, over TLS with a verified certificate, and `ssh://`'s
`docker system dial-stdio` argv. The test engines listen on unix sockets; a forwarder
(TCP, or TLS it terminates) in front of Engine 28 gives the other transports a real engine."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conftest import TOOLBOX_IMAGE, EngineUnderTest

if TYPE_CHECKING:
    from dhitui.engine.endpoint import TLSFiles

pytestmark = pytest.mark.engine


def _forward(front: socket.socket, unix_path: str) -> None:
    """Move bytes both ways until both sides ended (one thread: an SSL socket must not be
    read and written from two)."""
    back = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    back.connect(unix_path)
    open_ends = {front: back, back: front}
    try:
        while open_ends:
            pending = isinstance(front, ssl.SSLSocket) and front in open_ends and front.pending()
            ready = [front] if pending else select.select(list(open_ends), [], [], 30)[0]
            if not ready:
                return
            for sock in ready:
                try:
                    data = sock.recv(65536)
                except (ssl.SSLError, OSError):
                    data = b""
                other = open_ends[sock]
                if data:
                    other.sendall(data)
                    continue
                del open_ends[sock]
                with contextlib.suppress(OSError):
                    other.shutdown(socket.SHUT_WR)
    finally:
        back.close()
        front.close()


@contextlib.contextmanager
def tcp_front(unix_path: str, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.settimeout(None)
            try:
                front = tls.wrap_socket(conn, server_side=True) if tls else conn
            except (OSError, ssl.SSLError):
                conn.close()
                continue
            threading.Thread(target=_forward, args=(front, unix_path), daemon=True).start()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        t.join(timeout=5)
        listener.close()


def _session(host: str, cid: str, tmp_path: Path,
             tls: TLSFiles | None = None) -> tuple[int, bytes]:
    """`sh -c 'cat; echo done >&2; exit 3'` with b"hello" on stdin, over the API."""
    from dhitui.engine.attach import Streams, run_exec
    from dhitui.engine.client import connect
    from dhitui.engine.endpoint import Endpoint
    from dhitui.engine.specs import ExecSpec

    engine = connect(Endpoint(host, "flag", "--host", tls=tls))
    try:
        stdin = tmp_path / "stdin"
        stdin.write_bytes(b"hello")
        out = tmp_path / "out"
        with open(stdin, "rb") as i, open(out, "wb") as o:
            status = run_exec(engine, ExecSpec(cid, ("sh", "-c", "cat; echo done; exit 3"),
                                               tty=False),
                              streams=Streams(stdin=i.fileno(), stdout=o.fileno(),
                                              stderr=o.fileno()))
        return status, out.read_bytes()
    finally:
        engine.close()


def test_a_session_over_tcp(engine28: EngineUnderTest, containers: Callable[..., str],
                            tmp_path: Path) -> None:
    cid = containers(engine28, TOOLBOX_IMAGE, command=["sleep", "300"])
    with tcp_front(engine28.host[len("unix://"):]) as port:
        assert _session(f"tcp://127.0.0.1:{port}", cid, tmp_path) == (3, b"hellodone\n")


def test_a_session_over_verified_tls(engine28: EngineUnderTest, containers: Callable[..., str],
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dhitui.engine.endpoint import TLSFiles

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60,
                       cwd=tmp_path)

    # requests would let these replace the endpoint's CA file (psf/requests#3829): set to a
    # CA that did not sign the server's certificate, they must not matter.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
            "/CN=an unrelated CA", "-keyout", "unrelated-key.pem", "-out", "unrelated.pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "unrelated.pem"))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path / "unrelated.pem"))

    # A CA, and the server's certificate it signs (for 127.0.0.1).
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
            "/CN=dhitui test CA", "-keyout", "ca-key.pem", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
            "key.pem", "-out", "server.csr")
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
            "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "cert.pem")
    key, crt, ca = tmp_path / "key.pem", tmp_path / "cert.pem", tmp_path / "ca.pem"
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(crt, key)
    cid = containers(engine28, TOOLBOX_IMAGE, command=["sleep", "300"])
    with tcp_front(engine28.host[len("unix://"):], server) as port:
        files = TLSFiles(str(ca), None, None, verify=True)
        assert _session(f"tcp://127.0.0.1:{port}", cid, tmp_path, files) == (3, b"hellodone\n")
        # And a certificate the CA file did not sign is refused, on dhitui's own connection.
        other_key, other = tmp_path / "other-key.pem", tmp_path / "other.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=other", "-keyout", str(other_key), "-out",
                        str(other)], check=True, capture_output=True, timeout=60)
        from dhitui.engine import wire
        from dhitui.engine.endpoint import Endpoint

        with pytest.raises(ssl.SSLCertVerificationError):
            wire.open_connection(Endpoint(f"tcp://127.0.0.1:{port}", "flag", "--host",
                                          tls=TLSFiles(str(other), None, None, verify=True)),
                                 timeout=10)


FAKE_SSH = """#!{python}
import os, socket, sys, threading
with open({log!r}, "w") as f:
    f.write("\\0".join(sys.argv[1:]))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect({sock!r})
def up():
    while data := os.read(0, 65536):
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := s.recv(65536):
    os.write(1, data)
"""


def test_ssh_runs_dial_stdio_and_speaks_http_through_it(engine28: EngineUnderTest,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The argv docker-py's ssh transport runs, on a socket pair: a real engine answers
    through a stand-in `ssh` that forwards its stdin and stdout to the engine's socket."""
    from dhitui.engine import wire
    from dhitui.engine.endpoint import Endpoint

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "argv"
    ssh = bin_dir / "ssh"
    ssh.write_text(FAKE_SSH.format(python=sys.executable, log=str(log),
                                   sock=engine28.host[len("unix://"):]))
    ssh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    conn = wire.open_connection(Endpoint("ssh://someone@engine.example:2222", "flag", "--host"),
                                timeout=10)
    try:
        wire.send_request(conn, "GET", "/_ping", host="localhost", headers={})
        answer = wire.read_head(conn)
        assert (answer.status, wire.read_body(conn, answer)) == (200, b"OK")
    finally:
        conn.close()
    assert log.read_text().split("\0") == ["-l", "someone", "-p", "2222", "--",
                                           "engine.example", "docker system dial-stdio"]
    assert conn.proc is not None and conn.proc.poll() is not None  # ended with the connection
