"""Drift check: change any expected output of the site, and its example must fail.

An output the harness shows but does not really compare (a checker that forgives too
much, a line nobody parses, a report at the wrong line) lets a page drift from its code
without a test noticing. This check proves there is none. It changes every expected
output of the site, in the cpu pass:

* the output lines of every ``pycon`` session in ``docs/`` (kind ``page``),
* every ``#>`` output block of the programs in ``snippets/`` (kind ``snippet``),
* the output lines of every session in tensorkit's docstrings (kind ``docstring``),
* and, for an example that expects an exception, the exception line(s) doctest compares
  (``exc_msg``), not the ``Traceback`` header or the ``...`` that stands for the stack
  (kind ``exception``).

Each output is changed once at its first and once at its last significant character
(:func:`mutation`). Outputs are found from the files themselves (doctest's parser on each
session, the syntax tree for docstrings, the tokenizer for ``#>`` comments), and only the
fences are taken from the harness's own parser, so that an output the harness places at
the wrong line is caught rather than copied. The two changes are judged differently:

* **First character: run end to end.** A copy of the site with every output changed at
  its first character runs, document by document, through the harness's cpu pass. Each
  change must fail the example that holds the output, with the harness reporting the
  output as differing at the output's own file line and the failure naming that file
  and line (:func:`judge`). This proves the whole chain: the parser reads the output,
  the evaluator compares it, and a rejected comparison fails the example where it is.
* **Last character: judged by the harness's checker, not run again.** The code and its
  seeded runs are deterministic, and whether an example fails is a pure function of its
  expected output, what its code printed and the doctest option flags, through the
  harness's checker. So the first run keeps, for each output it compared, what the
  checker was given as printed (the code's output, or for an expected exception the
  formatted exception message doctest compares) and the flags. A second copy, with every
  output changed at its last character, is only parsed, with the harness's own parsers
  (:func:`expected_outputs`), and each changed output is paired with what its example
  printed at the same line in the first run (the copies' lines are the same). The
  harness's checker must accept the unchanged output against it, so that the printed
  output is the output's own, and reject the changed one (:func:`judge_last`); and the
  output's first change must have been caught, since that run is what shows that a
  rejected comparison fails this example at its line. An output with no printed output
  at its line (its example raised, was skipped, or the harness recorded the comparison
  at another line) is an escape, as is an output the parser does not show at its line.

A change that is not caught is an escape; so is an output whose example the cpu pass
skips, since nothing then compares it.

The check is fast because the documents run once, not once per output nor once per
variant: doctest keeps running a session after a failed comparison and a program runs
every ``#>`` group, so one run of the first copy reports every output of the document,
and the last copy needs no run at all. The copies live in a temporary folder (the real
tree is only read), and the runs are spread over worker processes.

``python -m harness.drift`` runs the check over the site and prints a summary.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import doctest
import io
import multiprocessing
import re
import shutil
import sys
import tempfile
import time
import tokenize
import unittest
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Literal

from sybil import Document, Sybil

from harness.checker import TensorOutputChecker
from harness.collect import ROOT, docstrings, pages, snippets
from harness.evaluators import (
    DoctestEvaluator,
    Outcome,
    Parsed,
    ProgramEvaluator,
    parse_doctest,
    program_chunks,
)
from harness.fences import OUTPUT_COMMENT, has_prompt

Kind = Literal["page", "snippet", "docstring", "exception"]
End = Literal["first", "last"]
#: The copies of the site a check writes: one per end, and one with nothing changed.
Copy = Literal["unchanged", "first", "last"]
Status = Literal["passed", "failed", "skipped"]

#: The kinds of output, in the order the summary lists them, with the summary's words.
KINDS: dict[Kind, str] = {
    "page": "page",
    "snippet": "snippet",
    "docstring": "docstring",
    "exception": "exception message",
}
ENDS: tuple[End, ...] = ("first", "last")
COPIES: tuple[Copy, ...] = ("unchanged", *ENDS)

#: How each end's changes are judged, in the summary's words.
JUDGED: dict[End, str] = {
    "first": "run end to end: each change must fail its example, reported at the output's "
    "own file line",
    "last": "not run again: the harness's checker must reject each change against what its "
    "example printed at that line in the first run, under the same flags",
}

#: The folders a site copy needs: the examples, and the snippets pages include.
SOURCES = ("docs", "snippets", "tensorkit")

#: The pass whose outputs are changed: the one every machine runs.
DEVICE = "cpu"

#: How doctest writes an empty output line in a session; a marker, not content.
BLANKLINE = doctest.BLANKLINE_MARKER

#: The default number of worker processes: this project's CI machine has two cores.
WORKERS = 2


@dataclass(frozen=True)
class Segment:
    """One line of an output, where the file shows it.

    ``text`` starts at column ``column`` of line ``line`` (1-based) of the file: in a
    session the output line without its indentation (``<BLANKLINE>`` for an empty one),
    in a program everything after ``#>``.
    """

    line: int
    column: int
    text: str

    @property
    def is_marker(self) -> bool:
        """Whether this line is a ``<BLANKLINE>`` marker rather than printed text."""
        return self.text.rstrip() == BLANKLINE


@dataclass(frozen=True)
class Output:
    """One expected output of the site: what a reader sees under an example.

    ``line`` is the file line where the harness must report the output as differing
    (:attr:`harness.evaluators.Outcome.first_line`): the output's first line in a
    session, the block's first ``#>`` line in a program. ``reported_lines`` are the lines
    a failure report may name for it: for a session, its ``>>>`` line too, which is the
    line doctest names.
    """

    kind: Kind
    path: str
    line: int
    reported_lines: tuple[int, ...]
    segments: tuple[Segment, ...]

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Edit:
    """Replace columns ``start`` to ``end`` of file line ``line`` (1-based) with ``new``."""

    line: int
    start: int
    end: int
    old: str
    new: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.old!r} -> {self.new!r}"


@dataclass(frozen=True)
class Compared:
    """One output the harness compared, as it reported it (an ``Outcome``, picklable).

    ``got`` and ``flags`` are what the evaluator's checker was given for it as the code's
    output and as doctest's option flags: what the example printed, or, where it expects
    an exception and raised one, the formatted exception message doctest compares with
    ``exc_msg`` (``exception`` is then True). ``got`` is None when the checker compared
    nothing for the output: its example raised where it was to print.
    """

    line: int
    matched: bool
    got: str | None = None
    flags: int = 0
    exception: bool = False


@dataclass(frozen=True)
class Expected:
    """An expected output as the harness's parsers read it from a file, without running it.

    ``line`` is where the harness reports it (:attr:`harness.evaluators.Outcome.first_line`);
    ``exc_msg`` is doctest's, for an example that expects an exception.
    """

    line: int
    want: str
    exc_msg: str | None = None


@dataclass(frozen=True)
class Ran:
    """One example (a Sybil region) of a mutated document, and how its run ended.

    ``first_line`` and ``last_line`` are the file lines its region spans, as Sybil
    places it.
    """

    first_line: int
    last_line: int
    status: Status
    message: str
    compared: tuple[Compared, ...]


@dataclass(frozen=True)
class Escape:
    """A changed output whose example did not fail at the output's file and line."""

    output: Output
    end: End
    edit: Edit
    reason: str

    def __str__(self) -> str:
        return f"{self.output} ({self.end})"


