"""Run one example on one device and say how its output differs from the page.

An evaluator returns ``None`` when the example printed what the page shows, and a report
naming the file and line otherwise; Sybil turns that report into a test failure.
Exceptions an example raises unexpectedly propagate with tracebacks that point at the page
or snippet line, because the code is compiled under that file's name and line numbers.
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

from sybil import Document, Example
from sybil.evaluators.doctest import DocTest

from harness.checker import TensorOutputChecker
from harness.devices import device_pass
from harness.fences import OUTPUT_COMMENT, FenceBody, output_comment_text
from harness.figures import capture_figures
from harness.isolation import run_example, unseeded_draw
from harness.paths import display_path as display_path  # re-exported for the parsers


@dataclass(frozen=True)
class Parsed:
    """What a parser hands an evaluator: the body and where its first line sits.

    ``line_offset`` is the number of lines between the region's first line (which Sybil
    knows as ``example.line``) and the first line of ``body.source``: 1 for a fence, whose
    opening line comes first, 0 for a docstring session or a whole program.
    """

    body: FenceBody
    line_offset: int
    #: A docstring's Examples section may hold prose between its examples, which
    #: mkdocstrings shows as text; a page's ``pycon`` fence may not.
    prose_between_examples: bool = False


_DOCTEST_ERROR_LINE = re.compile(r"^line (\d+) of the docstring for \S+")

#: The doctest directives a session may use: none hides a value or skips an example.
ALLOWED_DIRECTIVES = frozenset({"NORMALIZE_WHITESPACE", "REPORT_NDIFF", "REPORT_UDIFF"})
_DIRECTIVE_NAMES = {flag: name for name, flag in doctest.OPTIONFLAGS_BY_NAME.items()}


def output_comment_lines(code: str) -> list[int]:
    """The 0-based lines of ``code`` that hold a ``#>`` comment (a program's output)."""
    readline = io.StringIO(code).readline
    try:
        return [
            token.start[0] - 1
            for token in tokenize.generate_tokens(readline)
            if token.type == tokenize.COMMENT and token.string.startswith("#>")
        ]
    except (tokenize.TokenError, SyntaxError):
        return []  # code that does not tokenize fails to compile, with its own message


def _session_lines(session: doctest.Example) -> range:
    shown = session.source.count("\n") + session.want.count("\n")
    return range(session.lineno, session.lineno + shown)


def _check_session(
    examples: list[doctest.Example], source: str, name: str, first: int, prose: bool
) -> None:
    # Every line a reader sees as code or output must be code or output doctest compares.
    covered = {line for session in examples for line in _session_lines(session)}
    for number, text in enumerate(source.splitlines()):
        if not prose and text.strip() and number not in covered:
            raise ValueError(
                f"{name}:{first + number}: this line is shown but belongs to no example, so "
                f"nothing checks it: {text.strip()!r}. Put output directly under its >>> "
                "line (an empty output line is written <BLANKLINE>), prose outside the fence"
            )
    for session in examples:
        at = f"{name}:{first + session.lineno}"
        for flag in session.options:
            directive = _DIRECTIVE_NAMES.get(flag, str(flag))
            if directive not in ALLOWED_DIRECTIVES:
                raise ValueError(
                    f"{at}: '# doctest: +{directive}' is not allowed: it would hide what the "
                    f"code prints. Allowed: {', '.join(sorted(ALLOWED_DIRECTIVES))}; show the "
                    "whole output instead"
                )
        if comments := output_comment_lines(session.source):
            raise ValueError(
                f"{name}:{first + session.lineno + comments[0]}: a '#>' comment in a session "
                "is never checked; show output under the >>> line instead"
            )
        if session.exc_msg is not None:
            lines = session.want.splitlines()
            stack = lines[1 : len(lines) - len(session.exc_msg.splitlines())]
            for offset, text in enumerate(stack, start=1):
                if text.strip() != "...":
                    line = first + session.lineno + session.source.count("\n") + offset
                    raise ValueError(
                        f"{name}:{line}: doctest ignores traceback lines, so this one is "
                        f"never checked: {text.strip()!r}. Write the traceback as "
                        "'Traceback (most recent call last):', '  ...' and the error line"
                    )


def parse_doctest(
    source: str, path: str, first_line: int, prose_between_examples: bool = False
) -> list[doctest.Example]:
    """Split a session into doctest examples; check that it shows nothing unchecked.

    Raises ValueError naming the file and line for a malformed session, a line that
    belongs to no example, a forbidden directive, a ``#>`` comment or a traceback line
    doctest would not compare.
    """
    name = display_path(path)
    try:
        examples = doctest.DocTestParser().get_examples(source, name)
    except ValueError as error:
        # doctest counts lines from the start of the session; say where that is in the file.
        message = str(error)
        match = _DOCTEST_ERROR_LINE.match(message)
        line = first_line + int(match.group(1)) - 1 if match else first_line
        detail = message[match.end() :].lstrip() if match else message
        raise ValueError(f"{name}:{line}: malformed doctest {detail}") from None
    _check_session(examples, source, name, first_line, prose_between_examples)
    return examples


