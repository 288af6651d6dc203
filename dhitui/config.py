"""User defaults from `$XDG_CONFIG_HOME/dhitui/config.toml` (default `~/.config/dhitui/`).

    toolbox = "IMAGE"            # image with the debugging tools (must be present locally)
    strategy = "auto"            # auto, or a strategy name (`dhitui debug --help` lists them)
    transport = "auto"           # auto | api | cli: how sessions run (Engine API or docker CLI)
    view = "auto"                # auto | inside | beside: where a sidecar session stands

Command-line options win over the file (`commands.base.flag_or_setting`); without either,
the defaults are `Settings`': `DEFAULT_TOOLBOX` and `auto`. The endpoint is not configured
here on purpose: the docker CLI's own settings (`DOCKER_HOST`, contexts) already say which
engine to use, and a third place would only make "why this engine?" harder to answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dhitui.errors import ConfigError
from dhitui.strategy_registry import AUTO, CHOICES, TRANSPORT_CHOICES, VIEW_CHOICES

DEFAULT_TOOLBOX = "busybox"  # the toolbox image when neither --toolbox nor the file names one


@dataclass(frozen=True)
class Settings:
    toolbox: str = DEFAULT_TOOLBOX
    strategy: str = AUTO
    transport: str = AUTO
    view: str = AUTO
    engines: tuple[str, ...] = ()  # what `dhitui`, `ls` and `info` follow (empty: one)
    path: str | None = None  # the file the values came from, if any


KNOWN = ("toolbox", "strategy", "transport", "view", "engines")


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(
        Path(env.get("HOME") or os.path.expanduser("~")) / ".config"
    )
    return Path(base) / "dhitui" / "config.toml"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    path = config_path(env)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    import tomllib  # only with a config file: most runs have none

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(KNOWN))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}",
                          hint=f"known settings: {', '.join(KNOWN)}")
    toolbox = data.get("toolbox", Settings.toolbox)
    strategy = data.get("strategy", Settings.strategy)
    if not isinstance(toolbox, str) or not toolbox.strip():
        raise ConfigError(f"{path}: toolbox must be a non-empty image reference")
    if strategy not in CHOICES:
        raise ConfigError(f"{path}: strategy must be one of {', '.join(CHOICES)}")
    transport = data.get("transport", Settings.transport)
    if transport not in TRANSPORT_CHOICES:
        raise ConfigError(f"{path}: transport must be one of {', '.join(TRANSPORT_CHOICES)}")
    view = data.get("view", Settings.view)
    if view not in VIEW_CHOICES:
        raise ConfigError(f"{path}: view must be one of {', '.join(VIEW_CHOICES)}")
    raw_engines = data.get("engines", ())
    if isinstance(raw_engines, str):
        raw_engines = raw_engines.split(",")
    if not isinstance(raw_engines, list | tuple) or not all(
            isinstance(e, str) and e.strip() for e in raw_engines):
        raise ConfigError(f'{path}: engines must be "all", "name,name" or a list of names')
    return Settings(toolbox=toolbox.strip(), strategy=strategy, transport=transport,
                    view=view, engines=tuple(e.strip() for e in raw_engines),
                    path=str(path))