@dataclass
class Report:
    """What a drift check changed, what escaped, and how long it took."""

    outputs: list[Output]
    escapes: list[Escape] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0

    def counts(self) -> Counter[Kind]:
        """How many outputs of each kind were changed (each at both ends)."""
        return Counter(output.kind for output in self.outputs)

    def summary(self) -> str:
        """The report as ``python -m harness.drift`` prints it."""
        mutations = len(self.outputs) * len(ENDS)
        lines = [
            f"drift check, {DEVICE} pass: {len(self.outputs)} outputs changed at their first "
            f"and at their last significant character ({mutations} mutations)"
        ]
        counts = self.counts()
        lines += [f"  {words:<18} {counts[kind]:>5}" for kind, words in KINDS.items()]
        escaped = Counter(escape.end for escape in self.escapes)
        for end, how in JUDGED.items():
            caught = len(self.outputs) - escaped[end]
            lines.append(f"{end} character, {how}: {caught} of {len(self.outputs)} caught")
        if self.escapes:
            lines.append(f"{len(self.escapes)} of {mutations} mutations escaped:")
            lines += [f"  {escape}: {escape.reason}; {escape.edit}" for escape in self.escapes]
        else:
            lines.append(f"all {mutations} mutations caught")
        where = f"{self.workers} worker processes" if self.workers else "in this process"
        lines.append(f"wall time {self.seconds:.1f} s ({where})")
        return "\n".join(lines)


# --- Finding the outputs -------------------------------------------------------------


