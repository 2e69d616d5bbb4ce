"""A throwaway project that runs this repository's harness under a real pytest."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from harness.collect import ROOT


def harness_project(tmp_path: Path, files: dict[str, str]) -> Path:
    """Copy the harness and the root conftest into ``tmp_path``, with ``files`` added.

    ``files`` maps paths such as ``docs/page.md`` to their (dedented) text.
    """
    shutil.copytree(ROOT / "harness", tmp_path / "harness")
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\ntestpaths = docs snippets\naddopts = -ra -p no:cacheprovider\n"
        "filterwarnings = error\n"
    )
    for folder in ("docs", "snippets", "tensorkit"):
        (tmp_path / folder).mkdir()
    for relative, text in files.items():
        (tmp_path / relative).write_text(textwrap.dedent(text).lstrip("\n"))
    return tmp_path
