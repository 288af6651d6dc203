"""The shape the code promises: domain modules free of Textual, a cheap CLI start."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import dhitui

from conftest import REPO


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


# Bottom-up; a module may import its own layer and the ones below, never one above. Every
# import counts: module level, inside functions, and under TYPE_CHECKING.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("dhitui", "dhitui.models", "dhitui.errors", "dhitui.textsafe", "dhitui.config",
     "dhitui.strategy_registry"),
    ("dhitui.engine",),
    ("dhitui.detect",),
    ("dhitui.sessions",),
    ("dhitui.diagnostics",),
    ("dhitui.live", "dhitui.logfollow"),
    ("dhitui.ui",),
    ("dhitui.commands",),
    ("dhitui.cli",),
    ("dhitui.__main__",),
)


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None  # (length of the matching prefix, layer)
    for index, names in enumerate(LAYERS):
        for name in names:
            matches = module == name or (name != "dhitui" and module.startswith(name + "."))
            if matches and (best is None or len(name) > best[0]):
                best = (len(name), index)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[1]


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every dhitui import in the file, wherever it is."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.append((node.lineno, base))
            # `from dhitui import x` may name a submodule.
            for a in node.names:
                if f"{base}.{a.name}" in _all_modules():
                    found.append((node.lineno, f"{base}.{a.name}"))
    return [(line, m) for line, m in found if m == "dhitui" or m.startswith("dhitui.")]


@cache
def _all_modules() -> set[str]:
    return {"dhitui", *(i.name for i in pkgutil.walk_packages(dhitui.__path__, "dhitui."))}


def _module_files() -> list[tuple[Path, str]]:
    out = []
    for path in sorted((REPO / "dhitui").rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append((path, ".".join(parts)))
    return out


def test_layer_checker_sees_function_level_and_upward_imports(tmp_path: Path) -> None:
    """The checker itself: an import inside a function, and a relative one, are found."""
    f = tmp_path / "mod.py"
    f.write_text("def f():\n    from dhitui.cli import main\n    from ..ui import app\n")
    found = imports_of(f, "dhitui.sessions.mod")
    assert (2, "dhitui.cli") in found and (3, "dhitui.ui") in found
    assert layer_of("dhitui.cli") > layer_of("dhitui.sessions.runner") > layer_of("dhitui.errors")


def test_imports_only_run_down_the_layers() -> None:
    upward = []
    for path, module in _module_files():
        mine = layer_of(module)
        for line, imported in imports_of(path, module):
            if layer_of(imported) > mine:
                upward.append(f"{path.relative_to(REPO)}:{line} {module} -> {imported}")
    assert upward == []