def _session_outputs(
    kind: Kind, path: str, lines: Sequence[str], source: str, first_line: int
) -> Iterable[Output]:
    """The outputs of one ``>>>`` session whose first line is file line ``first_line``."""
    for session in doctest.DocTestParser().get_examples(source):
        if not session.want:
            continue
        code_line = first_line + session.lineno
        want_line = code_line + session.source.count("\n")
        want = session.want.splitlines()
        # doctest compares only the exception line(s) of an expected traceback: the
        # header and the stack it stands for are never read.
        compared = want if session.exc_msg is None else want[-len(session.exc_msg.splitlines()) :]
        skipped = len(want) - len(compared)
        segments = tuple(
            _located(path, lines, want_line + skipped + offset, text)
            for offset, text in enumerate(compared)
        )
        yield Output(
            "exception" if session.exc_msg is not None else kind,
            path,
            want_line,
            (code_line, want_line),
            segments,
        )


#: What may stand before an output line in its file: indentation, and the ``>`` of a
#: Markdown quote, which the fence lexer strips from a fence's body.
_LINE_PREFIX = re.compile(r"[ \t>]*")


def _located(path: str, lines: Sequence[str], line: int, text: str) -> Segment:
    # Outputs are found in text a parser produced (a fence body without its indentation,
    # a docstring's value); the mutation is written into the file itself, so the two must
    # agree, line for line.
    shown = lines[line - 1] if 0 < line <= len(lines) else ""
    column = len(shown) - len(text)
    if not shown.endswith(text) or not _LINE_PREFIX.fullmatch(shown[:column]):
        raise ValueError(
            f"{path}:{line}: the drift check placed output {text!r} on this line, but the "
            f"file shows {shown!r} there"
        )
    return Segment(line, column, text)


def page_outputs(root: Path, path: Path) -> list[Output]:
    """The outputs of the sessions of one page.

    The fences are the ones the harness's page parser collects; their sessions are split
    by doctest's parser and placed on the page's lines here.

    Args:
        root: The site's root folder (the one holding ``docs/``).
        path: The page, under ``root / "docs"``.

    Returns:
        Each output of each session, in page order.

    Raises:
        ValueError: If an output is not on the page line the session puts it on.
    """
    relative = path.relative_to(root).as_posix()
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found: list[Output] = []
    for example in pages(DEVICE, root).parse(path).examples():
        parsed = example.parsed
        if not isinstance(parsed, Parsed) or parsed.body.kind != "doctest":
            continue
        # A fence's body starts on the line after its opening line.
        first_line = text.count("\n", 0, example.start) + 2
        found += _session_outputs("page", relative, lines, parsed.body.source, first_line)
    return found


def _docstrings(source: str) -> Iterable[tuple[int, str]]:
    """Each docstring of a module, as (file line of its opening quotes, its text)."""
    # The same definitions Sybil reads docstrings from (sybil.document.PythonDocStringDocument).
    # Their lines are found here from the syntax tree, independently of Sybil, so that an
    # example the harness reports at the wrong line is caught rather than copied.
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if not (node.body and isinstance(node.body[0], ast.Expr)):
            continue
        value = node.body[0].value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            yield value.lineno, value.value


def docstring_outputs(root: Path, path: Path) -> list[Output]:
    """The outputs of the ``>>>`` sessions in one module's docstrings.

    Args:
        root: The site's root folder (the one holding ``tensorkit/``).
        path: The module, under ``root / "tensorkit"``.

    Returns:
        Each output, placed on the file line that shows it.

    Raises:
        ValueError: If an output is not on the line its docstring puts it on (a
            docstring whose escapes change its number of lines).
    """
    relative = path.relative_to(root).as_posix()
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found: list[Output] = []
    for quotes_line, text in _docstrings(source):
        if not has_prompt(text):
            continue
        # As harness.parsers.DocstringSessionParser: the session runs from the first prompt.
        prompt = re.search(r"^[ \t]*>>>", text, re.MULTILINE)
        assert prompt is not None  # has_prompt found one
        first_line = quotes_line + text.count("\n", 0, prompt.start())
        found += _session_outputs("docstring", relative, lines, text[prompt.start() :], first_line)
    return found


