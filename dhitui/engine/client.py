"""A connection to one Docker Engine: the only module that imports docker-py.

`connect()` turns an `Endpoint` into an `Engine`: it checks a unix socket before touching it
(so "missing", "not a socket" and "permission denied" are told apart without guessing from
message text), asks `/version` once and negotiates the API version from that answer, and
classifies any failure by errno into an `EngineUnavailable` with a `kind`.

Everything else in dhitui talks to the engine through `Engine`'s small, typed surface.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import os
import re
import ssl
import stat
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dhitui.engine.endpoint import Endpoint, podman_socket
from dhitui.engine.identity import EngineIdentity, identify
from dhitui.errors import Ambiguous, ConfigError, DhituiError, EngineUnavailable, NotFound

if TYPE_CHECKING:
    import docker

    from dhitui.engine.wire import Answer, Connection

# The newest Engine API this code knows. Requests use min(this, the server's version).
MAX_API_VERSION = "1.51"
DEFAULT_TIMEOUT = 15.0
# Go's os.FileMode type bits, as the path stat header (`stat_path`) carries them.
GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27

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


def api_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


def min_api(a: str, b: str) -> str:
    return a if api_tuple(a) <= api_tuple(b) else b


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


def _expected_engine(endpoint: Endpoint) -> str:
    """What answers there, as far as can be told without an answer: Podman for its sockets
    and settings, else the Docker Engine."""
    if endpoint.source in ("podman-env", "podman-connection") or (
            endpoint.socket_path and podman_socket(endpoint.socket_path)):
        return "Podman"
    return "the Docker Engine"


def unavailable(endpoint: Endpoint, exc: BaseException) -> EngineUnavailable:
    kind = classify_error(exc)
    where = endpoint.socket_path or endpoint.url
    return EngineUnavailable(
        f"cannot reach {_expected_engine(endpoint)} at {where}: {_KIND_TEXT[kind]}",
        kind=kind,
        hint="run `dhitui doctor` for the cause and the safest fix",
    )


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


def raise_for_status(response: Any) -> None:
    """Raise docker-py's error for an error answer (requests' `HTTPError` turned into
    `docker.errors.APIError`, `NotFound`..., through docker-py's public converter)."""
    import docker.errors
    import requests

    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as exc:
        docker.errors.create_api_error_from_http_exception(exc)  # raises


