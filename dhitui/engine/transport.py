"""docker-py's client, built and connected through docker-py's and requests' public API.

`client_for()` makes a `docker.APIClient` for an endpoint at a given API version (docker-py
takes the version only in its constructor); `share_transport()` lets a second client send
through the first one's transport adapter, so the connection that asked `/version` also
serves the client built for the version it answered (`requests.Session.mount`).

For unix sockets the adapter is `OnePoolUnixAdapter`: docker-py 7's `UnixHTTPAdapter` keys
its connection pools by the request's full URL (its `get_connection_with_tls_context` passes
`request.url`), so every distinct path (`/containers/<id>/json`, one per container) opens a
new pool and a new socket, and its 25-pool LRU closes them again: classifying N containers
connected N times. The subclass overrides that public `HTTPAdapter` method to use one key
for every request: one pool of `max_pool_size` reusable connections.

Imported by `client.connect()` only, when docker-py is wanted anyway.
"""

from __future__ import annotations

from typing import Any

import docker
import docker.constants
import docker.transport
import docker.utils.config
import requests.utils

POOL_KEY = "http+docker://localhost"


class OnePoolUnixAdapter(docker.transport.UnixHTTPAdapter):  # type: ignore[misc]
    """docker-py's unix socket adapter with one connection pool for all requests."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("http+unix://" + socket_path, timeout, pool_connections=1,
                         max_pool_size=docker.constants.DEFAULT_MAX_POOL_SIZE)

    def get_connection_with_tls_context(self, request: Any, verify: Any, proxies: Any = None,
                                        cert: Any = None) -> Any:
        return self.get_connection(POOL_KEY, proxies)


def client_for(base_url: str, *, version: str, timeout: float, tls: Any,
               use_ssh_client: bool, socket_path: str | None) -> docker.APIClient:
    """A docker-py client at `version` (no request is made). Raises DockerException for a
    base URL or TLS setting docker-py refuses."""
    api = docker.APIClient(base_url=base_url, version=version, timeout=timeout, tls=tls,
                           use_ssh_client=use_ssh_client)
    # The headers config.json asks for (docker-py adds them in its private request helpers,
    # which dhitui does not use): on the session, they go with every request.
    headers = docker.utils.config.load_general_config().get("HttpHeaders")
    if isinstance(headers, dict):
        api.headers.update({str(k): str(v) for k, v in headers.items()})
    if socket_path is not None:
        api.mount("http+docker://", OnePoolUnixAdapter(socket_path, timeout))
        # requests' per-request environment lookups (~/.netrc, proxy variables) mean
        # nothing on a unix socket.
        api.trust_env = False
    elif str(api.base_url).startswith(("http://", "https://")):
        # The endpoint's CA file decides whom a TLS engine is trusted as, as for the docker
        # CLI: with the environment trusted, requests would let REQUESTS_CA_BUNDLE or
        # CURL_CA_BUNDLE replace it (psf/requests#3829). The proxy variables still count,
        # read once for this URL (NO_PROXY included).
        proxies = requests.utils.get_environ_proxies(str(api.base_url))
        api.trust_env = False
        api.proxies.update(proxies)
    return api


def share_transport(source: docker.APIClient, target: docker.APIClient) -> None:
    """Let `target` send through the adapter (and the open connections) `source` uses for
    its base URL. `source` must not be closed afterwards: that would close the adapter."""
    url = str(source.base_url).lower()
    for prefix, adapter in source.adapters.items():
        if url.startswith(prefix.lower()):
            target.mount(prefix, adapter)
            return