def snippet_outputs(root: Path, path: Path) -> list[Output]:
    """The ``#>`` output blocks of one snippet program.

    As the harness reads them (:func:`harness.evaluators.program_chunks`): each ``#>``
    line belongs to the last top-level statement that starts before it, and the lines of
    one statement form one block, reported at its first line. The lines are found with
    the tokenizer, so a ``#>`` comment the harness overlooked is changed all the same.

    Args:
        root: The site's root folder (the one holding ``snippets/``).
        path: The program, under ``root / "snippets"``.

    Returns:
        Each block, in program order.
    """
    relative = path.relative_to(root).as_posix()
    source = path.read_text(encoding="utf-8")
    starts = [statement.lineno for statement in ast.parse(source).body]
    blocks: dict[int, list[Segment]] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT or not OUTPUT_COMMENT.match(token.line):
            continue
        line, column = token.start
        owner = max((start for start in starts if start <= line), default=0)
        blocks.setdefault(owner, []).append(Segment(line, column + 2, token.string[2:]))
    return [
        Output("snippet", relative, segments[0].line, (segments[0].line,), tuple(segments))
        for segments in blocks.values()
    ]


#: How each source folder's documents are found, and the outputs they show.
_FINDERS: dict[str, tuple[str, Callable[[Path, Path], list[Output]]]] = {
    "docs": ("*.md", page_outputs),
    "snippets": ("*.py", snippet_outputs),
    "tensorkit": ("*.py", docstring_outputs),
}


def collect_outputs(root: Path = ROOT) -> list[Output]:
    """Every expected output of a site.

    Args:
        root: The site's root folder, holding ``docs/``, ``snippets/`` and ``tensorkit/``.

    Returns:
        The outputs of its pages, then of its snippets, then of its docstrings, each
        folder's files in sorted order.
    """
    found: list[Output] = []
    for folder, (pattern, finder) in _FINDERS.items():
        for path in sorted((root / folder).rglob(pattern)):
            if "__pycache__" not in path.parts:
                found += finder(root, path)
    return found


# --- Changing an output ----------------------------------------------------------------


def changed_character(character: str) -> str:
    """A different character in place of ``character``, of the same sort where there is one.

    Args:
        character: One character of an output.

    Returns:
        For a digit, the next one (``9`` gives ``0``); for a letter, the letter in the
        other case, or ``x`` for a letter without a one-letter other case (``ª``, or
        ``ß``, whose upper case is ``SS``); for anything else, ``#`` (``%`` for ``#``).
    """
    if character.isdecimal():
        return str((int(character) + 1) % 10)
    if character.isalpha():
        swapped = character.swapcase()
        # 'x' itself has a case, so this is always another letter.
        return swapped if len(swapped) == 1 and swapped != character else "x"
    return "%" if character == "#" else "#"


def _positions(output: Output, wanted: Callable[[str], bool]) -> list[tuple[Segment, int]]:
    return [
        (segment, index)
        for segment in output.segments
        if not segment.is_marker
        for index, character in enumerate(segment.text)
        if wanted(character)
    ]


