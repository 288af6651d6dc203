"""What the numbers were measured on: CPU, cores, load, kernel, Python, library versions,
the engine. Benchmarks on a shared machine are only comparable with this next to them."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _engine(host: str) -> str:
    import docker

    client = docker.APIClient(base_url=host, version="auto", timeout=30)
    try:
        v = client.version()
        return f"{v.get('Version')} (API {v.get('ApiVersion')})"
    finally:
        client.close()


def describe(host: str) -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _mem_gib(),
        "load_start": os.getloadavg(),
        "kernel": platform.release(),
        "os": platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
        if hasattr(platform, "freedesktop_os_release") else platform.system(),
        "python": sys.version.split()[0],
        "textual": _version("textual"),
        "docker-py": _version("docker"),
        "rich": _version("rich"),
        "dhitui": _version("dhitui"),
        "engine": _engine(host),
        "host": host,
    }


def summary(info: dict[str, Any]) -> str:
    load = ", ".join(f"{x:.2f}" for x in info["load_start"])
    return (f"{info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; {info['os']}, "
            f"kernel {info['kernel']}; Python {info['python']}, Textual {info['textual']}, "
            f"docker-py {info['docker-py']}; Engine {info['engine']}; load average at start "
            f"{load}")
