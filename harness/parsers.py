"""Sybil parsers: find every example in pages, docstrings and snippet programs.

Each parser yields one Sybil region per example as a reader sees it: a whole fence, a
docstring's whole ``>>>`` session, a whole snippet program. Malformed input fails at
collection with the file and line, never later and never silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from sybil import Document, Region
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer
from sybil.typing import Evaluator

from harness.evaluators import (
    CodeEvaluator,
    DoctestEvaluator,
    FigureEvaluator,
    IncludeEvaluator,
    Parsed,
    ProgramEvaluator,
    output_comment_lines,
    parse_doctest,
    program_chunks,
)
from harness.fences import (
    SNIPPET_INCLUDE,
    UNSUPPORTED_PYTHON_LANGUAGES,
    FenceBody,
    classify,
    fence_language,
    has_prompt,
    inside,
    is_python_info,
    is_session_info,
)
from harness.paths import display_path

_ANY_INFO = re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ANY_INCLUDE = re.compile(r"^[ \t>]*-{1,}8<-{1,}", re.MULTILINE)


def _line_of(document: Document, position: int) -> int:
    return document.text.count("\n", 0, position) + 1


class PythonFenceParser:
    """One region per Python fence, whatever its language spelling or attributes.

    ``python``, ``py``, ``pycon``, ``python title="x.py"`` and ``{ .python .annotate }``
    all count, and the language decides: a ``pycon`` fence is a session run as a
    doctest; a ``python`` fence that only includes snippet files is checked to include
    runnable programs; one marked ``figure="caption"`` must draw a figure; any other is
    run as plain code. Whatever a reader would see but nothing would check fails at
    collection: a fence inside an HTML comment, a ``#>`` comment in page code, a
    Markdown file included into the page, a language the harness cannot run.
    """

    def __init__(self, device: str, snippets: Path, render_figures: bool = False) -> None:
        self.lexer = RawFencedCodeBlockLexer(info_pattern=_ANY_INFO)
        self.evaluators: dict[str, Evaluator] = {
            "doctest": DoctestEvaluator(device),
            "code": CodeEvaluator(device),
            "include": IncludeEvaluator(device, snippets),
            "figure": FigureEvaluator(device, render=render_figures),
        }

    def __call__(self, document: Document) -> Iterable[Region]:
        name = display_path(document.path)
        comments = [match.span() for match in _HTML_COMMENT.finditer(document.text)]
        include_fences: list[tuple[int, int]] = []
        for region in self.lexer(document):
            info = region.lexemes["info"]
            if not is_python_info(info):
                continue
            line = _line_of(document, region.start)
            where = f"{name}:{line}"
            if inside(region.start, comments):
                raise ValueError(
                    f"{where}: a Python fence inside an HTML comment runs but readers never "
                    "see it; delete it, or move it out of the comment"
                )
            language = fence_language(info)
            if language in UNSUPPORTED_PYTHON_LANGUAGES:
                raise ValueError(
                    f"{where}: ```{language} fences are not run; write a >>> session as "
                    "```pycon and plain code as ```python"
                )
            body = classify(str(region.lexemes["source"]), info)
            if is_session_info(info) and not has_prompt(body.source):
                raise ValueError(
                    f"{where}: a pycon fence must hold a >>> session; use ```python for plain code"
                )
            if body.kind == "doctest":
                parse_doctest(body.source, document.path, line + 1)
            if body.kind in ("code", "figure"):
                if outputs := output_comment_lines(body.source):
                    raise ValueError(
                        f"{name}:{line + 1 + outputs[0]}: a '#>' comment in a page fence is "
                        "never checked; show output in a ```pycon session, or move the program "
                        "to snippets/ and include it"
                    )
                # Fail at collection, with the page line, on code that cannot even compile.
                compile("\n" * line + body.source, name, "exec")
            if body.kind == "include":
                if others := [path for path in body.includes if not path.endswith(".py")]:
                    raise ValueError(
                        f"{where}: this includes {others} into the page; only snippet programs "
                        "(.py) are run, so write Markdown in the page itself"
                    )
                include_fences.append((region.start, region.end))
            region.parsed = Parsed(body, line_offset=1)
            region.evaluator = self.evaluators[body.kind]
            yield region
        _reject_markdown_includes(document, name, include_fences)


def _reject_markdown_includes(
    document: Document, name: str, include_fences: list[tuple[int, int]]
) -> None:
    # pymdownx.snippets pastes every included file into the page before it is rendered,
    # inside any fence too. Only snippet programs (.py) are run, so an include of any
    # other file would show text or code that nothing runs.
    for match in _ANY_INCLUDE.finditer(document.text):
        if inside(match.start(), include_fences):
            continue  # IncludeEvaluator checks those name runnable programs
        line = document.text[match.start() :].split("\n", 1)[0]
        include = SNIPPET_INCLUDE.match(line)
        if include is not None and include.group("path").endswith(".py"):
            continue  # a snippet program, run by the snippets pass, shown in another fence
        raise ValueError(
            f"{name}:{_line_of(document, match.start())}: this includes a file into the "
            "page whose content nothing runs; include only snippet programs (.py), in a "
            "```python fence, and write Markdown in the page itself"
        )


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
        yield Region(
            start,
            len(text),
            Parsed(FenceBody("doctest", source), 0, prose_between_examples=True),
            self.evaluator,
        )


class ProgramParser:
    """The whole snippet file is one example: a program, its output in ``#>`` comments."""

    def __init__(self, device: str) -> None:
        self.evaluator = ProgramEvaluator(device)

    def __call__(self, document: Document) -> Iterable[Region]:
        # Parse now so that a syntax error or a stray '#>' fails collection, not the run.
        program_chunks(document.text, document.path)
        body = FenceBody("code", document.text)
        yield Region(0, len(document.text), Parsed(body, 0), self.evaluator)
