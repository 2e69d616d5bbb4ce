"""No example escapes the harness, and no page goes untested.

The harness's own parser decides what it collects; this test finds Python in pages by a
separate, deliberately looser scan, so a fence the harness's rules miss is caught here.
"""

from __future__ import annotations

import inspect
import pydoc
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from sybil import Document

from harness.collect import ROOT, pages
from harness.evaluators import Parsed
from harness.fences import has_prompt

PAGES = sorted((ROOT / "docs").rglob("*.md"))
_FENCE = re.compile(r"^(?P<indent>[ \t>]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
#: Looser than the harness: any info string mentioning py, python, pycon or ipython.
_PYTHONISH = re.compile(r"(?i)(?<![a-z])(?:i?py\w*|\w*python\w*)")
_API_DIRECTIVE = re.compile(r"^:::[ \t]+(?P<object>[\w.]+)", re.MULTILINE)


@dataclass(frozen=True)
class ScannedFence:
    opening: int  # 1-based line of the opening fence
    closing: int
    info: str


def scan_fences(text: str) -> list[ScannedFence]:
    """All fenced blocks, found line by line, independently of Sybil's lexer."""
    found = []
    open_fence: tuple[int, str, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _FENCE.match(line)
        if match is None:
            continue
        if open_fence is None:
            open_fence = (number, match.group("fence"), match.group("info").strip())
        elif match.group("fence")[0] == open_fence[1][0] and not match.group("info").strip():
            if len(match.group("fence")) >= len(open_fence[1]):
                found.append(ScannedFence(open_fence[0], number, open_fence[2]))
                open_fence = None
    assert open_fence is None, f"unclosed fence at line {open_fence[0]}"
    return found


def collected(document: Document) -> dict[int, Parsed]:
    """Regions the harness runs, by the line they start on."""
    lines = {}
    for example in document.examples():
        if isinstance(example.parsed, Parsed):
            lines[example.line] = example.parsed
    return lines


def skipped(document: Document) -> set[int]:
    """Start lines of examples that a skip directive covers."""
    result, skipping, once = set(), False, False
    for example in document.examples():
        if not isinstance(example.parsed, Parsed):
            action = example.parsed[0]
            skipping, once = action in ("next", "start"), action == "next"
            continue
        if skipping:
            result.add(example.line)
            skipping = not once
    return result


def docstring_sessions(dotted: str) -> int:
    """How many docstrings of an API object (and of a class's or module's members) hold a
    >>> session: the examples that a ``::: object`` directive puts on a page."""
    target = pydoc.locate(dotted)
    assert target is not None, f"'::: {dotted}' names nothing importable"
    docs = [inspect.getdoc(target) or ""]
    if inspect.isclass(target) or inspect.ismodule(target):
        docs += [
            inspect.getdoc(member) or ""
            for _, member in inspect.getmembers(target)
            if (getattr(member, "__module__", None) or "").startswith("tensorkit")
        ]
    return sum(has_prompt(doc) for doc in docs)


def missed_fences(document: Document) -> list[str]:
    """Python-looking fences that the harness did not collect."""
    runs = collected(document)
    return [
        f"{document.path}:{fence.opening}: ```{fence.info}"
        for fence in scan_fences(document.text)
        if _PYTHONISH.search(fence.info) and fence.opening not in runs
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_python_fence_is_collected(page: Path) -> None:
    missed = missed_fences(pages("cpu").parse(page))
    assert not missed, "Python fences the harness does not run:\n" + "\n".join(missed)


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_prompt_is_inside_a_collected_fence(page: Path) -> None:
    document = pages("cpu").parse(page)
    spans = [
        (fence.opening, fence.closing)
        for fence in scan_fences(document.text)
        if fence.opening in collected(document)
    ]
    stray = [
        f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in enumerate(document.text.splitlines(), start=1)
        if line.lstrip(" \t>").startswith(">>>")
        and not any(start < number < end for start, end in spans)
    ]
    assert not stray, ">>> lines outside any tested fence:\n" + "\n".join(stray)


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_page_has_a_tested_example(page: Path) -> None:
    document = pages("cpu").parse(page)
    tested = set(collected(document)) - skipped(document)
    directives = _API_DIRECTIVE.finditer(document.text)
    from_api = sum(docstring_sessions(match.group("object")) for match in directives)
    assert tested or from_api, f"{page.relative_to(ROOT)} has no example that the tests run"


def test_the_scan_finds_what_the_harness_must_handle() -> None:
    text = "\n".join(
        [
            "```python",
            "x = 1",
            "```",
            '```py title="a.py" linenums="1"',
            "x = 1",
            "```",
            "``` { .python .annotate }",
            "x = 1",
            "```",
            "    ```pycon",
            "    >>> 1",
            "    1",
            "    ```",
            "~~~python3",
            "x = 1",
            "~~~",
            "```text",
            "not python",
            "```",
        ]
    )
    infos = [fence.info for fence in scan_fences(text) if _PYTHONISH.search(fence.info)]
    assert len(infos) == 5


def test_a_fence_the_harness_cannot_read_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "odd.md"
    # "pyodide" looks like Python to the scan, but is not a language the harness runs.
    page.write_text("```pyodide\nx = 1\n```\n", encoding="utf-8")
    document = pages("cpu", tmp_path).parse(page)
    assert missed_fences(document) == [f"{page}:1: ```pyodide"]
