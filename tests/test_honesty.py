"""The suite cannot quietly not run: where it is required (CI, DHITUI_REQUIRE_ENGINES), a
test whose requirements are missing fails instead of skipping."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

TESTS = Path(__file__).resolve().parent
# The only places allowed to skip: the helpers that fail instead where the suite is required.
SKIP_CALL = re.compile(r"pytest\.skip\(|importorskip\(|pytest\.mark\.skip|skipif\(")


def test_no_skip_bypasses_the_requirement() -> None:
    offenders = []
    for path in sorted(TESTS.glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SKIP_CALL.search(line) and path.name != "conftest.py" \
                    and path.name != Path(__file__).name:
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert not offenders, "skips that ignore DHITUI_REQUIRE_ENGINES/CI (use conftest." \
                          "skip_or_fail):\n" + "\n".join(offenders)
    conftest = (TESTS / "conftest.py").read_text()
    # conftest's own skips sit right behind an engines_required() check.
    for match in re.finditer(r"pytest\.skip\(", conftest):
        before = conftest[max(0, match.start() - 200):match.start()]
        assert "if engines_required():" in before, conftest[match.start() - 200:match.end()]


def test_a_missing_requirement_fails_where_the_suite_is_required(tmp_path: Path) -> None:
    (tmp_path / "test_needs.py").write_text(
        "from conftest import skip_or_fail\n\n"
        "def test_needs_something():\n"
        "    skip_or_fail('needs something this machine lacks')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DHITUI_REQUIRE_ENGINES")}
    env["PYTHONPATH"] = f"{TESTS}:{REPO}"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "--rootdir", str(tmp_path), str(tmp_path / "test_needs.py")]
    here = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)
    assert here.returncode == 0 and "1 skipped" in here.stdout, here.stdout
    required = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                              env={**env, "DHITUI_REQUIRE_ENGINES": "1"})
    assert required.returncode == 1, required.stdout
    assert "required but cannot run: needs something this machine lacks" in required.stdout
