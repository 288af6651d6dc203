"""Which engines a front end follows, each with a short name: `--engines`, `-H` repeated, or
the `engines` setting of config.toml.

    --engines all         the resolved default, every docker context, every Podman
                          connection and every well-known socket that accepts a connection
    --engines a,b         those, by name (a context, a Podman connection, a well-known
                          socket's kind such as `rootful` or `podman`, or `default`)
    -H A -H B             those addresses, named after them (see `name_for_url`)

One engine stays the common case: with none of these, the one engine the docker CLI would
use (`resolve_endpoint`), named `default`. The same address reached under two names is
followed once, under the first. Nothing here connects beyond a socket's connect(): whether
an engine answers the API is the engine session's to find out (one that does not shows as
down, while the others stay live).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dhitui.engine.endpoint import (
    DEFAULT_CONTEXT,
    Endpoint,
    list_contexts,
    probe_candidates,
    resolve_endpoint,
    well_known_sockets,
)
from dhitui.errors import UsageError

ALL = "all"
DEFAULT_NAME = "default"  # the one engine's name when no other is asked for


@dataclass(frozen=True)
class NamedEndpoint:
    """An engine to follow: its short name (shown in the list's Engine column) and address."""

    name: str
    endpoint: Endpoint


def parse_engines(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """`all`, `a,b` or a list of names, as names (empty: none asked for)."""
    if value is None:
        return ()
    parts = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(p.strip() for p in parts if isinstance(p, str) and p.strip())
    if not names and parts:
        raise UsageError("--engines needs `all` or engine names separated by commas")
    return names


def select_engines(*, engines: Sequence[str] = (), hosts: Sequence[str] = (),
                   context: str | None = None,
                   env: Mapping[str, str] | None = None) -> list[NamedEndpoint]:
    """The engines to follow, in the order they are shown. Raises UsageError/ConfigError
    for bad input (an unknown name, an invalid address)."""
    env = os.environ if env is None else env
    if engines and (hosts or context):
        raise UsageError("conflicting options: --engines chooses the engines itself; "
                         "leave out -H/--host and -c/--context")
    if len(hosts) > 1:
        if context:
            raise UsageError("conflicting options: cannot specify both --host and --context")
        return _unique([NamedEndpoint(name_for_url(ep.url, env), ep)
                        for ep in (resolve_endpoint(h, None, env) for h in hosts)])
    if not engines:
        host = hosts[0] if hosts else None
        return [NamedEndpoint(DEFAULT_NAME, resolve_endpoint(host, context, env))]
    known = available_engines(env)
    if list(engines) == [ALL]:
        # Nothing configured and nothing answers: the one engine the CLI would use, which
        # then shows as down with the reason (rather than an empty list that says nothing).
        return known or [NamedEndpoint(DEFAULT_NAME, resolve_endpoint(None, None, env))]
    by_name = {n.name: n for n in known}
    chosen = []
    for name in engines:
        if name == ALL:
            raise UsageError("--engines all stands alone (not in a list of names)")
        found = by_name.get(name)
        if found is None:
            found = _named(name, env)
        chosen.append(found)
    return _unique(chosen)


def available_engines(env: Mapping[str, str]) -> list[NamedEndpoint]:
    """Everything `--engines all` follows: the default first, then every docker context and
    Podman connection, then every well-known socket that accepts a connection."""
    from dhitui.engine.podman_connections import read_connections
    from dhitui.errors import ConfigError

    default = resolve_endpoint(None, None, env)
    found = []
    # The default as configured (DOCKER_HOST, a context, a Podman connection) is always
    # shown, down or not; one only guessed at (no socket accepted a connection) is not.
    guessed = default.source in ("default", "well-known")
    if not guessed or any(c.answers for c in default.candidates):
        found.append(NamedEndpoint(_default_name(default, env), default))
    for name in sorted(list_contexts(env)):  # as `docker context ls` lists them
        if name == DEFAULT_CONTEXT:
            continue
        try:
            found.append(NamedEndpoint(name, resolve_endpoint(None, name, env)))
        except ConfigError:
            continue  # a context that cannot be read: `doctor` says why
    for name in sorted(read_connections(env).connections):
        try:
            found.append(NamedEndpoint(name, resolve_endpoint(None, name, env)))
        except ConfigError:
            continue
    # The implicit default has probed the well-known sockets already: not twice.
    for cand in default.candidates or probe_candidates(env):
        if cand.answers:
            found.append(NamedEndpoint(cand.kind, Endpoint(
                url=f"unix://{cand.path}", source="well-known",
                reason=f"the {cand.kind} socket {cand.path} answers (--engines)")))
    return _unique(found)


def _named(name: str, env: Mapping[str, str]) -> NamedEndpoint:
    """A context or Podman connection by name (one that `all` left out), or the error that
    lists the names there are."""
    from dhitui.errors import ConfigError

    if name == DEFAULT_NAME:
        return NamedEndpoint(name, resolve_endpoint(None, None, env))
    try:
        return NamedEndpoint(name, resolve_endpoint(None, name, env))
    except ConfigError:
        names = ", ".join(n.name for n in available_engines(env))
        raise UsageError(f"no engine is named {name!r}",
                         hint=f"engines here: {names}; `dhitui info --engines all` shows "
                              "each with its address") from None


def _default_name(endpoint: Endpoint, env: Mapping[str, str]) -> str:
    """The default engine under the name it is known by: its context, its Podman
    connection, its well-known socket's kind, else `default`."""
    if endpoint.context:
        return endpoint.context
    path = endpoint.socket_path
    for kind, known in well_known_sockets(env):
        if path == known:
            return kind
    return DEFAULT_NAME


def name_for_url(url: str, env: Mapping[str, str] | None = None) -> str:
    """A short name for an address given with -H: a well-known socket's kind (`rootful`,
    `podman`), else the socket's directory (`/srv/e28/docker.sock` is `e28`), `host:port`
    for tcp://, `user@host` for ssh://."""
    env = os.environ if env is None else env
    scheme, _, rest = url.partition("://")
    if scheme == "unix":
        for kind, known in well_known_sockets(env):
            if rest == known:
                return kind
        parts = [p for p in rest.split("/") if p]
        if len(parts) >= 2 and parts[-2] not in ("run", "var", "tmp", "docker", "podman"):
            return parts[-2]
        return parts[-1].removesuffix(".sock") if parts else url
    return rest.rstrip("/") or url


def _unique(found: list[NamedEndpoint]) -> list[NamedEndpoint]:
    """One entry per address (the first name wins), and no two entries with one name."""
    seen_urls: set[str] = set()
    names: set[str] = set()
    out = []
    for item in found:
        if item.endpoint.url in seen_urls:
            continue
        seen_urls.add(item.endpoint.url)
        name, n = item.name, 2
        while name in names:
            name, n = f"{item.name}-{n}", n + 1
        names.add(name)
        out.append(NamedEndpoint(name, item.endpoint) if name != item.name else item)
    return out
