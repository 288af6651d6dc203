"""The shape the code promises: domain modules free of Textual, a cheap CLI start."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
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


# docker-py, requests and urllib3 promise nothing about their private parts: any release may
# rename them. The names are collected from the installed packages themselves, so no list
# is kept here; a dhitui object's own private attributes (on `self`/`cls`) are not checked.
THIRD_PARTY = ("docker", "requests", "urllib3")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _third_party_trees(*, transport_only: bool = False) -> Iterator[ast.AST]:
    """The packages' modules, parsed; with `transport_only`, requests', urllib3's and
    docker-py's transport adapters (not docker-py's API methods, whose names, such as
    `history`, dhitui's own objects may well have)."""
    import importlib.util

    for package in THIRD_PARTY:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations, package
        for root in spec.submodule_search_locations:
            top = Path(root) / "transport" if transport_only and package == "docker" else root
            for path in Path(top).rglob("*.py"):
                yield ast.parse(path.read_bytes(), str(path))


@cache
def third_party_private_names() -> frozenset[str]:
    """Every private name the three packages define or use as an attribute."""
    names: set[str] = set()
    for tree in _third_party_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[-1])
    return frozenset(n for n in names if _is_private(n))


def _is_property(f: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any((isinstance(d, ast.Name) and d.id == "property")
               or (isinstance(d, ast.Attribute) and d.attr in ("setter", "getter"))
               for d in f.decorator_list)


@cache
def third_party_method_names() -> frozenset[str]:
    """The public methods of the transport's classes (`send`, `get_connection`):
    assigning one on an object patches it (a subclass overriding it is public use)."""
    names: set[str] = set()
    for tree in _third_party_trees(transport_only=True):
        for cls in ast.walk(tree):
            if isinstance(cls, ast.ClassDef):
                names.update(f.name for f in cls.body
                             if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                             and not f.name.startswith("_") and not _is_property(f))
    return frozenset(names)


def _on_self(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")


def private_reads(path: Path) -> list[str]:
    """Where a module reaches a private part of docker-py, requests or urllib3: `x._name`
    (x not `self`/`cls`), `getattr(x, "_name")`/`setattr`/`hasattr`, imports of a private
    name or module from those packages, and a method of theirs patched (`x.send = ...`)."""
    private = third_party_private_names()
    methods = third_party_method_names()
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in private and not _on_self(node):
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [(t.lineno, f".{t.attr} = (patched)") for t in targets
                      if isinstance(t, ast.Attribute) and t.attr in methods
                      and not _on_self(t)]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
              and node.args[1].value in private):
            found.append((node.lineno, f"{node.func.id}(..., {node.args[1].value!r})"))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                if full.split(".")[0] in THIRD_PARTY and any(
                        _is_private(part) for part in full.split(".")):
                    found.append((node.lineno, f"import {full}"))
    return [f"{line}: {what}" for line, what in sorted(found)]


def test_private_read_checker_sees_what_it_must(tmp_path: Path) -> None:
    """The checker itself, on the reads this code once made."""
    f = tmp_path / "mod.py"
    f.write_text("def f(api, response, self):\n"
                 "    api._version = '1.41'\n"
                 "    sock = response.raw._fp.fp.raw._sock\n"
                 "    getattr(api, '_url')\n"
                 "    from urllib3._collections import RecentlyUsedContainer\n"
                 "    adapter.get_connection = lambda url, proxies=None: None\n"
                 "    self.send = api.send\n"
                 "    api.trust_env = False\n"
                 "    return self._version, api.base_url, api.get\n")
    assert private_reads(f) == [
        "2: ._version", "3: ._fp", "3: ._sock", "4: getattr(..., '_url')",
        "5: import urllib3._collections.RecentlyUsedContainer",
        "6: .get_connection = (patched)"]


def test_no_module_reads_private_parts_of_docker_requests_or_urllib3() -> None:
    offenders = [f"{path.relative_to(REPO)}:{where}" for path, _ in _module_files()
                 for where in private_reads(path)]
    assert offenders == []
