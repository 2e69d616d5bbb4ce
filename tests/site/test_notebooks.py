"""Each page's downloaded notebook, run top to bottom in Jupyter, shows what it stores.

The notebooks are the built site's own (``<page>.ipynb`` beside each page). Each one runs
in a kernel of its own (tests/site/notebook_run.py), and every code cell's outputs must
be the ones stored in it, which are the page's: a difference names the page line.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from harness.collect import ROOT
from tests.site.notebook_run import differences, execute
from tests.site.test_copy_and_run import PAGES, script_of

pytestmark = pytest.mark.site


def notebook_of(site: Path, page: Path) -> Path:
    return script_of(site, page).with_suffix(".ipynb")


@pytest.fixture(scope="module")
def executed(site: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Any]:
    folders = {notebook_of(site, page): tmp_path_factory.mktemp(page.stem) for page in PAGES}
    ran = execute(folders, workers=2)
    return {page: ran[notebook_of(site, page)] for page in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_notebook_runs_and_shows_its_stored_outputs(
    page: Path, site: Path, executed: dict[Path, Any]
) -> None:
    result = executed[page]
    assert not isinstance(result, Exception), f"{page.relative_to(ROOT)}: {result}"
    stored = json.loads(notebook_of(site, page).read_text(encoding="utf-8"))
    found = differences(stored, result)
    assert not found, "\n".join(found)


def _notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _code(source: str, outputs: list[dict[str, Any]], line: int) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "id": f"c{line}",
        "execution_count": None,
        "metadata": {"page_line": f"docs/a.md:{line}"},
        "outputs": outputs,
        "source": source,
    }


def test_a_stored_output_the_code_does_not_compute_names_the_page_line() -> None:
    stored = _notebook(
        [
            _code(
                "1 + 1",
                [
                    {
                        "output_type": "execute_result",
                        "execution_count": None,
                        "metadata": {},
                        "data": {"text/plain": "2"},
                    }
                ],
                3,
            ),
            _code("print(1 + 2)", [{"output_type": "stream", "name": "stdout", "text": "4\n"}], 7),
        ]
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "a.ipynb")
        path.write_text(json.dumps(stored), encoding="utf-8")
        result = execute({path: Path(folder)}, workers=1)[path]
    assert differences(stored, result) == [
        "docs/a.md:7: printed to stdout differs:\n  stored: '4\\n'\n  ran:    '3\\n'"
    ]
