"""The suite on a plain clone: with no `../shared` beside the project, every test that needs the
reference data skips and says why; none fails, and no parametrized test collects an empty set.

The corpus tests are copied into a temporary project (tests/ only, nothing beside it) and run
there by a real pytest process against this checkout's sources.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from shared_data import REPO_ROOT


def test_corpus_tests_skip_with_reasons_without_reference_data(tmp_path: Path) -> None:
    project = tmp_path / "clone"
    tests = project / "tests"
    shutil.copytree(REPO_ROOT / "tests" / "corpus", tests / "corpus")
    for name in ("conftest.py", "shared_data.py", "bmf_support.py"):
        shutil.copy(REPO_ROOT / "tests" / name, tests / name)
    assert not (tmp_path / "shared").exists()
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'src'}{os.pathsep}{tests}"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tests)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert " failed" not in out and " error" not in out, out
    assert "empty parameter set" not in out, out
    assert "skipped" in out, out
    # Every skip names the missing reference data.
    skips = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert skips, out
    assert all("reference data" in line or "gcc" in line for line in skips), skips