def mutation(output: Output, end: End) -> Edit:
    """The edit that changes ``output`` at its first or last significant character.

    The significant characters are the alphanumeric ones; an output without any is
    changed at its first or last non-space character. ``<BLANKLINE>`` markers are not
    output, and are never changed, unless the output is nothing but empty lines: then
    the first or last of them is written as ``x``.

    Args:
        output: The output to change.
        end: ``"first"`` or ``"last"``: which significant character to change.

    Returns:
        The edit, in the file's lines and columns (:func:`changed_character` gives the
        new character).
    """
    positions = _positions(output, str.isalnum) or _positions(output, lambda c: not c.isspace())
    if positions:
        segment, index = positions[0] if end == "first" else positions[-1]
        old = segment.text[index]
        column = segment.column + index
        return Edit(segment.line, column, column + 1, old, changed_character(old))
    segment = output.segments[0] if end == "first" else output.segments[-1]
    # A program's empty line is a bare '#>': the text must follow a space to stay output.
    new = "x" if segment.is_marker else " x"
    return Edit(
        segment.line, segment.column, segment.column + len(segment.text), segment.text, new
    )


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Make edits to a file's text.

    Args:
        text: The file's text.
        edits: Edits of its lines, at most one per character; each line's edits are
            made from the right, so that the columns of the others stay valid.

    Returns:
        The edited text.

    Raises:
        ValueError: If an edit's ``old`` text is not where the edit says.
    """
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: (e.line, e.start), reverse=True):
        line = lines[edit.line - 1]
        if line[edit.start : edit.end] != edit.old:
            raise ValueError(f"line {edit.line}: expected {edit.old!r} at column {edit.start}")
        lines[edit.line - 1] = line[: edit.start] + edit.new + line[edit.end :]
    return "\n".join(lines)


def write_copies(root: Path, temp: Path, outputs: Sequence[Output]) -> dict[Copy, Path]:
    """Write one copy of the site per end, with every output changed at that end.

    Args:
        root: The site, which is only read.
        temp: An empty folder to write the copies into.
        outputs: The site's outputs (:func:`collect_outputs`).

    Returns:
        Each end's copy, and an ``unchanged`` one, written from the same reading of each
        document: a folder holding ``docs/``, ``snippets/`` and ``tensorkit/``.
    """
    by_path: dict[str, list[Output]] = {}
    for output in outputs:
        by_path.setdefault(output.path, []).append(output)
    originals = {relative: (root / relative).read_text(encoding="utf-8") for relative in by_path}
    copies: dict[Copy, Path] = {}
    for name in COPIES:
        copy = temp / name
        for folder in SOURCES:
            if (root / folder).is_dir():
                shutil.copytree(
                    root / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__")
                )
        for relative, document_outputs in by_path.items():
            edits = [] if name == "unchanged" else [mutation(o, name) for o in document_outputs]
            (copy / relative).write_text(apply_edits(originals[relative], edits), encoding="utf-8")
        copies[name] = copy
    return copies


# --- Running a mutated document --------------------------------------------------------

_SYBILS: dict[str, Callable[[str, Path], Sybil]] = {
    "docs": pages,
    "snippets": snippets,
    "tensorkit": docstrings,
}


def _line_of(document: Document, position: int) -> int:
    return document.text.count("\n", 0, position) + 1


@dataclass(frozen=True)
class _Comparison:
    """What a checker was given once: the page's text, the code's, doctest's flags.

    ``position`` is how many outputs the evaluator had recorded when the comparison was
    made: the index of the outcome it decides, which the evaluator records next.
    """

    position: int
    want: str
    got: str
    flags: int


class _RecordingChecker(TensorOutputChecker):
    """An evaluator's own checker, unchanged, that keeps what each comparison was given.

    It stands in for the checker of one evaluator during a run (the runner's, for a
    session), and asks that checker for every answer, so the run is the harness's own.
    """

    def __init__(self, checker: TensorOutputChecker, position: Callable[[], int]) -> None:
        super().__init__(checker.device)
        self.checker = checker
        self.position = position
        self.comparisons: list[_Comparison] = []

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        self.comparisons.append(_Comparison(self.position(), want, got, optionflags))
        return self.checker.check_output(want, got, optionflags)

    def output_difference(self, example: doctest.Example, got: str, optionflags: int) -> str:
        return self.checker.output_difference(example, got, optionflags)


def _record_comparisons(evaluator: DoctestEvaluator | ProgramEvaluator) -> _RecordingChecker:
    """Put a recording checker in place of the one ``evaluator`` compares outputs with."""
    if isinstance(evaluator, ProgramEvaluator):
        # One comparison per '#>' group, made just before the group's outcome is recorded.
        recorder = _RecordingChecker(evaluator.checker, lambda: len(evaluator.outcomes))
        evaluator.checker = recorder
        return recorder
    # doctest compares each example's output (or, for an expected exception, its
    # formatted message) just before it reports the example, and the harness's runner
    # records an outcome at each report. The runner takes its checker from _checker, at
    # the start of each run.
    runner = evaluator.runner
    checker = runner._checker  # type: ignore[attr-defined]  # doctest's, not in typeshed
    recorder = _RecordingChecker(checker, lambda: len(runner.outcomes))
    runner._checker = recorder  # type: ignore[attr-defined]
    return recorder


def _compared(outcome: Outcome, comparison: _Comparison | None) -> Compared:
    """An outcome with what its checker was given for it, where that is known for sure."""
    unknown = Compared(outcome.first_line, outcome.matched)
    if outcome.got is None or comparison is None:
        return unknown  # the example raised: nothing was compared
    if comparison.want == outcome.want:
        if comparison.got != outcome.got:
            return unknown  # not this outcome's comparison: no pairing rather than a wrong one
        return replace(unknown, got=comparison.got, flags=comparison.flags)
    if outcome.expects_exception:
        # doctest compared the exception line(s) of the expected traceback (exc_msg).
        return replace(unknown, got=comparison.got, flags=comparison.flags, exception=True)
    return unknown


def run_copy(root: Path, relative: str) -> list[Ran]:
    """Run one document of a site copy through the harness's cpu pass, as pytest would.

    Each evaluator's checker is watched (:class:`_RecordingChecker`), so that every
    output compared comes back with what the checker was given for it.

    Args:
        root: The site copy.
        relative: The document's path in it, e.g. ``docs/tensors/shape.md``.

    Returns:
        Each example (Sybil region) in document order, with how it ended and the outputs
        its evaluator compared.
    """
    sybil = _SYBILS[Path(relative).parts[0]](DEVICE, root)
    document = sybil.parse(root / relative)
    if sybil.setup is not None:
        sybil.setup(document.namespace)
    ran: list[Ran] = []
    recorders: dict[int, _RecordingChecker] = {}
    for example in document.examples():
        evaluator = example.region.evaluator
        recorder: _RecordingChecker | None = None
        if isinstance(evaluator, (DoctestEvaluator, ProgramEvaluator)):
            # The evaluator is shared by a document's examples; start this one afresh.
            evaluator.outcomes = []
            if id(evaluator) not in recorders:
                recorders[id(evaluator)] = _record_comparisons(evaluator)
            recorder = recorders[id(evaluator)]
            recorder.comparisons = []
        status: Status = "passed"
        message = ""
        try:
            example.evaluate()
        except unittest.SkipTest as skip:
            status, message = "skipped", str(skip)
        except Exception as error:  # a failure report, or what the example raised
            status, message = "failed", str(error)
        compared: tuple[Compared, ...] = ()
        if isinstance(evaluator, (DoctestEvaluator, ProgramEvaluator)) and recorder is not None:
            # The last comparison made at an outcome's position decides it; any made at a
            # position no outcome took (doctest compares quietly after a first failure
            # under REPORT_ONLY_FIRST_FAILURE) decides none.
            deciding = {c.position: c for c in recorder.comparisons}
            compared = tuple(
                _compared(outcome, deciding.get(index))
                for index, outcome in enumerate(evaluator.outcomes)
            )
        span = (example.line, _line_of(document, example.end))
        ran.append(Ran(span[0], span[1], status, message, compared))
    return ran


def _start_worker() -> None:
    # Two workers share two cores: torch's default of one compute thread per core would
    # oversubscribe them, and its threads then wait on each other (a 1 s program took
    # 25 s so). Importing the harness here, once per worker, also imports torch.
    import torch

    import harness.collect  # noqa: F401  # imported once, before the first document

    torch.set_num_threads(1)


#: What every worker needs before its first document: the harness (and with it torch),
#: and torch._dynamo, which the harness's first document imports (3 s: resetting
#: torch.use_deterministic_algorithms loads it, as does any optimizer step). Not this
#: module: under ``python -m harness.drift`` each worker runs it afresh as its main
#: module, which warns when it was imported already.
_PRELOAD = ["harness.collect", "torch._dynamo"]


def start_workers(workers: int) -> ProcessPoolExecutor:
    """Start the worker processes that run the documents.

    Args:
        workers: How many; each runs torch on one thread.

    Returns:
        An executor whose processes have imported :data:`_PRELOAD`. The imports start
        now, in the background, so call this before other work.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        context: BaseContext = multiprocessing.get_context("spawn")
    else:
        # Not a fork of this process, which may hold torch's compute threads mid-state:
        # a fork server is a fresh process that imports _PRELOAD once, and each worker
        # is forked from it, so the workers share one import instead of paying for one
        # each. Starting the server returns at once; the first worker waits for it.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        forkserver.ensure_running()
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)


