"""HTTP/1.1 over a connection dhitui opens itself, for the two things docker-py cannot do
through its public API:

- a hijacked stream (`POST /containers/{id}/attach`, `POST /exec/{id}/start` with
  `Connection: Upgrade`): docker-py's `attach_socket` and `exec_start(socket=True)` give a
  read-only file object on a unix socket and drop the bytes its HTTP reader already holds
  behind the `101 UPGRADED` headers (an engine often sends the first output in the same
  packet); reaching the writable socket and that buffer means private attributes of
  urllib3 and http.client;
- a long-poll another thread must be able to cut (`POST /containers/{id}/wait`): closing
  a requests response from another thread blocks on the reader's lock.

Here the request is written on a plain socket (`unix://`, `tcp://`, TLS from the
endpoint's files, `ssh://` through `ssh ... docker system dial-stdio` as docker-py runs
it), the status line and headers are read up to their blank line and no further, and the
caller gets the socket and whatever bytes came with the headers. Nothing here imports
docker-py or requests.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import subprocess
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dhitui.engine.endpoint import Endpoint

MAX_HEAD = 64 * 1024  # bytes of status line and headers read before giving up
CHUNK = 64 * 1024


@dataclass
class Answer:
    """An answer's status line and headers (names lowercased), and the bytes read past
    them."""

    status: int
    reason: str
    headers: dict[str, str]
    leftover: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status == 101 or 200 <= self.status < 300


@dataclass
class Connection:
    """A socket to the engine, and the `ssh` process behind it for `ssh://` endpoints."""

    sock: socket.socket
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def shutdown(self) -> None:
        """Cut the connection under any thread blocked reading it."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.shutdown()
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2.0)


def tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    """The client TLS context the endpoint's files describe, as docker-py's `TLSConfig`
    reads them: verify against the CA file (or the system's CAs) when verifying, else
    accept any certificate; present the client certificate when both halves are given."""
    t = endpoint.tls
    assert t is not None
    ctx = ssl.create_default_context(cafile=t.ca_cert if t.verify and t.ca_cert else None)
    if not t.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if t.client_cert and t.client_key:
        ctx.load_cert_chain(t.client_cert, t.client_key)
    return ctx


def host_header(endpoint: Endpoint) -> str:
    if endpoint.scheme == "tcp":
        return urllib.parse.urlsplit(endpoint.url).netloc
    return "localhost"


def open_connection(endpoint: Endpoint, timeout: float | None) -> Connection:
    """A new connection to the engine (blocking, with `timeout`). Raises OSError (and
    ssl.SSLError) as the socket calls do."""
    if endpoint.socket_path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(endpoint.socket_path)
        except BaseException:
            sock.close()
            raise
        return Connection(sock)
    parts = urllib.parse.urlsplit(endpoint.url)
    if endpoint.scheme == "ssh":
        return _ssh_connection(parts, timeout)
    if endpoint.scheme != "tcp" or not parts.hostname:
        raise OSError(f"cannot open {endpoint.url}")
    port = parts.port or (2376 if endpoint.tls is not None else 2375)
    sock = socket.create_connection((parts.hostname, port), timeout=timeout)
    if endpoint.tls is None:
        return Connection(sock)
    try:
        return Connection(tls_context(endpoint).wrap_socket(sock,
                                                            server_hostname=parts.hostname))
    except BaseException:
        sock.close()
        raise


def _ssh_connection(parts: urllib.parse.SplitResult, timeout: float | None) -> Connection:
    """`ssh [-l user] [-p port] -- host docker system dial-stdio` (docker-py's argv) on one
    end of a socket pair: the other end is a real socket, select()able and half-closable."""
    ours, theirs = socket.socketpair()
    argv = ["ssh"]
    if parts.username:
        argv += ["-l", parts.username]
    if parts.port:
        argv += ["-p", str(parts.port)]
    argv += ["--", parts.hostname or "", "docker system dial-stdio"]
    try:
        proc = subprocess.Popen(argv, stdin=theirs.fileno(), stdout=theirs.fileno(),
                                start_new_session=True)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    ours.settimeout(timeout)
    return Connection(ours, proc)


def send_request(conn: Connection, method: str, target: str, *, host: str,
                 headers: Mapping[str, str], body: bytes = b"") -> None:
    """Write one request; `target` is the path and query."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    conn.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def read_head(conn: Connection) -> Answer:
    """Read the status line and headers, and not a byte more than the socket gave with
    them (those bytes are the answer's `leftover`). Raises http.client.RemoteDisconnected
    when the engine closes the connection first, http.client.BadStatusLine when what comes
    back is not HTTP."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = conn.sock.recv(CHUNK)
        if not data:
            if not buf:
                raise http.client.RemoteDisconnected("closed without an answer")
            raise http.client.BadStatusLine(buf[:80].decode("latin-1"))
        buf += data
        if len(buf) > MAX_HEAD and b"\r\n\r\n" not in buf:
            raise http.client.BadStatusLine(buf[:80].decode("latin-1"))
    head, leftover = buf.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/") or not code.isdigit():
        raise http.client.BadStatusLine(status_line[:80])
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(code), reason, headers, leftover)


def read_body(conn: Connection, answer: Answer, limit: int = 1 << 20) -> bytes:
    """The answer's body (Content-Length, chunked, or up to the connection's end), taking
    `answer.leftover` first; at most `limit` bytes."""
    reader = _Reader(conn.sock, answer.leftover)
    answer.leftover = b""
    if answer.headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while len(body) < limit:
            size = int(reader.line().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                break
            body += reader.exact(size)
            reader.line()
        return body
    length = answer.headers.get("content-length")
    if length is not None and length.isdigit():
        return reader.exact(min(int(length), limit))
    return reader.rest(limit)


def error_text(body: bytes) -> str:
    """The engine's message in an error answer (`{"message": ...}`), else the body."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body.decode(errors="replace").strip()
    if isinstance(data, dict) and "message" in data:
        return str(data["message"])
    return body.decode(errors="replace").strip()


class _Reader:
    def __init__(self, sock: socket.socket, buffered: bytes) -> None:
        self.sock = sock
        self.buf = buffered

    def _more(self) -> None:
        data = self.sock.recv(CHUNK)
        if not data:
            raise http.client.IncompleteRead(self.buf)
        self.buf += data

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self, limit: int) -> bytes:
        with contextlib.suppress(http.client.IncompleteRead):
            while len(self.buf) < limit:
                self._more()
        return self.buf[:limit]