@dataclass(frozen=True)
class Outcome:
    """What one expected output was compared with, kept for the update mode.

    ``first_line`` is the file line where the output is expected: for a session example,
    the line after its code; for a program's output block, the block's first line.
    ``got`` is None when the example raised unexpectedly (nothing to write down).
    """

    path: str
    first_line: int
    want: str
    got: str | None
    matched: bool
    #: The example expects an exception: its traceback is written by hand, not updated.
    expects_exception: bool = False


class _Runner(doctest.DocTestRunner):
    def __init__(self, device: str) -> None:
        # Keep the report flags a pytest run may have set (e.g. REPORT_NDIFF).
        flags = doctest.set_unittest_reportflags(0)
        doctest.set_unittest_reportflags(flags)
        super().__init__(verbose=False, optionflags=flags, checker=TensorOutputChecker(device))
        self.outcomes: list[tuple[doctest.Example, str | None, bool]] = []
        #: Where the session runs, to name the statement that drew random numbers unseeded.
        self.document: Document | None = None
        self.name = ""
        self.first_line = 0
        self.problems: list[str] = []

    def _ran(self, example: doctest.Example) -> None:
        if self.document is not None:
            where = f"{self.name}:{self.first_line + example.lineno}"
            if unseeded := unseeded_draw(self.document, where):
                self.problems.append(unseeded)

    def report_success(self, out: Any, test: Any, example: doctest.Example, got: str) -> None:
        self.outcomes.append((example, got, True))
        self._ran(example)
        super().report_success(out, test, example, got)

    def report_failure(self, out: Any, test: Any, example: doctest.Example, got: str) -> None:
        self.outcomes.append((example, got, False))
        self._ran(example)
        super().report_failure(out, test, example, got)

    def report_unexpected_exception(
        self, out: Any, test: Any, example: doctest.Example, exc_info: Any
    ) -> None:
        self.outcomes.append((example, None, False))
        self._ran(example)
        super().report_unexpected_exception(out, test, example, exc_info)


class DoctestEvaluator:
    """Run a ``>>>`` session in the document's namespace and compare every output.

    After each call, :attr:`outcomes` holds every example's output as compared.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.runner = _Runner(device)
        self.outcomes: list[Outcome] = []

    def __call__(self, example: Example) -> str | None:
        return run_example(example, self.device, self._evaluate)

    def _evaluate(self, example: Example) -> str | None:
        parsed: Parsed = example.parsed
        first_line = example.line + parsed.line_offset
        examples = parse_doctest(
            parsed.body.source, example.path, first_line, parsed.prose_between_examples
        )
        name = display_path(example.path)
        # Sybil's DocTest runs in the namespace itself instead of a copy, so names defined
        # by one example are there for the next, as in a reader's session.
        test = DocTest(examples, example.namespace, name, name, first_line - 1, None)
        report: list[str] = []
        self.runner.outcomes, self.runner.problems = [], []
        self.runner.document, self.runner.name = example.document, name
        self.runner.first_line = first_line
        with device_pass(self.device):
            result = self.runner.run(test, out=report.append, clear_globs=False)
        self.outcomes = [
            Outcome(
                path=example.path,
                first_line=first_line + session.lineno + session.source.count("\n"),
                want=session.want,
                got=got,
                matched=matched,
                expects_exception=session.exc_msg is not None,
            )
            for session, got, matched in self.runner.outcomes
        ]
        if self.runner.problems:
            report += [problem + "\n" for problem in self.runner.problems]
        return "".join(report) if result.failed or self.runner.problems else None

    def __repr__(self) -> str:
        return f"<DoctestEvaluator {self.device}>"


class CodeEvaluator:
    """Run a plain code fence; it must not print, since the page shows no output for it."""

    def __init__(self, device: str) -> None:
        self.device = device

    def __call__(self, example: Example) -> str | None:
        return run_example(example, self.device, self._evaluate)

    def _evaluate(self, example: Example) -> str | None:
        parsed: Parsed = example.parsed
        first_line = example.line + parsed.line_offset
        code = _compile(parsed.body.source, example.path, first_line)
        printed = run_printing(code, example.namespace, self.device)
        if printed:
            return (
                f"{display_path(example.path)}:{first_line}: this code printed output that "
                f"the page does not show:\n{printed}\n"
                "Write it as a >>> session (```pycon) so that the output is shown and checked."
            )
        return None

    def __repr__(self) -> str:
        return f"<CodeEvaluator {self.device}>"


class FigureEvaluator:
    """Run a figure fence in the page's namespace; it must draw, and must not print.

    The figures each fence drew are kept in :attr:`drawn`, by file and fence line, for
    the site build to show (see :func:`harness.collect.draw_page_figures`).
    """

    def __init__(self, device: str, render: bool = False) -> None:
        self.device = device
        #: Whether to keep each figure as SVG (for the site), or only check it was drawn.
        self.render = render
        self.drawn: dict[tuple[str, int], list[str]] = {}

    def __call__(self, example: Example) -> str | None:
        return run_example(example, self.device, self._evaluate)

    def _evaluate(self, example: Example) -> str | None:
        parsed: Parsed = example.parsed
        first_line = example.line + parsed.line_offset
        code = _compile(parsed.body.source, example.path, first_line)
        with device_pass(self.device):
            figures, printed = capture_figures(code, example.namespace, self.render)
        where = f"{display_path(example.path)}:{first_line}"
        if printed:
            return f"{where}: this figure's code printed output the page does not show:\n{printed}"
        if not figures:
            return f"{where}: a figure fence must draw a matplotlib figure; this one drew none"
        self.drawn[(example.path, example.line)] = figures
        return None

    def __repr__(self) -> str:
        return f"<FigureEvaluator {self.device}>"


class IncludeEvaluator:
    """Check that a fence's ``--8<--`` includes name snippet programs the harness runs."""

    def __init__(self, device: str, snippets: Path) -> None:
        self.device = device
        self.snippets = snippets

    def __call__(self, example: Example) -> str | None:
        return run_example(example, self.device, self._evaluate)

    def _evaluate(self, example: Example) -> str | None:
        parsed: Parsed = example.parsed
        missing = [
            include
            for include in parsed.body.includes
            if not (include.endswith(".py") and (self.snippets / include).is_file())
        ]
        if missing:
            return (
                f"{display_path(example.path)}:{example.line}: included file(s) {missing} "
                f"are not Python programs under {display_path(str(self.snippets))}/, "
                "so nothing runs them"
            )
        return None


