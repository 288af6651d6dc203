"""The shape the code promises: domain modules free of Textual, a cheap CLI start."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

from conftest import REPO

import dhitui


def _modules_loaded_by(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys, json; "
                          "print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, cwd=REPO, timeout=60)
    return set(json.loads(out.stdout.splitlines()[-1]))


def domain_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(dhitui.__path__, "dhitui."):
        if not info.name.startswith("dhitui.ui"):
            names.append(info.name)
    return names


def test_domain_code_never_imports_textual() -> None:
    mods = domain_modules()
    assert "dhitui.engine.client" in mods and "dhitui.cli" in mods
    loaded = _modules_loaded_by("\n".join(f"import {m}" for m in mods))
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_cli_import_stays_light() -> None:
    """Parsing arguments must not pay for docker-py, Rich or Textual."""
    loaded = _modules_loaded_by("import dhitui.cli\ndhitui.cli.build_parser()")
    heavy = {"docker", "requests", "rich", "textual", "psutil"}
    assert not heavy & {m.split(".")[0] for m in loaded}


def test_only_the_engine_package_imports_docker() -> None:
    offenders = []
    for path in (REPO / "dhitui").rglob("*.py"):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("dhitui/engine/"):
            continue
        text = path.read_text()
        if "import docker" in text or "from docker" in text:
            offenders.append(rel)
    assert offenders == []