# --- Judging the runs --------------------------------------------------------------------


def _names(message: str, path: Path, lines: Sequence[int]) -> bool:
    # The harness names a file inside the repository by its relative path, any other by
    # the path it was given.
    names = [str(path)]
    with contextlib.suppress(ValueError):
        names.append(str(path.relative_to(ROOT)))
    # doctest writes 'File "<path>", line N'; the program evaluator writes '<path>:N:'.
    # Sybil's own preamble, 'Example at <path>, line N', names the region's first line,
    # which says nothing about where the output is, so the quote is required.
    pattern = "(?:" + "|".join(map(re.escape, names)) + r')(?:", line |:)(\d+)\b'
    return any(int(number) in lines for number in re.findall(pattern, message))


def _holding(output: Output, ran: Sequence[Ran]) -> Ran | None:
    """The example that holds an output's line, as the harness ran it."""
    holding = [r for r in ran if r.first_line <= output.line <= r.last_line]
    # Of the examples that span the line (at most one, unless Sybil misplaced one), the
    # one that compared the output there.
    return next(
        (r for r in holding if any(c.line == output.line for c in r.compared)),
        holding[0] if holding else None,
    )


def judge(output: Output, end: End, copy: Path, ran: Sequence[Ran]) -> Escape | None:
    """Tell whether a changed output failed its example at its own file and line.

    Args:
        output: The output, as found in the real site.
        end: Which of its ends was changed.
        copy: The site copy that shows the change.
        ran: How the examples of the output's document ran in that copy.

    Returns:
        None if the change was caught, else the escape, with the reason.
    """
    edit = mutation(output, end)
    example = _holding(output, ran)

    def escape(reason: str) -> Escape:
        return Escape(output, end, edit, reason)

    if example is None:
        return escape("no example the harness ran holds this line")
    if example.status == "skipped":
        return escape(f"its example was skipped in the {DEVICE} pass ({example.message})")
    if example.status == "passed":
        return escape("its example still passed")
    if not any(c.line == output.line and not c.matched for c in example.compared):
        elsewhere = sorted({c.line for c in example.compared if not c.matched})
        return escape(
            f"its example failed, but the harness did not report this output as differing "
            f"at line {output.line} (it reported lines {elsewhere or 'none'})"
        )
    if not _names(example.message, copy / output.path, output.reported_lines):
        return escape(f"the failure report does not name {output.path} at this line")
    return None


