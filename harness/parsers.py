"""Sybil parsers: find every example in pages, docstrings and snippet programs.

Each parser yields one Sybil region per example as a reader sees it: a whole fence, a
docstring's whole ``>>>`` session, a whole snippet program. Malformed input fails at
collection with the file and line, never later and never silently.
"""

from __future__ import annotations

import re
import unittest
from collections.abc import Iterable
from pathlib import Path

from sybil import Document, Example, Region
from sybil.evaluators.skip import If, Skipper, SkipState
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer
from sybil.parsers.markdown.skip import SkipParser
from sybil.typing import Evaluator

from harness.evaluators import (
    CodeEvaluator,
    DoctestEvaluator,
    FigureEvaluator,
    IncludeEvaluator,
    Parsed,
    ProgramEvaluator,
    display_path,
    parse_doctest,
    program_chunks,
)
from harness.fences import FenceBody, classify, fence_spans, has_prompt, inside, is_python_info

_ANY_INFO = re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE)


def _line_of(document: Document, position: int) -> int:
    return document.text.count("\n", 0, position) + 1


class PythonFenceParser:
    """One region per Python fence, whatever its language spelling or attributes.

    ``python``, ``py``, ``pycon``, ``python title="x.py"`` and ``{ .python .annotate }``
    all count. A fence holding a ``>>>`` session is run as a doctest; one that only
    includes snippet files is checked to include runnable programs; one marked
    ``figure="caption"`` must draw a figure; any other is run as plain code.
    """

    def __init__(self, device: str, snippets: Path, render_figures: bool = False) -> None:
        self.lexer = RawFencedCodeBlockLexer(info_pattern=_ANY_INFO)
        self.evaluators: dict[str, Evaluator] = {
            "doctest": DoctestEvaluator(device),
            "code": CodeEvaluator(device),
            "include": IncludeEvaluator(snippets),
            "figure": FigureEvaluator(device, render=render_figures),
        }

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in self.lexer(document):
            info = region.lexemes["info"]
            if not is_python_info(info):
                continue
            line = _line_of(document, region.start)
            body = classify(str(region.lexemes["source"]), info)
            if info.strip().lower().startswith("pycon") and body.kind == "code":
                raise ValueError(
                    f"{display_path(document.path)}:{line}: a pycon fence must hold a >>> "
                    "session; use ```python for plain code"
                )
            if body.kind == "doctest":
                parse_doctest(body.source, document.path, line + 1)
            if body.kind in ("code", "figure"):
                # Fail at collection, with the page line, on code that cannot even compile.
                compile("\n" * line + body.source, display_path(document.path), "exec")
            region.parsed = Parsed(body, line_offset=1)
            region.evaluator = self.evaluators[body.kind]
            yield region


class DocstringSessionParser:
    """One region per docstring that holds a ``>>>`` session (the Examples section)."""

    def __init__(self, device: str) -> None:
        self.evaluator = DoctestEvaluator(device)

    def __call__(self, document: Document) -> Iterable[Region]:
        text = document.text
        if not has_prompt(text):
            return
        first_prompt = re.search(r"^[ \t]*>>>", text, re.MULTILINE)
        assert first_prompt is not None  # has_prompt found one
        start = first_prompt.start()
        source = text[start:]
        # No parse-time check here: this document is the docstring alone, so its line
        # numbers are not the file's. The evaluator reports a malformed session with the
        # file's line instead.
        yield Region(start, len(text), Parsed(FenceBody("doctest", source), 0), self.evaluator)


class ProgramParser:
    """The whole snippet file is one example: a program, its output in ``#>`` comments."""

    def __init__(self, device: str) -> None:
        self.evaluator = ProgramEvaluator(device)

    def __call__(self, document: Document) -> Iterable[Region]:
        # Parse now so that a syntax error or a stray '#>' fails collection, not the run.
        program_chunks(document.text, document.path)
        body = FenceBody("code", document.text)
        yield Region(0, len(document.text), Parsed(body, 0), self.evaluator)


class PassSkipper(Skipper):
    """Sybil's skipper, with the pass's device available to ``if(...)`` conditions."""

    def __init__(self, directive: str, device: str) -> None:
        super().__init__(directive)
        self.device = device

    def install(self, example: Example, state: SkipState, reason: str | None) -> None:
        # As Sybil's own install, but the condition also sees `device`; the document's
        # namespace, which readers' code shares, is not touched.
        example.document.push_evaluator(self)
        if not reason:
            return
        namespace = {**example.document.namespace, "device": self.device}
        reason = reason.lstrip()
        if reason.startswith("if"):
            namespace["if_"] = If(reason[2:])
            reason = "if_" + reason[2:]
        result = eval(reason, namespace)
        if result:
            state.exception = unittest.SkipTest(result)
        else:
            state.active = False


class ReasonedSkipParser(SkipParser):
    """Sybil's ``<!-- skip: next "reason" -->``, with the reason required.

    A skipped example is one nobody tests, so the page must say why; the site shows the
    reason to readers (see :mod:`harness.mkdocs_hooks`). A skip for one pass only names
    the pass's ``device`` in its condition:
    ``<!-- skip: next if(device == "cuda", reason="...") -->``.
    """

    def __init__(self, device: str) -> None:
        super().__init__()
        self.skipper = PassSkipper(self.directive, device)

    def __call__(self, document: Document) -> Iterable[Region]:
        fenced = fence_spans(document.text)
        for region in super().__call__(document):
            if inside(region.start, fenced):
                continue  # shown in a code block as an illustration, not a directive
            action, reason = region.parsed
            if action in ("start", "next") and not _has_reason(reason):
                raise ValueError(
                    f"{display_path(document.path)}:{_line_of(document, region.start)}: "
                    f"'skip: {action}' needs a reason, e.g. skip: {action} \"needs a GPU\" "
                    f'or skip: {action} if(device == "cuda", reason="...")'
                )
            yield region


def _has_reason(reason: str | None) -> bool:
    if not reason or not reason.strip():
        return False
    if reason.lstrip().startswith("if"):
        return re.search(r"\breason\s*=\s*['\"]\s*[^'\"\s]", reason) is not None
    return True
