"""A page's examples as one runnable script and as a notebook, generated from the page.

What a reader downloads is what the copy buttons copy, in page order: sessions without
prompts or output, plain code, included programs, figure code. A statement the page shows
raising is wrapped so that the script goes on, printing the error the page shows. Examples
the tests skip everywhere are left out, with their reason. The copy-and-run test runs the
same script in a fresh interpreter, so a download that does not run fails the tests.
"""

from __future__ import annotations

import doctest
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.collect import ROOT, pages
from harness.fences import runnable_code, strip_directives
from harness.skips import SkipDirective

_TITLE = re.compile(r"^#\s+(?P<title>.+)$", re.MULTILINE)
_EXCEPTION_NAME = re.compile(r"^(?P<name>[\w.]+)(?::|$)")


@dataclass(frozen=True)
class Block:
    """One example as a reader runs it."""

    line: int  # the page line of the fence
    code: str
    #: Why the tests never run it, for examples that are left out.
    skipped_because: str = ""


def _expected_exception(session: doctest.Example) -> str:
    match = _EXCEPTION_NAME.match(session.exc_msg or "")
    return match.group("name") if match else "Exception"


def _session_code(source: str) -> str:
    parts = []
    for session in doctest.DocTestParser().get_examples(source):
        code = strip_directives(session.source)
        if session.exc_msg is None:
            parts.append(code)
            continue
        name = _expected_exception(session)
        parts.append(
            f"try:\n{textwrap.indent(code, '    ')}"
            f"except {name} as error:  # the page shows this error\n"
            f'    print("{name}:", error)\n'
        )
    return "".join(parts)


def _skip_reason(directive: SkipDirective) -> str | None:
    """Why the next example is left out of a download, which a reader runs on the CPU."""
    if directive.action != "next" or not directive.applies_to("cpu"):
        return None
    return directive.reason


def page_blocks(page: Path) -> list[Block]:
    """The page's examples in order, as code a reader runs."""
    blocks: list[Block] = []
    skip_next: str | None = None
    for example in pages("cpu").parse(page).examples():
        parsed = example.parsed
        if isinstance(parsed, SkipDirective):
            skip_next = _skip_reason(parsed)
            continue
        body = parsed.body
        if skip_next is not None:
            blocks.append(Block(example.line, "", skipped_because=skip_next))
            skip_next = None
        elif body.kind == "include":
            programs = [
                (ROOT / "snippets" / path).read_text(encoding="utf-8") for path in body.includes
            ]
            code = "".join(runnable_code(program, session=False) for program in programs)
            blocks.append(Block(example.line, code))
        elif body.kind == "doctest":
            blocks.append(Block(example.line, _session_code(body.source)))
        else:
            blocks.append(Block(example.line, runnable_code(body.source, session=False)))
    return blocks


def page_title(page: Path) -> str:
    match = _TITLE.search(page.read_text(encoding="utf-8"))
    return match.group("title").strip() if match else page.stem


def page_script(page: Path, blocks: list[Block] | None = None) -> str:
    """The page's examples as one Python script; ``blocks`` if already read from it."""
    relative = page.relative_to(ROOT / "docs")
    lines = [
        f"# {page_title(page)}",
        f"# Every example of docs/{relative}, in page order, as the copy buttons copy them.",
        "",
    ]
    for block in page_blocks(page) if blocks is None else blocks:
        if block.skipped_because:
            lines.append(
                f"# (line {block.line}: left out, as in the tests: {block.skipped_because})"
            )
        else:
            lines.append(f"# docs/{relative}, line {block.line}")
            lines.append(block.code.rstrip("\n"))
        lines.append("")
    return "\n".join(lines)


def page_notebook(page: Path, blocks: list[Block] | None = None) -> dict[str, Any]:
    """The page's examples as a Jupyter notebook (nbformat 4), one cell per example."""

    def cell(kind: str, text: str) -> dict[str, Any]:
        source = text.rstrip("\n").splitlines(keepends=True)
        if kind == "markdown":
            return {"cell_type": "markdown", "metadata": {}, "source": source}
        return {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": source,
        }

    relative = page.relative_to(ROOT / "docs")
    cells = [cell("markdown", f"# {page_title(page)}\n\nThe examples of `docs/{relative}`.")]
    for block in page_blocks(page) if blocks is None else blocks:
        if block.skipped_because:
            cells.append(cell("markdown", f"*Left out, as in the tests:* {block.skipped_because}"))
        else:
            cells.append(cell("code", block.code))
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_json(page: Path, blocks: list[Block] | None = None) -> str:
    return json.dumps(page_notebook(page, blocks), indent=1, ensure_ascii=False) + "\n"
