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


@pytest.fixture(scope="session")
def zensical_site(site: Path) -> Path:
    """The site built as ``make site BUILDER=zensical`` builds it, after the mkdocs build."""
    # Zensical builds only inside its project: the folder of its config.
    out = ROOT / "build" / "zensical-site"
    # Zensical has no --site-dir: a config of its own, in the checkout so that every
    # relative path resolves as in zensical.yml, inherits everything else.
    config = ROOT / ".zensical-test.yml"
    config.write_text("INHERIT: zensical.yml\nsite_dir: build/zensical-site\n")
    result = subprocess.run(
        [sys.executable, "-m", "zensical", "build", "--strict", "--clean", "-f", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out
