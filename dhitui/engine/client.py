"""A connection to one Docker Engine, through docker-py's public API.

`connect()` turns an `Endpoint` into an `Engine`: it checks a unix socket before touching it
(so "missing", "not a socket" and "permission denied" are told apart without guessing from
message text), asks `/version` once and negotiates the API version from that answer, and
classifies any failure by errno into an `EngineUnavailable` with a `kind` (`failures`).

Everything else in dhitui talks to the engine through `Engine`'s small, typed surface. Its
parts live beside it: the archive reads (`archive`), the event and log streams (`streams`),
dhitui's own connections for hijacked streams and long polls (`wire`), docker-py's client
and transport adapter (`transport`). The names callers import from here (`EngineError`,
`EventStream`, the failure kinds...) stay importable from here. What is left, `Engine`'s
reads and writes and `connect()`, is one class's surface; it runs past 450 lines.
"""

from __future__ import annotations

import http.client
import os
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dhitui.engine.archive import GO_MODE_DIR, GO_MODE_SYMLINK, ContainerFiles
from dhitui.engine.endpoint import Endpoint
from dhitui.engine.failures import (
    AMBIGUOUS,
    API_ERROR,
    DROPPED,
    MISSING,
    NOT_A_SOCKET,
    NOT_AN_ENGINE,
    PERMISSION,
    REFUSED,
    TIMEOUT,
    TLS,
    UNREACHABLE,
    EngineError,
    api_error,
    classify_error,
    expected_engine,
    not_an_engine,
    precheck_socket,
    unavailable,
)
from dhitui.engine.identity import EngineIdentity, identify
from dhitui.engine.streams import REPLAY_TOLERANCE_NS, EventStream, LogStream, event_time_ns
from dhitui.errors import Ambiguous, ConfigError, NotFound

if TYPE_CHECKING:
    import docker

    from dhitui.engine.wire import Answer, Connection

__all__ = [
    "AMBIGUOUS", "API_ERROR", "DROPPED", "GO_MODE_DIR", "GO_MODE_SYMLINK", "MISSING",
    "NOT_AN_ENGINE", "NOT_A_SOCKET", "PERMISSION", "REFUSED", "REPLAY_TOLERANCE_NS",
    "TIMEOUT", "TLS", "UNREACHABLE", "Engine", "EngineError", "EventStream", "LogStream",
    "api_error", "api_tuple", "classify_error", "connect", "event_time_ns", "min_api",
    "not_an_engine", "precheck_socket", "raise_for_status", "unavailable",
]

# The newest Engine API this code knows. Requests use min(this, the server's version).
MAX_API_VERSION = "1.51"
DEFAULT_TIMEOUT = 15.0


def api_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


def min_api(a: str, b: str) -> str:
    return a if api_tuple(a) <= api_tuple(b) else b


def raise_for_status(response: Any) -> None:
    """Raise docker-py's error for an error answer (requests' `HTTPError` turned into
    `docker.errors.APIError`, `NotFound`..., through docker-py's public converter)."""
    import docker.errors
    import requests

    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as exc:
        docker.errors.create_api_error_from_http_exception(exc)  # raises


class Engine(ContainerFiles):
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
        # The session's headers (User-Agent, config.json's HttpHeaders), but no content
        # codings: nothing here decodes gzip.
        headers = {k: str(v) for k, v in self.api.headers.items()
                   if k.lower() != "accept-encoding"}
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
                problem.message = (f"cannot reach {expected_engine(endpoint)}: "
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


def _clock_offset_ns(date: str | None) -> int:
    """How far the engine's clock is ahead of ours, from an HTTP Date header (to the second;
    0 when there is none)."""
    from email.utils import parsedate_to_datetime

    try:
        engine_now = parsedate_to_datetime(date or "").timestamp()
    except (TypeError, ValueError, IndexError):
        return 0
    return int(engine_now * 1e9) - time.time_ns()
