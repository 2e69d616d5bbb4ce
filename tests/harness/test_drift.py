"""A changed expected output must fail: every one, in every page and snippet program.

Each test takes a copy of the site, changes one expected output, and runs the copied
document through the harness. It must fail, and the failure must name the line of the
example whose output changed. Together they prove that no output on the site is shown
without being checked.
"""

from __future__ import annotations

import doctest
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sybil import Sybil

from harness.collect import ROOT, pages, run_document, snippets
from harness.evaluators import Parsed
from harness.fences import OUTPUT_COMMENT


@dataclass(frozen=True)
class Mutation:
    """Change line ``line`` (1-based) of ``relative``; expect a failure naming ``reported``."""

    relative: str
    line: int
    reported: int

    def __str__(self) -> str:
        return f"{self.relative}:{self.line}"


def _changed(line: str) -> str:
    # Bump the first digit so numbers really differ; text without digits gets a suffix.
    digit = re.search(r"\d", line)
    if digit is None:
        return line + " (changed)"
    bumped = str((int(digit.group()) + 1) % 10)
    return line[: digit.start()] + bumped + line[digit.end() :]


def page_mutations() -> list[Mutation]:
    found = []
    sybil = pages("cpu")
    for path in sorted((ROOT / "docs").rglob("*.md")):
        relative = str(path.relative_to(ROOT))
        for example in sybil.parse(path).examples():
            parsed = example.parsed
            if not isinstance(parsed, Parsed) or parsed.body.kind != "doctest":
                continue
            first_line = example.line + parsed.line_offset
            for session in doctest.DocTestParser().get_examples(parsed.body.source):
                if not session.want:
                    continue
                source_line = first_line + session.lineno
                last_want_line = (
                    source_line + session.source.count("\n") + session.want.count("\n") - 1
                )
                found.append(Mutation(relative, last_want_line, source_line))
    return found


def snippet_mutations() -> list[Mutation]:
    found = []
    for path in sorted((ROOT / "snippets").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        lines = path.read_text(encoding="utf-8").splitlines()
        block_start = None
        for number, text in enumerate(lines, start=1):
            if OUTPUT_COMMENT.match(text):
                block_start = block_start or number
                found.append(Mutation(relative, number, block_start))
            else:
                block_start = None
    return found


@pytest.fixture(scope="module")
def site_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("site")
    for folder in ("docs", "snippets"):
        shutil.copytree(ROOT / folder, copy / folder)
    return copy


def mutate(site_copy: Path, mutation: Mutation) -> Path:
    original = (ROOT / mutation.relative).read_text(encoding="utf-8").splitlines(keepends=True)
    changed = list(original)
    text = changed[mutation.line - 1]
    changed[mutation.line - 1] = _changed(text.rstrip("\n")) + "\n"
    assert changed != original, f"{mutation}: the mutation changed nothing"
    target = site_copy / mutation.relative
    target.write_text("".join(changed), encoding="utf-8")
    return target


def restore(site_copy: Path, mutation: Mutation) -> None:
    shutil.copyfile(ROOT / mutation.relative, site_copy / mutation.relative)


def test_there_are_outputs_to_mutate() -> None:
    assert len(page_mutations()) >= 20 and len(snippet_mutations()) >= 5


def failures_after(site_copy: Path, mutation: Mutation, sybil: Sybil) -> list[str]:
    """Run the mutated copy of one document; return its failure messages."""
    path = mutate(site_copy, mutation)
    try:
        return [str(error) for _, error in run_document(sybil, path) if error is not None]
    finally:
        restore(site_copy, mutation)


@pytest.mark.parametrize("mutation", page_mutations(), ids=str)
def test_changed_page_output_fails_at_its_example(site_copy: Path, mutation: Mutation) -> None:
    errors = failures_after(site_copy, mutation, pages("cpu", site_copy))
    assert errors, f"{mutation}: changing this output did not fail the page"
    assert f"line {mutation.reported}" in errors[0]


@pytest.mark.parametrize("mutation", snippet_mutations(), ids=str)
def test_changed_snippet_output_fails_at_its_block(site_copy: Path, mutation: Mutation) -> None:
    errors = failures_after(site_copy, mutation, snippets("cpu", site_copy))
    assert errors, f"{mutation}: changing this output did not fail the program"
    assert f"{site_copy / mutation.relative}:{mutation.reported}:" in errors[0]
