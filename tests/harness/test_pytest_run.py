"""The harness inside a real pytest run: bad pages fail the run, naming file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.harness.projects import harness_project


def run_pytest(project: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *options],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_good_page_passes_on_cpu_and_reports_the_cuda_pass(tmp_path: Path) -> None:
    project = harness_project(
        tmp_path,
        {
            "docs/good.md": (
                "```pycon\n>>> import torch\n>>> torch.ones(2)\ntensor([1., 1.])\n```\n"
            ),
            "docs/skips.md": '<!-- skip: next "needs a dataset" -->\n```python\nx = 1\n```\n',
        },
    )
    result = run_pytest(project, "-v", "--document-order=7")  # -v undoes -q: the header shows
    assert result.returncode == 0, result.stdout
    assert "documents run in shuffled order: --document-order=7 repeats it" in result.stdout
    # good.md's session and skips.md's directive pass; the skipped fence and the cuda
    # pass (three examples, without a GPU) are skipped.
    assert "2 passed, 4 skipped" in result.stdout or "5 passed, 1 skipped" in result.stdout
    # A skip is reported naming the page, the line and the reason.
    assert "docs/skips.md:2: needs a dataset" in result.stdout


def test_bad_pages_fail_the_run_naming_file_and_line(tmp_path: Path) -> None:
    project = harness_project(
        tmp_path,
        {
            "docs/malformed.md": """
                # Malformed

                ```pycon
                >>>print(1)
                ```
                """,
            "docs/drifted.md": """
                ```pycon
                >>> import torch
                >>> torch.ones(2) * 2
                tensor([3., 3.])
                ```
                """,
            "docs/raises.md": """
                ```python
                import torch
                torch.ones(2) @ torch.ones(3)
                ```
                """,
        },
    )
    alone = run_pytest(project)
    # A page that cannot be collected stops the run by itself.
    assert alone.returncode != 0 and "error during collection" in alone.stdout
    # Going on past it shows that each kind of mistake is reported where it is.
    result = run_pytest(project, "--continue-on-collection-errors")
    assert result.returncode != 0
    assert "docs/malformed.md:4: malformed doctest lacks blank after >>>" in result.stdout
    assert 'File "docs/drifted.md", line 3' in result.stdout
    assert "docs/raises.md:3: RuntimeError" in result.stdout