def expected_outputs(root: Path, relative: str) -> dict[int, Expected]:
    """The expected outputs of one document of a site copy, as the harness parses them.

    Nothing runs: the document is parsed by the harness's cpu pass (its Sybil), and each
    example's body split as its evaluator splits it (:func:`harness.evaluators.parse_doctest`
    for a session, :func:`harness.evaluators.program_chunks` for a program). Each output
    is keyed by the line its evaluator reports it at, counted as the evaluator counts it.

    Args:
        root: The site copy.
        relative: The document's path in it, e.g. ``docs/tensors/shape.md``.

    Returns:
        Each output the harness would compare, by its file line.
    """
    sybil = _SYBILS[Path(relative).parts[0]](DEVICE, root)
    found: dict[int, Expected] = {}
    for example in sybil.parse(root / relative).examples():
        evaluator, parsed = example.region.evaluator, example.parsed
        if not isinstance(parsed, Parsed):
            continue
        if isinstance(evaluator, DoctestEvaluator):
            first_line = example.line + parsed.line_offset
            for session in parse_doctest(
                parsed.body.source, example.path, first_line, parsed.prose_between_examples
            ):
                line = first_line + session.lineno + session.source.count("\n")
                found[line] = Expected(line, session.want, session.exc_msg)
        elif isinstance(evaluator, ProgramEvaluator):
            for chunk in program_chunks(parsed.body.source, example.path):
                line = chunk.want_line if chunk.want else chunk.want_line + 1
                found[line] = Expected(line, chunk.want)
    return found


def judge_last(
    output: Output,
    unchanged: Mapping[int, Expected],
    changed: Mapping[int, Expected],
    ran: Sequence[Ran],
    run_caught: bool,
) -> Escape | None:
    """Tell whether the harness's checker rejects an output changed at its last character.

    The change is not run: its example's code prints what it printed in the first run,
    so the example fails exactly when the harness's checker rejects the changed output
    against that, with the flags it was compared under. That a rejection fails the
    example, reported at the output's line, is what the run of the first change showed
    for this output; where it did not, the checker's verdict is not enough.

    Args:
        output: The output, as found in the real site.
        unchanged: The expected outputs of its document, unchanged (:func:`expected_outputs`).
        changed: The same, in the copy with every output changed at its last character.
        ran: How the examples of the output's document ran in the first character's copy,
            with what each compared output printed.
        run_caught: Whether that run caught the output's first change (:func:`judge`).

    Returns:
        None if the change was caught, else the escape, with the reason.
    """
    edit = mutation(output, "last")
    example = _holding(output, ran)

    def escape(reason: str) -> Escape:
        return Escape(output, "last", edit, reason)

    if example is None:
        return escape("no example the harness ran holds this line")
    if example.status == "skipped":
        return escape(f"its example was skipped in the {DEVICE} pass ({example.message})")
    printed = next((c for c in example.compared if c.line == output.line), None)
    if printed is None:
        return escape(
            f"the first run recorded no printed output at line {output.line} to judge the "
            "change against"
        )
    if printed.got is None:
        return escape(
            "the harness's checker compared nothing for this output in the first run (its "
            "example raised), so no printed output pairs with the change"
        )
    before, after = unchanged.get(output.line), changed.get(output.line)
    if before is None or after is None:
        return escape("the harness's parser shows no expected output at this line")
    wants = (before.exc_msg, after.exc_msg) if printed.exception else (before.want, after.want)
    if wants[0] is None or wants[1] is None:
        return escape("the harness's parser shows no expected exception at this line")
    checker = TensorOutputChecker(DEVICE)
    if not checker.check_output(wants[0], printed.got, printed.flags):
        return escape(
            "the harness's checker rejects the unchanged output too, against what the first "
            "run printed at this line: rejecting the change proves nothing, or what was "
            "printed there is not this output's"
        )
    if checker.check_output(wants[1], printed.got, printed.flags):
        return escape("the harness's checker accepts the changed output")
    if not run_caught:
        return escape(
            "the harness's checker rejects the changed output, but the run did not show that "
            "a rejected output fails this example at its line (its first change escaped)"
        )
    return None


