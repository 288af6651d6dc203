"""How a failure to reach or use the engine is told: a `kind` from errno and exception
types (never from message text), a sentence naming the engine and where it was looked for,
and the engine's own error answers in dhitui's terms (`api_error`).

Shared by the docker-py client (`client`), dhitui's own connections (`wire`) and the open
streams (`streams`), so every way of talking to the engine fails in the same words.
"""

from __future__ import annotations

import errno
import http.client
import os
import ssl
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dhitui.engine.endpoint import Endpoint, podman_socket
from dhitui.errors import Ambiguous, DhituiError, EngineUnavailable, NotFound

# Failure kinds (stable identifiers; diagnostics and JSON output use them).
PERMISSION = "permission-denied"
MISSING = "missing"
NOT_A_SOCKET = "not-a-socket"
REFUSED = "refused"
TLS = "tls"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
API_ERROR = "api-error"
NOT_AN_ENGINE = "not-an-engine"  # something answers, but not the Engine API
DROPPED = "dropped"  # something accepts connections and closes them without an answer


# What Docker Engine (400; "Multiple IDs" on 20.10) and Podman (404) answer for an id
# prefix shared by containers, lowercased.
AMBIGUOUS = ("multiple ids found with provided prefix", "more than one result for")


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes/contexts, and exceptions carried in their args
    (urllib3 wraps the OSError it saw inside its own errors' args)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None)):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
        todo.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))


def classify_error(exc: BaseException) -> str:
    """Classify a connection failure by errno and exception type, never by message text."""
    chain = list(_exception_chain(exc))
    for e in chain:
        if isinstance(e, ssl.SSLError):
            return TLS
        if isinstance(e, PermissionError) or getattr(e, "errno", None) in (
            errno.EACCES,
            errno.EPERM,
        ):
            return PERMISSION
        if isinstance(e, FileNotFoundError) or getattr(e, "errno", None) == errno.ENOENT:
            return MISSING
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED:
            return REFUSED
        if isinstance(e, TimeoutError) or getattr(e, "errno", None) == errno.ETIMEDOUT:
            return TIMEOUT
        if isinstance(e, ConnectionResetError | BrokenPipeError) or getattr(
                e, "errno", None) in (errno.ECONNRESET, errno.EPIPE):
            return DROPPED  # http.client's RemoteDisconnected is a ConnectionResetError
        if isinstance(e, http.client.BadStatusLine):
            return NOT_AN_ENGINE  # an answer that is not HTTP at all
    names = {type(e).__name__ for e in chain}
    if names & {"ReadTimeout", "ConnectTimeout", "ReadTimeoutError", "ConnectTimeoutError"}:
        return TIMEOUT
    if names & {"SSLError"}:
        return TLS
    if names & {"APIError"}:
        return API_ERROR
    return UNREACHABLE


