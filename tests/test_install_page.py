"""Every package a page imports is one the install page tells readers to install.

A reader sets up with docs/install.md alone, so an example importing anything else
(the standard library aside) fails for them at its first line. The check reads each
page's code as the downloads give it (sessions, code, included programs) and names the
page line of each import the install page does not cover.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

from harness.collect import ROOT
from harness.downloads import Cell, page_cells

INSTALL_PAGE = ROOT / "docs" / "install.md"
_PIP_INSTALL = re.compile(r"^pip install (?P<packages>.+)$", re.MULTILINE)
_OPTION = re.compile(r"\s--\S+(?:\s+(?!-)\S+)?")
PAGES = sorted((ROOT / "docs").rglob("*.md"))


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def listed_distributions(page: Path = INSTALL_PAGE) -> set[str]:
    """The distributions the install page's ``pip install`` commands name."""
    names = set()
    for command in _PIP_INSTALL.finditer(page.read_text(encoding="utf-8")):
        for word in _OPTION.sub("", " " + command.group("packages")).split():
            if word.endswith(".whl"):
                names.add(_normal(Path(word).name.split("-")[0]))
            else:
                names.add(_normal(re.split(r"[=<>!~\[;]", word.strip("'\""))[0]))
    return names


def importable(distributions: set[str]) -> set[str]:
    """The top-level modules those distributions provide, and the standard library's."""
    provided = {
        module
        for module, owners in importlib.metadata.packages_distributions().items()
        if any(_normal(owner) in distributions for owner in owners)
    }
    return provided | set(sys.stdlib_module_names)


def imported_modules(cells: list[Cell]) -> list[tuple[int, str]]:
    """(page line, top-level module) for each absolute import in the cells' code."""
    found = []
    for cell in cells:
        if cell.kind != "code":
            continue
        for node in ast.walk(ast.parse(cell.script)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            found += [(cell.line + node.lineno - 1, module.split(".")[0]) for module in modules]
    return found


def unlisted_imports(cells: list[Cell], page: str, allowed: set[str]) -> list[str]:
    """``page:line: imports X ...`` for each import of a module outside ``allowed``."""
    return [
        f"{page}:{line}: imports {top}, which {INSTALL_PAGE.relative_to(ROOT)} "
        "does not tell readers to install"
        for line, top in imported_modules(cells)
        if top not in allowed
    ]


def test_the_install_page_lists_pytorch_the_helper_and_the_optional_packages() -> None:
    assert listed_distributions() == {
        "torch",
        "numpy",
        "pytorch-fundamentals-tensorkit",
        "matplotlib",
        "scikit-learn",
        "tensorflow-cpu",
        "tqdm",
    }


@pytest.fixture(scope="module")
def allowed() -> set[str]:
    return importable(listed_distributions())


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_pages_import_only_what_the_install_page_lists(page: Path, allowed: set[str]) -> None:
    found = unlisted_imports(page_cells(page), str(page.relative_to(ROOT)), allowed)
    assert not found, "\n".join(found)


def test_an_import_the_install_page_does_not_list_is_named_with_its_line() -> None:
    cells = [
        Cell("markdown", "Some prose.\n"),
        Cell("code", "", 12, "import torch\nimport seaborn as sns\nfrom os import path\n"),
    ]
    allowed = importable({"torch"})
    assert unlisted_imports(cells, "docs/a.md", allowed) == [
        "docs/a.md:13: imports seaborn, which docs/install.md does not tell readers to install"
    ]
    # Its companion: what the install page lists, and the standard library, pass.
    assert (
        unlisted_imports(cells[:1] + [Cell("code", "", 1, "import torch, os\n")], "a", allowed)
        == []
    )


def shadowed_imports(cells: list[Cell], stem: str, page: str) -> list[str]:
    """``page:line`` for each import of a module the download itself would shadow.

    The script is saved as ``<stem>.py``; Python puts its folder first on ``sys.path``,
    so ``import <stem>`` there imports the script itself.
    """
    return [
        f"{page}:{line}: imports {stem}, which the page's download {stem}.py would shadow; "
        "rename the page"
        for line, top in imported_modules(cells)
        if top == stem
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_download_shadows_a_module_it_imports(page: Path) -> None:
    found = shadowed_imports(page_cells(page), page.stem, str(page.relative_to(ROOT)))
    assert not found, "\n".join(found)


def test_a_download_named_like_its_import_is_found() -> None:
    cells = [Cell("code", "", 5, "import os\nimport tensorflow as tf\n")]
    assert shadowed_imports(cells, "tensorflow", "docs/tensorflow.md") == [
        "docs/tensorflow.md:6: imports tensorflow, which the page's download tensorflow.py "
        "would shadow; rename the page"
    ]
    assert shadowed_imports(cells, "from_tensorflow", "docs/from_tensorflow.md") == []
