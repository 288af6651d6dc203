"""Errors the user can act on, each with its documented exit code.

Anything raised as a `DhituiError` reaches the user as one clear line (plus an optional hint)
and a non-zero exit; anything else is a bug. The exit codes are part of the CLI contract and
are listed in the README.
"""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # doctor: a check failed; generic failure
    USAGE = 2  # bad arguments, conflicting options, unknown strategy
    CONFIG = 3  # malformed DOCKER_HOST, corrupt config.json, unknown context, TLS files missing
    UNREACHABLE = 4  # no engine answers: missing socket, permission denied, refused, timeout
    NOT_FOUND = 5  # unknown container or image
    UNAVAILABLE = 6  # the action cannot be done here: container stopped, toolbox missing, ...
    INTERRUPTED = 130


class DhituiError(Exception):
    """An error with a message meant for the user."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(DhituiError):
    exit_code = ExitCode.USAGE


class ConfigError(DhituiError):
    exit_code = ExitCode.CONFIG


class EngineUnavailable(DhituiError):
    """No engine answered at the endpoint; `kind` classifies why (see diagnostics)."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, *, kind: str, hint: str | None = None,
                 tls: Any = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.tls = tls  # engine.failures.TLSProblem, for a TLS handshake that failed


class NotFound(DhituiError):
    exit_code = ExitCode.NOT_FOUND
    engine_text: str | None = None  # the engine's own words, when it said what was missing


class Ambiguous(NotFound):
    """A name or id prefix that names more than one container: no single one is found."""

    def __init__(self, message: str, *, candidates: tuple[str, ...] = (),
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.candidates = candidates  # "ID (name)" of each container it could mean


class Unavailable(DhituiError):
    exit_code = ExitCode.UNAVAILABLE


def report(exc: DhituiError) -> None:
    """The one way an error reaches the user: `dhitui: error: ...` and its hint, on stderr,
    with terminal control sequences stripped (messages quote engine text)."""
    from dhitui.textsafe import clean

    sys.stderr.write(f"dhitui: error: {clean(exc.message, keep_newlines=False)}\n")
    if exc.hint:
        sys.stderr.write(f"  hint: {clean(exc.hint, keep_newlines=False)}\n")
