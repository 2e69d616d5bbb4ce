"""Copy-and-run: each page's examples, as a reader copies them, run in a fresh interpreter.

The script is the one the site offers for download (harness/downloads.py): every copy
button's text in page order. It runs with no harness around it: no cuda pass, no seeding,
no warning filters; only matplotlib is told there is no screen.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.collect import ROOT
from harness.downloads import page_blocks, page_script

pytestmark = pytest.mark.site

PAGES = [
    page
    for page in sorted((ROOT / "docs").rglob("*.md"))
    if any(block.code for block in page_blocks(page))
]


def run_script(page: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    script = folder / f"{page.stem}.py"
    script.write_text(page_script(page), encoding="utf-8")
    environment = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=folder,
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )


@pytest.fixture(scope="module")
def results(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[Path, subprocess.CompletedProcess[str]]:
    folders = {page: tmp_path_factory.mktemp(page.stem) for page in PAGES}
    # Two at a time: each is a fresh interpreter that imports torch.
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda page: run_script(page, folders[page]), PAGES)
        return dict(zip(PAGES, runs, strict=True))


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_copied_examples_run_in_a_fresh_interpreter(
    page: Path, results: dict[Path, subprocess.CompletedProcess[str]]
) -> None:
    result = results[page]
    assert result.returncode == 0, f"{page.relative_to(ROOT)}:\n{result.stderr[-3000:]}"