def _run_all(
    documents: Sequence[str], copy: Path, executor: Executor | None, meanwhile: Callable[[], None]
) -> dict[str, list[Ran]]:
    """Run each document of a copy; call ``meanwhile`` while the workers run them."""
    results: dict[str, list[Ran]] = {}
    if executor is None:
        meanwhile()
        for relative in documents:
            results[relative] = run_copy(copy, relative)
        return results
    futures = {relative: executor.submit(run_copy, copy, relative) for relative in documents}
    meanwhile()
    for relative, future in futures.items():
        try:
            results[relative] = future.result()
        except Exception as error:
            raise RuntimeError(f"the first variant of {relative} did not run: {error}") from error
    return results


def check(root: Path = ROOT, workers: int = WORKERS) -> Report:
    """Change every output of a site at both ends, and judge each change.

    The copy changed at the first character runs, and each change there must fail its
    example at its line (:func:`judge`); the copy changed at the last character is only
    parsed, and the harness's checker must reject each change there against what the
    first run printed (:func:`judge_last`).

    Args:
        root: The site's root folder; it is only read.
        workers: How many worker processes run the documents. With 0 they run in this
            process, which is what lets a test substitute a part of the harness.

    Returns:
        The outputs, the escapes and the wall time.

    Raises:
        RuntimeError: If a changed document could not be run at all (a worker died), or
            the harness's parsers could not read a copy.
    """
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        temp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="drift-"))).resolve()
        # Started first, so that the workers import torch while this process reads the site.
        executor = stack.enter_context(start_workers(workers)) if workers > 0 else None
        outputs = collect_outputs(root)
        copies = write_copies(root, temp, outputs)
        documents = sorted(
            {output.path for output in outputs},
            # Longest first, so that no worker is left with a long document at the end;
            # a document's size is the only measure of its run known before running it.
            key=lambda relative: (-(root / relative).stat().st_size, relative),
        )
        expected: dict[Copy, dict[str, dict[int, Expected]]] = {}

        def parse_copies() -> None:
            # While the workers run: this process would otherwise only wait for them.
            for name in ("unchanged", "last"):
                expected[name] = {}
                for relative in documents:
                    try:
                        expected[name][relative] = expected_outputs(copies[name], relative)
                    except (ValueError, SyntaxError) as error:
                        raise RuntimeError(
                            f"the {name} copy of {relative} could not be parsed: {error}"
                        ) from error

        results = _run_all(documents, copies["first"], executor, parse_copies)
    report = Report(outputs, workers=workers)
    for output in outputs:
        ran = results[output.path]
        first = judge(output, "first", copies["first"], ran)
        last = judge_last(
            output,
            expected["unchanged"][output.path],
            expected["last"][output.path],
            ran,
            run_caught=first is None,
        )
        report.escapes += [escape for escape in (first, last) if escape is not None]
    report.seconds = time.perf_counter() - started
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the drift check over the site and print its summary.

    Args:
        argv: The command line's arguments; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0 when every change was caught, 1 when any escaped.
    """
    parser = argparse.ArgumentParser(
        prog="python -m harness.drift",
        description="Change every expected output of the site at its first and at its last "
        "significant character. The first changes run: each must fail its example at its own "
        "file and line. The last changes are not run again: the harness's checker must reject "
        "each against what its example printed in the first run.",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=WORKERS,
        help=f"worker processes (default {WORKERS}; 0 runs in this process)",
    )
    options = parser.parse_args(argv)
    report = check(ROOT, options.workers)
    print(report.summary())
    return 1 if report.escapes else 0


if __name__ == "__main__":
    # Run the module's own copy under its real name, so that what the spawned workers
    # unpickle (harness.drift.run_copy, harness.drift.Ran) is what this process sent.
    from harness.drift import main as drift_main

    sys.exit(drift_main())
