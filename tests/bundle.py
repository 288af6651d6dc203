"""Build an image that runs this checkout's dhitui with nothing else: no docker CLI, no shell.

No registry is reachable, so the image is assembled from this machine: the Python
interpreter the tests run on, the shared libraries it and its extension modules link
against (as `ldd` lists them), its standard library, the runtime dependencies from the
test venv, and the `dhitui` package; then `docker import`ed with dhitui as the entrypoint.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

from conftest import REPO, EngineUnderTest, docker

# What `dhitui debug` needs at run time (imported lazily, so listed by hand; the test that
# uses the image fails with an ImportError if one is missing).
RUNTIME_PACKAGES = ("docker", "requests", "urllib3", "idna", "certifi", "charset_normalizer",
                    "rich", "markdown_it", "mdurl", "pygments", "psutil", "platformdirs")
SKIP_DIRS = {"__pycache__", "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip",
             "lib2to3", "pydoc_data", "distutils"}


def _shared_libraries(binaries: list[Path]) -> set[Path]:
    libs: set[Path] = set()
    for binary in binaries:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True,
                             timeout=30).stdout
        for line in out.splitlines():
            m = re.search(r"(/\S+)\s+\(0x", line)
            if m:
                libs.add(Path(m.group(1)))
    return libs


def _add_tree(tar: tarfile.TarFile, src: Path, dest: str) -> None:
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".dist-info")]
        rel = Path(root).relative_to(src)
        for name in files:
            if name.endswith((".pyc", ".pyi")):
                continue
            path = Path(root) / name
            tar.add(str(path), arcname=f"{dest}/{rel / name}", recursive=False)


def build_dhitui_image(engine: EngineUnderTest, tag: str, workdir: Path) -> None:
    python = Path(os.path.realpath(sys.base_exec_prefix + "/bin/python3"))
    if not python.exists():
        python = Path(os.path.realpath("/usr/bin/python3"))
    stdlib = Path(sysconfig.get_paths(vars={"base": sys.base_prefix,
                                            "installed_base": sys.base_prefix})["stdlib"])
    site = Path(sysconfig.get_paths()["purelib"])
    extensions = [p for p in (stdlib / "lib-dynload").glob("*.so")]
    extensions += [p for pkg in RUNTIME_PACKAGES for p in (site / pkg).rglob("*.so")]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("tmp", "etc", "var/run"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(python), arcname="usr/bin/python3", recursive=False)
        for lib in sorted(_shared_libraries([python, *extensions])):
            tar.add(os.path.realpath(lib), arcname=str(lib).lstrip("/"), recursive=False)
        _add_tree(tar, stdlib, str(stdlib).lstrip("/"))
        for pkg in RUNTIME_PACKAGES:
            if (site / pkg).is_dir():
                _add_tree(tar, site / pkg, f"opt/site/{pkg}")
        _add_tree(tar, REPO / "dhitui", "opt/dhitui/dhitui")
        passwd = b"root:x:0:0:root:/tmp:/nonexistent\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
    docker(engine, "import",
           "-c", "ENV PYTHONPATH=/opt/dhitui:/opt/site HOME=/tmp",
           "-c", 'ENTRYPOINT ["/usr/bin/python3", "-m", "dhitui"]',
           "-", tag, input=buf.getvalue(), timeout=300)
