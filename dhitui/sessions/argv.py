"""How a session's docker command line targets the engine, and what keeps it safe.

The words of each command come from the strategy's one definition (`dhitui.engine.specs`,
which also renders the same session as Engine API calls); this module adds the `docker`
prefix that targets exactly the engine dhitui resolved:

- a docker context: `docker --context NAME ...` (the CLI reads the context store itself);
- an address from `-H`, `DOCKER_HOST` or a well-known socket: `docker -H URL ...`, plus
  `--tls`/`--tlsverify` and the certificate files for TLS over tcp;
- the default socket `/var/run/docker.sock`: nothing extra.

The child runs without `DOCKER_HOST`, `DOCKER_CONTEXT` and the TLS variables (`ENV_UNSET`),
so nothing in the environment can point it elsewhere; `DOCKER_CONFIG` is kept (it holds the
context store and the CLI plugins). What is printed is `shlex.join(argv)`, and that is what
runs.

`check_argv` refuses any argument holding control characters (from container data).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

from dhitui.engine.endpoint import DEFAULT_HOST, Endpoint

ENV_UNSET = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def docker_prefix(cli_path: str, endpoint: Endpoint) -> list[str]:
    """`docker` plus the global options that select exactly `endpoint`."""
    if endpoint.source == "context" and endpoint.context:
        return [cli_path, "--context", endpoint.context]
    if endpoint.source == "default" and endpoint.url == DEFAULT_HOST:
        return [cli_path]
    argv = [cli_path, "-H", endpoint.url]
    tls = endpoint.tls
    if tls is not None and endpoint.url.startswith("tcp://"):
        argv.append("--tlsverify" if tls.verify else "--tls")
        if tls.ca_cert:
            argv += ["--tlscacert", tls.ca_cert]
        if tls.client_cert and tls.client_key:
            argv += ["--tlscert", tls.client_cert, "--tlskey", tls.client_key]
    return argv


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment the docker CLI runs with: `env` without what could redirect it."""
    return {k: v for k, v in env.items() if k not in ENV_UNSET}


def command_line(argv: Sequence[str]) -> str:
    """The copyable form of an argv (exactly what runs)."""
    return shlex.join(argv)


def check_argv(argv: Sequence[str]) -> str | None:
    """Why this argv must not run, if it must not: an argument with control characters
    (from container data) would be invisible or act on the terminal when shown."""
    for arg in argv:
        if _CONTROL.search(arg):
            return f"an argument holds control characters: {arg.encode('unicode_escape')!r}"
    return None