def run_printing(code: CodeType, namespace: dict[str, Any], device: str) -> str:
    """Execute compiled example code in the pass's device and return what it printed."""
    printed = io.StringIO()
    with device_pass(device), contextlib.redirect_stdout(printed):
        exec(code, namespace)
    return printed.getvalue()


def _compile(source: str, path: str, first_line: int) -> CodeType:
    # Padding with newlines makes tracebacks and SyntaxErrors name the real file line.
    return compile("\n" * (first_line - 1) + source, display_path(path), "exec", dont_inherit=True)


@dataclass(frozen=True)
class _Chunk:
    """Top-level statements of a program and the ``#>`` lines that show their output."""

    statements: list[ast.stmt]
    want: str
    want_line: int


def program_chunks(source: str, path: str) -> list[_Chunk]:
    """Split a program at its ``#>`` output blocks.

    Each ``#>`` line belongs to the last top-level statement that starts before it; the
    statements up to and including that one must print exactly those lines. Statements
    after the last block must print nothing.
    """
    tree = ast.parse(source, filename=display_path(path))
    outputs: dict[int, list[tuple[int, str]]] = {}
    starts = [statement.lineno for statement in tree.body]
    readline = io.StringIO(source).readline
    for token in tokenize.generate_tokens(readline):
        if token.type != tokenize.COMMENT or not OUTPUT_COMMENT.match(token.line):
            continue
        line = token.start[0]
        owners = [index for index, start in enumerate(starts) if start <= line]
        if not owners:
            raise ValueError(f"{display_path(path)}:{line}: '#>' output before any statement")
        outputs.setdefault(owners[-1], []).append((line, output_comment_text(token.string)))
    chunks: list[_Chunk] = []
    pending: list[ast.stmt] = []
    for index, statement in enumerate(tree.body):
        pending.append(statement)
        if index in outputs:
            lines = outputs[index]
            want = "".join(text + "\n" for _, text in lines)
            chunks.append(_Chunk(pending, want, lines[0][0]))
            pending = []
    if pending:
        chunks.append(_Chunk(pending, "", pending[-1].end_lineno or pending[-1].lineno))
    return chunks


class ProgramEvaluator:
    """Run a snippet program statement group by group, checking each ``#>`` block.

    After each call, :attr:`outcomes` holds every group's output as compared, with
    ``first_line`` the line of its ``#>`` block, or the line after its last statement
    when it has none.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.checker = TensorOutputChecker(device)
        self.outcomes: list[Outcome] = []

    def __call__(self, example: Example) -> str | None:
        return run_example(example, self.device, self._evaluate)

    def _evaluate(self, example: Example) -> str | None:
        path = example.path
        name = display_path(path)
        self.outcomes = []
        failures: list[str] = []
        # Every group runs even after a mismatch: the code ran fine, only its output
        # differs, and the update mode needs every group's output in one run.
        for chunk in program_chunks(example.parsed.body.source, path):
            module = ast.Module(body=chunk.statements, type_ignores=[])
            code = compile(module, name, "exec", dont_inherit=True)
            got = run_printing(code, example.namespace, self.device)
            matched = self.checker.check_output(chunk.want, got, 0)
            line = chunk.want_line if chunk.want else chunk.want_line + 1
            self.outcomes.append(Outcome(path, line, chunk.want, got, matched))
            if not matched:
                shown = doctest.Example("", chunk.want)
                difference = self.checker.output_difference(shown, got, 0)
                where = "the '#>' block" if chunk.want else "code with no '#>' block"
                failures.append(
                    f"{name}:{chunk.want_line}: output differs from {where}:\n{difference}"
                )
        return "\n".join(failures) if failures else None

    def __repr__(self) -> str:
        return f"<ProgramEvaluator {self.device}>"