def precheck_socket(path: str) -> EngineUnavailable | None:
    """What is wrong with a unix socket path before we try it, if anything."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return EngineUnavailable(f"no socket at {path}", kind=MISSING)
    except PermissionError:
        return EngineUnavailable(
            f"permission denied looking up {path} (a parent directory is not searchable)",
            kind=PERMISSION,
        )
    except OSError as exc:
        return EngineUnavailable(f"cannot stat {path}: {exc.strerror}", kind=UNREACHABLE)
    if not stat.S_ISSOCK(st.st_mode):
        what = "a directory" if stat.S_ISDIR(st.st_mode) else "a regular file"
        if not stat.S_ISDIR(st.st_mode) and not stat.S_ISREG(st.st_mode):
            what = "not a socket"
        return EngineUnavailable(f"{path} is {what}, not a socket", kind=NOT_A_SOCKET)
    return None


_KIND_TEXT = {
    PERMISSION: "permission denied",
    MISSING: "no socket",
    NOT_A_SOCKET: "not a socket",
    REFUSED: "connection refused (nothing is listening; is the daemon running?)",
    TLS: "TLS handshake failed",
    TIMEOUT: "timed out",
    UNREACHABLE: "cannot connect",
    API_ERROR: "the engine answered with an error",
    NOT_AN_ENGINE: "something answers there, but it is not a Docker Engine API",
    DROPPED: "something accepts connections there and closes them without an answer",
}


def expected_engine(endpoint: Endpoint) -> str:
    """What answers there, as far as can be told without an answer: Podman for its sockets
    and settings, else the Docker Engine."""
    if endpoint.source in ("podman-env", "podman-connection") or (
            endpoint.socket_path and podman_socket(endpoint.socket_path)):
        return "Podman"
    return "the Docker Engine"


def unavailable(endpoint: Endpoint, exc: BaseException) -> EngineUnavailable:
    kind = classify_error(exc)
    where = endpoint.socket_path or endpoint.url
    said = _KIND_TEXT[kind]
    problem = tls_problem(endpoint, exc) if kind == TLS else None
    if problem is not None:
        said = f"{said}: {problem.says}"
    return EngineUnavailable(
        f"cannot reach {expected_engine(endpoint)} at {where}: {said}",
        kind=kind,
        hint=problem.fix if problem else "run `dhitui doctor` for the cause and the safest fix",
        tls=problem,
    )


@dataclass(frozen=True)
class TLSProblem:
    """Which side of a TLS handshake failed, in words, and what to change."""

    what: str  # untrusted-server | wrong-name | client-refused | not-tls | plain-to-tls
    says: str
    fix: str


_CLIENT_REFUSED = ("TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE",
                   "TLSV13_ALERT_CERTIFICATE_REQUIRED", "TLSV1_ALERT_ACCESS_DENIED",
                   "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "TLSV1_ALERT_DECRYPT_ERROR")


def tls_problem(endpoint: Endpoint, exc: BaseException) -> TLSProblem | None:
    """The handshake's failure by OpenSSL's own codes (verify codes, alert reasons), never
    by message text: the engine's certificate not signed by the CA file, not for the
    address, the engine refusing dhitui's client certificate, or no TLS at the other end."""
    files = endpoint.tls
    ca = files.ca_cert if files and files.ca_cert else None
    ca_words = f"the CA in {ca}" if ca else "a CA this machine trusts"
    cert = files.client_cert if files else None
    for e in _exception_chain(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            msg = str(e.verify_message or "")
            if e.verify_code in _X509_NAME_MISMATCH:
                return TLSProblem(
                    "wrong-name", f"the engine's certificate is not for this address ({msg})",
                    f"use the name or address the engine's certificate was made for, or make "
                    f"it a certificate whose subjectAltName holds {endpoint.url}")
            return TLSProblem(
                "untrusted-server",
                f"the engine's certificate is not signed by {ca_words} ({msg})",
                "point DOCKER_CERT_PATH (or the context's TLS files) at the ca.pem that "
                "signed this engine's certificate; `openssl s_client -connect HOST:PORT` "
                "shows who signed it")
        if isinstance(e, ssl.SSLError):
            reason = str(getattr(e, "reason", "") or "")
            if reason in _CLIENT_REFUSED:
                which = f"the client certificate {cert}" if cert else "no client certificate"
                return TLSProblem(
                    "client-refused",
                    f"the engine refused the client certificate ({reason}): it accepts only "
                    f"those its own CA signed, and dhitui sent {which}",
                    "use the cert.pem and key.pem made with the engine's CA (DOCKER_CERT_PATH "
                    "or the context's TLS files); `docker --tlsverify version` fails the "
                    "same way with them")
            if reason == "WRONG_VERSION_NUMBER":
                return TLSProblem(
                    "not-tls", f"{endpoint.url} does not speak TLS (it answered in plain "
                    "text)", "unset DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for this engine "
                    "(or use its TLS port, 2376 by convention)")
    return None


# X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH (OpenSSL's verify codes).
_X509_NAME_MISMATCH = (62, 64)
PLAIN_TO_TLS = TLSProblem(
    "plain-to-tls", "the engine there speaks TLS, and dhitui was not asked to use it",
    "set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the directory holding its ca.pem, "
    "cert.pem and key.pem, or use a context made with `docker context create NAME --docker "
    "host=tcp://HOST:PORT,ca=ca.pem,cert=cert.pem,key=key.pem`")
# What a Go TLS server (dockerd) answers a plain HTTP request with: a fixed 400.
_GO_TLS_ANSWER = "client sent an http request to an https server"


class EngineError(DhituiError):
    """The engine answered, but with an error (other than "not found")."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def api_error(what: str, ref: Any, status: int | None, text: str) -> DhituiError:
    """An engine's error answer in dhitui's terms: Ambiguous for an id prefix that more
    than one object's id starts with, NotFound (keeping the engine's words) for 404, else
    EngineError."""
    if any(words in text.lower() for words in AMBIGUOUS):
        return Ambiguous(f"{ref} names more than one {what}")
    if status == 404:
        missing = NotFound(f"no such {what}: {ref}")
        missing.engine_text = text  # what the engine said (another thing it lacks)
        return missing
    return EngineError(f"{what}: {text}", status=status)


def not_an_engine(endpoint: Endpoint, answer: Any) -> EngineUnavailable:
    """What answered instead of an Engine API, in its own words (a web server, a proxy)."""
    from dhitui.textsafe import one_line

    where = endpoint.socket_path or endpoint.url
    if answer.status_code == 400 and _GO_TLS_ANSWER in (answer.text or "").lower():
        return EngineUnavailable(
            f"cannot reach {expected_engine(endpoint)} at {where}: {PLAIN_TO_TLS.says}",
            kind=TLS, hint=PLAIN_TO_TLS.fix, tls=PLAIN_TO_TLS)
    server = answer.headers.get("Server")
    body = one_line(answer.text[:120]) if answer.text else ""
    said = (f"HTTP {answer.status_code} {answer.reason or ''}".rstrip()
            + (f" from {one_line(server)}" if server else "")
            + (f": {body}" if body else ""))
    return EngineUnavailable(
        f"{where} answers, but not as a Docker Engine API (GET /version: {said})",
        kind=NOT_AN_ENGINE,
        hint="point dhitui at the engine's own socket or address (-H, DOCKER_HOST, "
             "--context); `dhitui doctor` lists the engines that answer on this machine",
    )
