"""ruff and mypy, run by the test command: the project's code and its pages' code.

Page examples are linted as a reader would copy them (prompts and output removed), all of a
page's examples in one file in page order, since they share one namespace. Their lines
must fit the page's code width.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.collect import ROOT, pages
from harness.evaluators import Parsed
from harness.fences import runnable_code
from harness.translations import is_translation

BIN = Path(sys.executable).parent
#: Longest line of code a page shows without a scroll bar, prompt included.
PAGE_CODE_WIDTH = 79
#: Rules that do not fit sessions: a bare expression or comparison shows its value, a
#: later session may import again to stand alone, and imports follow the prose, not the
#: file's top.
SESSION_IGNORES = "B015,B018,F811,E402,E501"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied() -> None:
    result = run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_tensorkit_and_harness() -> None:
    result = run(str(BIN / "mypy"), "tensorkit", "harness")
    assert result.returncode == 0, result.stdout + result.stderr


def page_program(page: Path) -> tuple[str, list[int]]:
    """A page's example code as one program, and the page line of each program line."""
    code: list[str] = []
    origin: list[int] = []
    for example in pages("cpu").parse(page).examples():
        parsed = example.parsed
        if not isinstance(parsed, Parsed) or parsed.body.kind == "include":
            continue
        first = example.line + parsed.line_offset
        source_lines = parsed.body.source.splitlines()
        session = parsed.body.kind == "doctest"
        runnable = runnable_code(parsed.body.source, session=session).splitlines()
        # Map each runnable line back to the page line it came from, in order.
        cursor = 0
        for line in runnable:
            while cursor < len(source_lines) and line.strip() not in source_lines[cursor]:
                cursor += 1
            code.append(line)
            origin.append(first + min(cursor, len(source_lines) - 1))
    return "\n".join(code) + "\n", origin


#: English pages: a translation's code is its English page's, line for line, comments
#: aside (its item ``docs/<page>.zh.md::same examples as docs/<page>.md`` checks it).
PAGES = sorted(page for page in (ROOT / "docs").rglob("*.md") if not is_translation(page))
#: API pages hold no fences: their examples are docstrings, linted with tensorkit.
PAGES_WITH_CODE = [page for page in PAGES if page_program(page)[0].strip()]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda path: str(path.relative_to(ROOT)))
def test_page_examples_pass_ruff(page: Path, tmp_path: Path) -> None:
    program, origin = page_program(page)
    target = tmp_path / (page.stem + ".py")
    target.write_text(program, encoding="utf-8")
    result = run(
        str(BIN / "ruff"), "check", "--output-format", "json", "--isolated",
        "--select", "E,F,W,B", "--ignore", SESSION_IGNORES, str(target),
    )  # fmt: skip
    problems = [
        f"{page.relative_to(ROOT)}:{origin[item['location']['row'] - 1]}: "
        f"{item['code']} {item['message']}"
        for item in json.loads(result.stdout or "[]")
    ]
    assert not problems, "\n".join(problems)


def shown_code_lines(path: Path) -> list[tuple[int, str]]:
    """Lines of code a page shows: in Python fences and in the snippet files it includes."""
    if path.suffix == ".py":
        return list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))
    shown = []
    for example in pages("cpu").parse(path).examples():
        parsed = example.parsed
        if not isinstance(parsed, Parsed) or parsed.body.kind == "include":
            continue
        first = example.line + parsed.line_offset
        # The source as the fence shows it: the page's own indentation is already gone.
        for offset, text in enumerate(parsed.body.source.splitlines()):
            stripped = text.lstrip()
            is_output = parsed.body.kind == "doctest" and not stripped.startswith((">>>", "..."))
            if not is_output:
                shown.append((first + offset, text.rstrip()))
    return shown


SHOWN = PAGES + sorted((ROOT / "snippets").rglob("*.py"))


@pytest.mark.parametrize("path", SHOWN, ids=lambda path: str(path.relative_to(ROOT)))
def test_shown_code_fits_the_page(path: Path) -> None:
    wide = [
        f"{path.relative_to(ROOT)}:{number}: {len(text)} > {PAGE_CODE_WIDTH}: {text}"
        for number, text in shown_code_lines(path)
        if len(text) > PAGE_CODE_WIDTH
    ]
    assert not wide, "\n".join(wide)