class Engine:
    """One connected engine. Thread-safe for concurrent reads (one HTTP pool per client)."""

    def __init__(self, endpoint: Endpoint, api: docker.APIClient, version: dict[str, Any]):
        self.endpoint = endpoint
        self.api = api
        self.version_info = version
        self._info: dict[str, Any] | None = None
        self.identity: EngineIdentity = identify(version)
        self.clock_offset_ns = 0  # the engine's clock minus ours, to the second (connect())

    # ---- identity
    @property
    def server_api_version(self) -> str:
        return str(self.version_info.get("ApiVersion", "0"))

    @property
    def api_version(self) -> str:
        """The API version requests use (negotiated)."""
        return str(self.api.api_version)

    @property
    def engine_version(self) -> str:
        return str(self.version_info.get("Version", "unknown"))

    @property
    def supports_image_mounts(self) -> bool:
        return self.identity.image_mounts

    def info(self) -> dict[str, Any]:
        if self._info is None:
            self._info = dict(self.api.info())
        return self._info

    def ping(self) -> float:
        """Round trip to `/_ping` in seconds; raises EngineUnavailable."""
        start = time.perf_counter()
        try:
            self.api.ping()
        except Exception as exc:
            raise unavailable(self.endpoint, exc) from None
        return time.perf_counter() - start

    # ---- reads used across dhitui
    # Each raises dhitui.errors.NotFound for a missing object and EngineUnavailable when the
    # engine stops answering; other engine errors surface as EngineError.

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` (a docker-py request), its failures in dhitui's terms;
        `args[0]`, if any, names the object in the messages."""
        import docker.errors
        import requests

        try:
            return fn(*args, **kwargs)
        except docker.errors.APIError as exc:
            raise api_error(what, args[0] if args else "", exc.status_code,
                            str(exc.explanation or exc)) from None
        except (requests.exceptions.RequestException, OSError) as exc:
            raise unavailable(self.endpoint, exc) from None

    def path(self, pathfmt: str, *args: str, versioned: bool = True) -> str:
        """An Engine API path: `pathfmt`'s `{0}`, `{1}`... filled with the quoted `args`,
        under the negotiated version unless `versioned` is false."""
        from urllib.parse import quote

        path = pathfmt.format(*(quote(arg, safe="/:") for arg in args))
        return f"/v{self.api_version}{path}" if versioned else path

    def url(self, pathfmt: str, *args: str, versioned: bool = True) -> str:
        """`path()` as a URL of docker-py's client (its public `base_url`)."""
        return f"{self.api.base_url}{self.path(pathfmt, *args, versioned=versioned)}"

    def post_json(self, what: str, pathfmt: str, ref: str, body: dict[str, Any], *,
                  params: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST `body` as JSON to `pathfmt` (its `{0}` is `ref`) and decode the answer;
        failures as `call` raises them. Keys whose value is None are left out, as
        docker-py leaves them out."""
        import json

        def send(ref: str) -> Any:
            res = self.api.post(
                self.url(pathfmt, ref), params=params, timeout=self.api.timeout,
                data=json.dumps({k: v for k, v in body.items() if v is not None}),
                headers={"Content-Type": "application/json"})
            raise_for_status(res)
            return res.json()

        return dict(self.call(what, send, ref))

    # ---- connections of dhitui's own (dhitui.engine.wire): hijacked streams, long polls

    def open_request(self, what: str, pathfmt: str, ref: str, *,
                     params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
                     upgrade: bool = False, wait: bool = False) -> tuple[Connection, Answer]:
        """POST on a new connection of dhitui's own and read the answer's head: the
        connection and the head (with any bytes that came with it), for the caller to
        read on (a hijacked stream with `upgrade`, a long poll's body). With `wait`, no
        timeout (the engine may take its time). Failures as `call` raises them, naming
        `ref`."""
        import json
        from urllib.parse import urlencode

        from dhitui.engine import wire

        target = self.path(pathfmt, ref) + (f"?{urlencode(params)}" if params else "")
        headers = {k: str(v) for k, v in self.api.headers.items()}
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if upgrade:
            headers.update({"Connection": "Upgrade", "Upgrade": "tcp"})
        try:
            conn = wire.open_connection(self.endpoint, None if wait else self.api.timeout)
        except OSError as exc:
            raise unavailable(self.endpoint, exc) from None
        try:
            wire.send_request(conn, "POST", target, host=wire.host_header(self.endpoint),
                              headers=headers, body=data)
            answer = wire.read_head(conn)
            if not answer.ok:
                text = wire.error_text(wire.read_body(conn, answer, limit=64 * 1024))
                raise api_error(what, ref, answer.status, text)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise unavailable(self.endpoint, exc) from None
        except BaseException:
            conn.close()
            raise
        return conn, answer

    def image_exists(self, ref: str) -> bool:
        # A bare 64-hex id (often a container id the user gave): Podman 4.3's compatible API
        # refuses it as an image name (500, "cannot specify 64-byte hexadecimal strings")
        # instead of answering 404; as `sha256:<id>` every engine answers found or not found.
        if re.fullmatch(r"[0-9a-f]{64}", ref):
            ref = "sha256:" + ref
        try:
            self.inspect_image(ref)
        except NotFound:
            return False
        return True

    def list_containers(self, *, all: bool = False,
                        filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`GET /containers/json` as the engine returns it. Without `all`: the containers
        whose process runs, paused ones included, on every engine (Docker Engine's list has
        them; Podman's running-only list leaves paused ones out, so it is asked for both)."""
        if not all and not self.identity.joins_paused and "status" not in (filters or {}):
            filters = {**(filters or {}), "status": ["running", "paused"]}
            all = True
        return list(self.call("container list", self.api.containers, all=all, filters=filters))

    def inspect_container(self, ref: str) -> dict[str, Any]:
        """Raises NotFound for no such container, Ambiguous (a NotFound) for an id prefix
        that more than one container's id starts with, naming them."""
        try:
            return dict(self.call("container", self.api.inspect_container, ref))
        except Ambiguous:
            matches = [c for c in self.list_containers(all=True)
                       if str(c.get("Id", "")).startswith(ref)]
            candidates = tuple(
                f"{c['Id'][:12]} ({', '.join(n.lstrip('/') for n in c.get('Names') or [])})"
                for c in matches)
            raise Ambiguous(
                f"the id prefix {ref} matches {len(matches) or 'more than one'} containers"
                + (f": {', '.join(candidates[:8])}" + (" …" if len(candidates) > 8 else "")
                   if candidates else ""),
                candidates=candidates,
                hint="give more of the id, or the container's name (`dhitui ls --all`)",
            ) from None

    def network_exists(self, name: str) -> bool:
        """Whether the engine has a network of this name or id."""
        try:
            self.call("network", self.api.inspect_network, name)
        except NotFound:
            return False
        return True

    def inspect_image(self, ref: str) -> dict[str, Any]:
        return dict(self.call("image", self.api.inspect_image, ref))

    def stat_path(self, container: str, path: str) -> dict[str, Any] | None:
        """Stat a path inside a container without running anything in it:
        `HEAD /containers/{id}/archive?path=...`. Returns the decoded
        `X-Docker-Container-Path-Stat` ({name, size, mode, mtime, linkTarget}) or None when
        the path does not exist. Symlinks are not followed (see `linkTarget`). A missing
        container also answers 404: callers must know the container exists."""
        import base64
        import json

        url = self.url("/containers/{0}/archive", container)
        try:
            res = self.api.head(url, params={"path": path})
        except Exception as exc:
            raise unavailable(self.endpoint, exc) from None
        header = res.headers.get("X-Docker-Container-Path-Stat", "")
        podman = self.identity.is_podman
        if res.status_code == 404 and not (podman and header):
            return None
        if res.status_code not in (200, 404):
            raise EngineError(f"stat {path}: HTTP {res.status_code}", status=res.status_code)
        try:
            st = dict(json.loads(base64.b64decode(header)))
        except ValueError:
            raise EngineError(f"stat {path}: unreadable path stat header") from None
        return _podman_path_stat(path, st) if podman else st

    def _get_archive(self, container: str, path: str, chunk_size: int = 2 * 1024 * 1024
                     ) -> tuple[Iterator[bytes], dict[str, Any]] | None:
        """`GET /containers/{id}/archive`: (tar stream, path stat), or None for no such path."""
        import docker.errors

        try:
            stream, st = self.api.get_archive(container, path, chunk_size=chunk_size)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise EngineError(f"read {path}: {exc.explanation or exc}", status=exc.status_code
                              ) from None
        except Exception as exc:
            raise unavailable(self.endpoint, exc) from None
        return stream, dict(st)

    def read_file(self, container: str, path: str, limit: int = 1 << 20) -> bytes | None:
        """A small regular file from a container's filesystem (`GET .../archive`), or None
        if it does not exist. Files larger than `limit` are not read."""
        import io
        import tarfile

        got = self._get_archive(container, path)
        if got is None:
            return None
        stream, st = got
        if int(st.get("size", 0)) > limit:
            return None
        try:
            data = b"".join(stream)
        except Exception as exc:
            raise unavailable(self.endpoint, exc) from None
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
                for member in tar:
                    if member.isfile():
                        f = tar.extractfile(member)
                        return f.read(limit) if f else None
        except tarfile.TarError as exc:
            # Podman 4.3 answers 200 with an empty body for a container between restarts.
            raise EngineError(f"read {path}: the engine sent no readable archive ({exc})"
                              ) from None
        return None

    def _archive_head(self, container: str, path: str, limit: int) -> bytes | None:
        """At least the first `limit` bytes of the tar stream of `path` (less if it is
        shorter), without fetching the rest; None when the path does not exist."""
        got = self._get_archive(container, path, chunk_size=limit)
        if got is None:
            return None
        stream, _ = got
        buf = b""
        try:
            for chunk in stream:
                buf += chunk
                if len(buf) >= limit:
                    break
        except Exception as exc:
            raise unavailable(self.endpoint, exc) from None
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        return buf

    def read_link(self, container: str, path: str) -> str | None:
        """A symlink's own text (`busybox` for `bin/sh -> busybox`), from the tar header of
        `GET .../archive`; None when the path does not exist or is not a symlink. The path
        stat's `linkTarget` cannot tell this: the engine reports it fully resolved and
        absolute."""
        import io
        import tarfile

        # A link is one header, or a few with a long (PAX/GNU) name or target.
        buf = self._archive_head(container, path, 16 * 1024)
        if buf is None:
            return None
        try:
            with tarfile.open(fileobj=io.BytesIO(buf), mode="r:") as tar:
                member = tar.next()
        except tarfile.TarError:
            return None
        if member is None or not member.issym():
            return None
        return member.linkname

    def read_file_head(self, container: str, path: str, size: int = 4096) -> bytes | None:
        """The first `size` bytes of a regular file in a container (e.g. an ELF header), read
        from the start of the archive stream without fetching the rest; None if the path does
        not exist or is not a regular file."""
        import tarfile

        # One tar header (512 bytes) precedes the file's data.
        buf = self._archive_head(container, path, tarfile.BLOCKSIZE + size)
        if buf is None or len(buf) < tarfile.BLOCKSIZE:
            return None
        try:
            member = tarfile.TarInfo.frombuf(buf[: tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
        except tarfile.TarError:
            return None
        if not member.isfile():
            return None
        return buf[tarfile.BLOCKSIZE : tarfile.BLOCKSIZE + min(size, member.size)]

    # ---- writes (used by debug sessions for throwaway helper containers and cleanup)

    def create_container(
        self,
        image: str,
        *,
        entrypoint: list[str],
        labels: dict[str, str],
        name: str | None = None,
    ) -> str:
        """Create (never start) a container with no network and no log output, for looking at
        an image's files through the archive API. Returns its id."""
        host_config = self.api.create_host_config(
            network_mode="none", log_config={"Type": "none", "Config": {}}
        )
        created = self.call(
            "image", self.api.create_container, image, entrypoint=entrypoint, command=[],
            labels=labels, name=name, host_config=host_config, network_disabled=True,
        )
        return str(created["Id"])

    def remove_container(self, ref: str, *, force: bool = True, volumes: bool = True) -> bool:
        """Remove a container (with its anonymous volumes unless `volumes=False`: a container
        that borrowed another's volumes must not take them along). True when this call
        removed it; False when it did not exist or its removal was already under way (HTTP
        409 with force, e.g. the engine finishing a `--rm`)."""
        try:
            self.call("container", self.api.remove_container, ref, v=volumes, force=force)
        except NotFound:
            return False
        except EngineError as exc:
            # With force, the only conflict left is "removal already in progress".
            if exc.status == 409 and force:
                return False
            raise
        return True

    def commit(self, container: str, *, repository: str | None = None, tag: str | None = None,
               changes: list[str] | None = None, timeout: float | None = None) -> str:
        """`POST /commit` without pausing the container (a crash-looping one is left to its
        restart policy). Returns the image id. `timeout`: a large writable layer takes long
        to commit, longer than ordinary requests may."""
        params = {"container": container, "repo": repository, "tag": tag, "pause": False,
                  "changes": changes}
        import json

        url = self.url("/commit")
        res = self.call("container", self.api.post, url, data=json.dumps({}), params=params,
                        headers={"Content-Type": "application/json"}, timeout=timeout)
        try:
            raise_for_status(res)
            result = res.json()
        except Exception as exc:
            import docker.errors

            if isinstance(exc, docker.errors.NotFound):
                raise NotFound(f"no such container: {container}") from None
            if isinstance(exc, docker.errors.APIError):
                raise EngineError(f"commit: {exc.explanation or exc}",
                                  status=exc.status_code) from None
            raise unavailable(self.endpoint, exc) from None
        return str(result["Id"])

    def remove_image(self, ref: str, *, force: bool = False) -> bool:
        """Remove an image (and its untagged parents). True when this call removed it, False
        when it did not exist."""
        try:
            self.call("image", self.api.remove_image, ref, force=force)
        except NotFound:
            return False
        return True

    def list_images(self, *, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`GET /images/json?all=1` as the engine returns it (untagged images included)."""
        return list(self.call("image list", self.api.images, all=True, filters=filters))

    def export_container(self, container: str) -> Iterator[bytes]:
        """A container's whole filesystem as a tar stream (`GET /containers/{id}/export`)."""
        stream = self.call("container", self.api.export, container)
        return iter(stream)

    def put_archive(self, container: str, path: str, data: bytes | Iterator[bytes], *,
                    timeout: float | None = None) -> None:
        """Extract a tar stream into a container's filesystem at `path`
        (`PUT /containers/{id}/archive`), which must exist there."""
        url = self.url("/containers/{0}/archive", container)
        res = self.call("container", self.api.put, url, params={"path": path}, data=data,
                        timeout=timeout)
        import docker.errors

        try:
            raise_for_status(res)
        except docker.errors.NotFound:
            raise NotFound(f"no such container or path: {container}:{path}") from None
        except docker.errors.APIError as exc:
            raise EngineError(f"copy into {path}: {exc.explanation or exc}",
                              status=exc.status_code) from None

    def logs(self, container: str, *, tail: int = 200) -> bytes:
        return bytes(
            self.call("container", self.api.logs, container, tail=tail, timestamps=False)
        )

    def log_stream(self, container: str, *, tail: int | None = None,
                   since: float | None = None) -> LogStream:
        """The container's logs, followed (`GET /containers/{id}/logs?follow=1`), each line
        prefixed by its RFC 3339 timestamp: the last `tail` lines (or those since `since`,
        seconds since the epoch), then new ones as they are written. The stream ends when the
        container stops; `close()` (from any thread) ends it sooner."""
        stream = self.call("container", self.api.logs, container, stream=True, follow=True,
                            timestamps=True, tail="all" if tail is None else tail,
                            since=since)
        return LogStream(self.endpoint, stream)

    def event_stream(self, *, since: int | None = None,
                     filters: dict[str, Any] | None = None) -> EventStream:
        """The engine's event stream (`GET /events`), decoded. Iterating blocks until events
        arrive; `close()` (from any thread) ends it. Raises EngineUnavailable when the
        connection breaks."""
        # News starts now by the engine's clock (its Date header is to the second).
        opened = time.time_ns() + self.clock_offset_ns - 1_000_000_000
        try:
            stream = self.api.events(since=since, filters=filters, decode=True)
        except Exception as exc:
            raise unavailable(self.endpoint, exc) from None
        return EventStream(self.endpoint, stream,
                           not_before_ns=since * 1_000_000_000 if since is not None else opened)

    def close(self) -> None:
        self.api.close()


def _podman_path_stat(path: str, st: dict[str, Any]) -> dict[str, Any]:
    """Podman's path stat in Docker's terms. Podman (4.x) lstat()s the path for `mode` and
    `size` but resolves it for the rest: `name` is the final file's, `linkTarget` is the
    fully resolved absolute path (for every path, links or not), and a dangling link answers
    404 with the header filled in. So: the requested name; no linkTarget unless it is a link;
    a dangling link is there. A link's target is its chain's end, absolute: the hops between
    (and whether they were relative) are not told."""
    import posixpath

    st = dict(st)
    st["name"] = posixpath.basename(path.rstrip("/")) or "/"
    if not int(st.get("mode", 0)) & GO_MODE_SYMLINK:
        st["linkTarget"] = ""
    st.pop("isDir", None)
    return st


# How far behind the newest event one may be and still be news. Events are written in
# about the order they happen, give or take the writers' race for the log (milliseconds).
REPLAY_TOLERANCE_NS = 1_000_000_000


def event_time_ns(event: dict[str, Any]) -> int:
    """When an event happened, in nanoseconds since the epoch (0 when it does not say)."""
    for key, scale in (("timeNano", 1), ("time", 1_000_000_000)):
        value = event.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value * scale
    return 0


class EventStream:
    """An open `/events` stream that another thread can close.

    Only news is told: an event from before `not_before_ns` (engine time), more than
    REPLAY_TOLERANCE_NS older than the newest one already told, or the same as one told
    (same time, type, action and actor) is dropped. Podman's file
    events logger (the default where there is no systemd: containers, CI) rotates its log
    at `events_logfile_max_size` (1 MB), and a following stream then reads the new file from
    its start, replaying hundreds of old events, many of them twice."""

    def __init__(self, endpoint: Endpoint, stream: Any, *, not_before_ns: int = 0) -> None:
        self._endpoint = endpoint
        self._stream = stream
        self._closed = False
        self._not_before_ns = not_before_ns
        self.replayed = 0  # old events dropped (see the class docstring)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        newest = self._not_before_ns + REPLAY_TOLERANCE_NS
        recent: dict[tuple[Any, ...], int] = {}  # told within the tolerance: key -> time
        try:
            for event in self._stream:
                if not isinstance(event, dict):
                    continue
                at = event_time_ns(event)
                key = (at, event.get("Type"), event.get("Action"),
                       (event.get("Actor") or {}).get("ID"))
                if at and (at < newest - REPLAY_TOLERANCE_NS or key in recent):
                    self.replayed += 1
                    continue
                newest = max(newest, at)
                if len(recent) > 512:  # forget what the time check alone now drops
                    recent = {k: t for k, t in recent.items()
                              if t >= newest - REPLAY_TOLERANCE_NS}
                if at:
                    recent[key] = at
                yield event
        except Exception as exc:
            if self._closed:
                return
            raise unavailable(self._endpoint, exc) from None
        if not self._closed:
            # The engine ended the stream: it is going away.
            raise EngineUnavailable("the engine closed its event stream", kind=UNREACHABLE)

    def close(self) -> None:
        self._closed = True
        # Already closed or never connected: nothing to do.
        with contextlib.suppress(Exception):
            self._stream.close()


class LogStream:
    """An open, followed logs stream that another thread can close. Iterating gives the raw
    chunks (stdout and stderr interleaved as written) until the container stops."""

    def __init__(self, endpoint: Endpoint, stream: Any) -> None:
        self._endpoint = endpoint
        self._stream = stream
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._stream:
                if isinstance(chunk, bytes):
                    yield chunk
        except Exception as exc:
            if self.closed:
                return
            raise unavailable(self._endpoint, exc) from None

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(Exception):
            self._stream.close()


def _tls_config(endpoint: Endpoint) -> Any:
    if endpoint.tls is None:
        return False
    import docker.tls

    t = endpoint.tls
    client_cert = (t.client_cert, t.client_key) if t.client_cert and t.client_key else None
    try:
        return docker.tls.TLSConfig(
            client_cert=client_cert,
            ca_cert=t.ca_cert if t.verify else None,
            verify=t.ca_cert if (t.verify and t.ca_cert) else t.verify,
        )
    except Exception as exc:  # docker.errors.TLSParameterError and friends
        raise ConfigError(f"bad TLS configuration for {endpoint.url}: {exc}") from None


def connect(endpoint: Endpoint, *, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """Connect and negotiate the API version; raise EngineUnavailable when no engine answers."""
    if endpoint.socket_path:
        problem = precheck_socket(endpoint.socket_path)
        if problem is not None:
            if endpoint.source in ("default", "well-known") and problem.kind == MISSING:
                problem.message = (
                    f"no Docker Engine found: {problem.message}, and no other well-known "
                    "socket exists"
                )
                problem.hint = (
                    "start the engine, or choose one with -H/--host, DOCKER_HOST or --context; "
                    "`dhitui doctor` shows where it looked"
                )
            else:
                problem.message = (f"cannot reach {_expected_engine(endpoint)}: "
                                   f"{problem.message}")
                problem.hint = "run `dhitui doctor` for the cause and the safest fix"
            raise problem
    if endpoint.scheme == "ssh":
        _can_use_ssh(endpoint)
    import docker.errors

    from dhitui.engine.transport import client_for, share_transport

    base_url = endpoint.url
    if endpoint.tls is not None and base_url.startswith("tcp://"):
        base_url = "https://" + base_url[len("tcp://") :]
    tls = _tls_config(endpoint)

    def client(version: str) -> docker.APIClient:
        try:
            return client_for(base_url, version=version, timeout=timeout, tls=tls,
                              use_ssh_client=endpoint.scheme == "ssh",
                              socket_path=endpoint.socket_path)
        except docker.errors.DockerException as exc:
            raise ConfigError(f"cannot use {endpoint.url}: {exc}") from None

    # docker-py takes the API version only in its constructor: a client at the oldest
    # version asks `/version` (with a version, the constructor makes no request), and the
    # client for the negotiated version then sends through the same connection.
    probe = client("1.24")
    try:
        answer = probe.get(f"{probe.base_url}/version", timeout=timeout)
    except Exception as exc:
        probe.close()
        raise unavailable(endpoint, exc) from None
    version = _engine_version(answer)
    if version is None:
        probe.close()
        raise not_an_engine(endpoint, answer)
    try:
        api = client(min_api(str(version.get("ApiVersion", "1.24")), MAX_API_VERSION))
    except BaseException:
        probe.close()
        raise
    share_transport(probe, api)
    engine = Engine(endpoint, api, dict(version))
    engine.clock_offset_ns = _clock_offset_ns(answer.headers.get("Date"))
    return engine


def _can_use_ssh(endpoint: Endpoint) -> None:
    """docker-py reaches ssh:// engines only with the paramiko package (its ssh transport
    imports it even to run the ssh binary): say so, with the ways forward, before docker-py
    says "Install paramiko package"."""
    import importlib.util
    import shlex
    import sys

    if importlib.util.find_spec("paramiko") is not None:
        return
    host = endpoint.url[len("ssh://"):].split("/", 1)[0]
    local = os.path.expanduser("~/.dhitui-engine.sock")
    pip = shlex.join([sys.executable, "-m", "pip", "install", "paramiko"])
    forward = shlex.join(["ssh", "-nNT", "-L", f"{local}:/var/run/docker.sock", host])
    raise ConfigError(
        f"cannot use {endpoint.url}: ssh:// engines need the Python package paramiko, which "
        "is not installed",
        hint=f"install it beside dhitui: `{pip}`; or forward the engine's socket and use "
             f"that: `{forward}` and `-H unix://{local}`",
    )


def _engine_version(answer: Any) -> dict[str, Any] | None:
    """The `/version` document, if this is an Engine API's answer (Docker's and Podman's
    carry an ApiVersion)."""
    if answer.status_code != 200:
        return None
    try:
        data = answer.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) and "ApiVersion" in data else None


def not_an_engine(endpoint: Endpoint, answer: Any) -> EngineUnavailable:
    """What answered instead of an Engine API, in its own words (a web server, a proxy)."""
    from dhitui.textsafe import one_line

    where = endpoint.socket_path or endpoint.url
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


def _clock_offset_ns(date: str | None) -> int:
    """How far the engine's clock is ahead of ours, from an HTTP Date header (to the second;
    0 when there is none)."""
    from email.utils import parsedate_to_datetime

    try:
        engine_now = parsedate_to_datetime(date or "").timestamp()
    except (TypeError, ValueError, IndexError):
        return 0
    return int(engine_now * 1e9) - time.time_ns()
