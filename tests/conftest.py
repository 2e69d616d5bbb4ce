"""Fixtures shared by the test folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.collect import ROOT


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once per test run with ``mkdocs build --strict``, as CI builds it."""
    out = tmp_path_factory.mktemp("site")
    # The downloads are written into docs/ first, as `make site` does.
    subprocess.run([sys.executable, "-m", "harness.site_files"], cwd=ROOT, check=True)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return out
