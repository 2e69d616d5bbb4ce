"""A changed expected output must fail, at its own example: every output of the site.

:mod:`harness.drift` changes every expected output of the site (page sessions, snippet
``#>`` blocks, docstring sessions, expected exception messages) at its first and at its
last significant character. The copy changed at the first character runs through the
harness's cpu pass, and each change must fail its example at its own line; the copy
changed at the last character is only parsed, and the harness's checker must reject each
change against what its example printed in that run. The first test runs it over the
whole site; the others prove, on small throwaway projects, that the check itself fails
on each mistake it guards against: a checker that accepts too much, a report at the
wrong line, an example that does not fail, a printed output that pairs with no output or
with another one.
"""

from __future__ import annotations

import doctest
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness import drift
from harness.checker import TensorOutputChecker
from harness.collect import ROOT
from harness.drift import Output, Segment, apply_edits, changed_character, mutation
from harness.evaluators import DoctestEvaluator, ProgramEvaluator

Write = Callable[[str, str], Path]


def test_every_changed_output_fails_at_its_own_example() -> None:
    report = drift.check(ROOT, workers=drift.WORKERS)
    if report.escapes:
        escapes = [f"{escape}: {escape.reason}; {escape.edit}" for escape in report.escapes]
        pytest.fail(
            f"{len(escapes)} changed output(s) did not fail at their own example "
            "(file:line (first|last) of the output):\n" + "\n".join(escapes),
            pytrace=False,
        )


def test_there_are_outputs_of_every_kind_to_change() -> None:
    counts = Counter(output.kind for output in drift.collect_outputs(ROOT))
    # About half of what the site shows today: a finder that silently stopped finding
    # one kind would otherwise leave that kind unchecked, and the first test green.
    assert counts["page"] >= 200, counts
    assert counts["snippet"] >= 10, counts
    assert counts["docstring"] >= 20, counts
    assert counts["exception"] >= 10, counts


# --- The mutation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [("0", "1"), ("8", "9"), ("9", "0"), ("a", "A"), ("Q", "q"), ("x", "X")]
    + [("ª", "x"), ("ß", "x"), ("(", "#"), (".", "#"), ("#", "%")],
)
def test_a_changed_character_is_another_of_its_sort(old: str, new: str) -> None:
    # Letters without a one-letter other case ('ª', 'ß' upper-cases to 'SS') become 'x'.
    assert changed_character(old) == new


def _output(*texts: str, kind: drift.Kind = "page") -> Output:
    segments = tuple(Segment(10 + number, 4, text) for number, text in enumerate(texts))
    return Output(kind, "docs/page.md", 10, (9, 10), segments)


def test_the_first_and_last_significant_characters_are_changed() -> None:
    output = _output("tensor([[1.5000, 2.0000],", "        [3.0000, 4.2500]])")
    assert mutation(output, "first") == drift.Edit(10, 4, 5, "t", "T")
    assert mutation(output, "last") == drift.Edit(11, 4 + 22, 4 + 23, "0", "1")


def test_blank_line_markers_are_not_output() -> None:
    # 'B', 'L', 'K' of a <BLANKLINE> marker would be significant if the marker were text.
    output = _output("<BLANKLINE>", "end.", "<BLANKLINE>")
    assert mutation(output, "first") == drift.Edit(11, 4, 5, "e", "E")
    assert mutation(output, "last") == drift.Edit(11, 6, 7, "d", "D")


def test_an_output_without_letters_or_digits_changes_its_outer_characters() -> None:
    output = _output("(...)  ")
    assert mutation(output, "first") == drift.Edit(10, 4, 5, "(", "#")
    assert mutation(output, "last") == drift.Edit(10, 8, 9, ")", "#")


def test_an_output_of_empty_lines_only_gets_text() -> None:
    assert mutation(_output("<BLANKLINE>"), "first").new == "x"
    assert mutation(_output(""), "last").new == " x"  # after a bare '#>'


PAGE = """\
# A page

```pycon
>>> import torch
>>> torch.tensor([[1.5, 2.0], [3.0, 4.25]])
tensor([[1.5000, 2.0000],
        [3.0000, 4.2500]])
>>> print("\\nend.\\n")
<BLANKLINE>
end.
<BLANKLINE>
```

!!! note "Inside an admonition"

    ```pycon
    >>> print("(...)")
    (...)
    >>> 1 / 0
    Traceback (most recent call last):
      ...
    ZeroDivisionError: division by zero
    ```
"""

PROGRAM = """\
print("a")
#> a
print()
#>
for i in range(2):
    print(i)
    #> 0
    #> 1
"""

MODULE = '''\
"""A module whose function's docstring holds a session."""


def zeros() -> None:
    """Not run: the session's code imports torch itself.

    >>> import torch
    >>> torch.zeros(2)
    tensor([0., 0.])
    """
'''


@pytest.fixture
def small_project(project: Path, write: Write) -> Path:
    write("docs/page.md", PAGE)
    write("snippets/program.py", PROGRAM)
    # A docstring's code imports the real tensorkit: the module's name must be one of it.
    write("tensorkit/__init__.py", "")
    write("tensorkit/creation.py", MODULE)
    return project


def _found(project: Path) -> dict[str, Output]:
    return {str(output): output for output in drift.collect_outputs(project)}


def test_outputs_are_found_where_the_file_shows_them(small_project: Path) -> None:
    found = _found(small_project)
    assert sorted(found) == [
        "docs/page.md:18",
        "docs/page.md:20",
        "docs/page.md:6",
        "docs/page.md:9",
        "snippets/program.py:2",
        "snippets/program.py:4",
        "snippets/program.py:7",
        "tensorkit/creation.py:9",
    ]
    assert [s.line for s in found["docs/page.md:6"].segments] == [6, 7]
    assert found["docs/page.md:6"].reported_lines == (5, 6)
    assert found["docs/page.md:18"].segments == (Segment(18, 4, "(...)"),)
    assert [s.line for s in found["snippets/program.py:7"].segments] == [7, 8]
    assert found["snippets/program.py:4"].segments == (Segment(4, 2, ""),)
    assert found["tensorkit/creation.py:9"].segments == (Segment(9, 4, "tensor([0., 0.])"),)
    assert found["tensorkit/creation.py:9"].kind == "docstring"


ESCAPED = '''\
def hessian() -> None:
    """The Hessian, $\\\\begin{pmatrix} 2 & 1 \\\\\\\\ 1 & 6 \\\\end{pmatrix}$:

    >>> 1 + 1
    2
    """
'''


def test_docstring_outputs_are_placed_by_the_file_not_by_the_docstring_value(
    project: Path, write: Write
) -> None:
    # The escapes make the docstring's value four characters shorter than its source:
    # the output is still found on the file line that shows it.
    write("tensorkit/escaped.py", ESCAPED)
    (output,) = drift.collect_outputs(project)
    assert output.segments == (Segment(5, 4, "2"),)
    assert output.reported_lines == (4, 5)


def test_an_expected_exception_changes_only_the_lines_doctest_compares(
    small_project: Path,
) -> None:
    output = _found(small_project)["docs/page.md:20"]
    assert output.kind == "exception"
    # Not the 'Traceback (most recent call last):' header, not the '...' of the stack.
    assert output.segments == (Segment(22, 4, "ZeroDivisionError: division by zero"),)
    assert mutation(output, "first").old == "Z"
    assert mutation(output, "last").old == "o"


def test_the_changed_copies_show_each_output_changed_once(
    small_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outputs = drift.collect_outputs(small_project)
    copies = drift.write_copies(small_project, tmp_path_factory.mktemp("copies"), outputs)
    last = (copies["last"] / "docs/page.md").read_text(encoding="utf-8")
    assert "        [3.0000, 4.2501]])\n" in last
    assert "    ZeroDivisionError: division by zerO\n" in last
    assert "    (...#\n" in last
    first = (copies["first"] / "snippets/program.py").read_text(encoding="utf-8")
    assert first == PROGRAM.replace("#> a", "#> A").replace("#>\n", "#> x\n").replace(
        "#> 0", "#> 1"
    )
    assert (small_project / "docs/page.md").read_text(encoding="utf-8") == PAGE


def test_apply_edits_refuses_an_edit_that_does_not_fit() -> None:
    with pytest.raises(ValueError, match="line 1"):
        apply_edits("abc\n", [drift.Edit(1, 0, 1, "z", "y")])


# --- The check on a small project, with the real harness and with broken ones -------------


def _escapes(report: drift.Report) -> set[str]:
    return {str(escape) for escape in report.escapes}


def _reasons(report: drift.Report) -> set[tuple[drift.End, str]]:
    return {(escape.end, escape.reason) for escape in report.escapes}


#: Why a change at the last character escapes when the harness's checker lets it pass.
ACCEPTED = "the harness's checker accepts the changed output"
#: Why it escapes when the checker rejects it, but the run did not fail the example.
UNPROVEN = (
    "the harness's checker rejects the changed output, but the run did not show that a "
    "rejected output fails this example at its line (its first change escaped)"
)


def test_the_harness_catches_every_change_in_a_small_project(small_project: Path) -> None:
    before = {path: path.read_bytes() for path in small_project.rglob("*") if path.is_file()}
    report = drift.check(small_project, workers=0)
    assert report.escapes == []
    assert report.counts() == {"page": 3, "exception": 1, "snippet": 3, "docstring": 1}
    assert "all 16 mutations caught" in report.summary()
    # The changed copies lived in a temporary folder: the project is as it was.
    after = {path: path.read_bytes() for path in small_project.rglob("*") if path.is_file()}
    assert after == before


def test_a_checker_that_accepts_anything_lets_every_change_escape(
    small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TensorOutputChecker, "check_output", lambda *args: True)
    report = drift.check(small_project, workers=0)
    assert len(report.escapes) == 2 * len(report.outputs)
    # The first changes ran and passed; the last ones, not run, the checker accepted.
    assert _reasons(report) == {
        ("first", "its example still passed"),
        ("last", ACCEPTED),
    }
    assert "16 of 16 mutations escaped" in report.summary()
    assert "first character, run end to end: each change" in report.summary()
    assert "last character, not run again: the harness's checker" in report.summary()
    assert report.summary().count(": 0 of 8 caught") == 2


def test_a_checker_that_compares_only_first_lines_misses_the_last_line(
    small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Otherwise as the harness's: the unchanged site passes with it.
    real = TensorOutputChecker.check_output

    def first_lines(self: TensorOutputChecker, want: str, got: str, flags: int) -> bool:
        return real(self, want.split("\n", 1)[0] + "\n", got.split("\n", 1)[0] + "\n", flags)

    monkeypatch.setattr(TensorOutputChecker, "check_output", first_lines)
    report = drift.check(small_project, workers=0)
    assert _escapes(report) == {
        "docs/page.md:6 (last)",  # the tensor's second row
        "docs/page.md:9 (first)",  # 'end.', after an empty first line
        "docs/page.md:9 (last)",
        "snippets/program.py:7 (last)",  # the loop's second line
    }
    assert {e.reason for e in report.escapes if e.end == "last"} == {ACCEPTED}


def test_a_checker_that_forgives_the_last_digit_misses_it(
    small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the cpu pass once compared: one unit in the last printed digit of a number passed.
    real = TensorOutputChecker.check_output

    def masked(text: str) -> str:
        return re.sub(r"(\d)(?!\d)", "#", text)

    def forgiving(self: TensorOutputChecker, want: str, got: str, flags: int) -> bool:
        return real(self, masked(want), masked(got), flags)

    monkeypatch.setattr(TensorOutputChecker, "check_output", forgiving)
    report = drift.check(small_project, workers=0)
    assert _escapes(report) == {
        "docs/page.md:6 (last)",  # 4.2500 shown as 4.2501
        "snippets/program.py:7 (first)",  # 0 shown as 1
        "snippets/program.py:7 (last)",  # 1 shown as 2
        "tensorkit/creation.py:9 (last)",  # 0. shown as 1.
    }
    # The last-digit changes are not run: the harness's checker, asked about each against
    # what the first run printed, is what lets them through.
    assert {e.reason for e in report.escapes if e.end == "last"} == {ACCEPTED}


def _wrapped(
    monkeypatch: pytest.MonkeyPatch, evaluator: type[Any], after: Callable[[Any, str | None], Any]
) -> None:
    original = evaluator.__call__

    def call(self: Any, example: Any) -> Any:
        return after(self, original(self, example))

    monkeypatch.setattr(evaluator, "__call__", call)


def test_an_evaluator_that_never_fails_its_example_lets_changes_escape(
    small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It still records each output as differing; the example must fail as well. The run
    # shows it does not; the last changes, which the checker (still asked) rejects, then
    # escape too, since a rejection was not shown to fail the example.
    _wrapped(monkeypatch, DoctestEvaluator, lambda self, report: None)
    report = drift.check(small_project, workers=0)
    assert _escapes(report) == {
        f"{output} ({end})"
        for output in report.outputs
        if output.kind != "snippet"
        for end in drift.ENDS
    }
    assert _reasons(report) == {("first", "its example still passed"), ("last", UNPROVEN)}


def test_a_failure_that_does_not_name_its_line_is_an_escape(
    small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _wrapped(monkeypatch, ProgramEvaluator, lambda self, report: report and "output differs")
    report = drift.check(small_project, workers=0)
    assert _escapes(report) == {
        f"snippets/program.py:{line} ({end})" for line in (2, 4, 7) for end in drift.ENDS
    }
    assert {e.reason for e in report.escapes if e.end == "first"} == {
        "the failure report does not name snippets/program.py at this line"
    }
    assert {e.reason for e in report.escapes if e.end == "last"} == {UNPROVEN}


def test_an_output_reported_at_another_line_is_an_escape(
    small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a harness that counts a docstring's lines from its value would (off by some).
    def shifted(self: ProgramEvaluator, report: str | None) -> str | None:
        self.outcomes = [replace(o, first_line=o.first_line + 1) for o in self.outcomes]
        return report

    _wrapped(monkeypatch, ProgramEvaluator, shifted)
    report = drift.check(small_project, workers=0)
    assert _escapes(report) == {
        f"snippets/program.py:{line} ({end})" for line in (2, 4, 7) for end in drift.ENDS
    }
    # The run reports each output at the wrong line; so the last changes, which are paired
    # with what was printed at their own line, find nothing printed there.
    for escape in report.escapes:
        if escape.end == "first":
            assert "did not report this output" in escape.reason
        else:
            assert "recorded no printed output at line" in escape.reason


@pytest.fixture
def only_first_failure() -> Iterator[None]:
    """doctest reports only the first failed comparison of each session, as it can."""
    previous = doctest.set_unittest_reportflags(doctest.REPORT_ONLY_FIRST_FAILURE)
    yield
    doctest.set_unittest_reportflags(previous)


@pytest.mark.usefixtures("only_first_failure")
def test_a_session_that_stops_reporting_after_its_first_failure_is_caught(
    small_project: Path,
) -> None:
    # One run checks every output of a document only because every comparison is
    # reported; one that is not shows up as an escape, not as a pass: in the run, and as
    # a last change with no printed output to be judged against.
    report = drift.check(small_project, workers=0)
    assert _escapes(report) == {
        f"docs/page.md:{line} ({end})" for line in (9, 20) for end in drift.ENDS
    }
    assert {e.reason for e in report.escapes if e.end == "last"} == {
        f"the first run recorded no printed output at line {line} to judge the change against"
        for line in (9, 20)
    }


def test_an_output_the_cpu_pass_skips_is_an_escape(project: Path, write: Write) -> None:
    write(
        "docs/page.md",
        """
        <!-- skip: next "shown, never run" -->

        ```pycon
        >>> 1 + 1
        3
        ```
        """,
    )
    report = drift.check(project, workers=0)
    assert _escapes(report) == {"docs/page.md:5 (first)", "docs/page.md:5 (last)"}
    assert all("skipped in the cpu pass" in escape.reason for escape in report.escapes)


# --- The last changes: judged by the checker against what the run printed ----------------


def test_the_run_keeps_what_the_checker_was_given(project: Path, write: Write) -> None:
    write(
        "docs/page.md",
        """
        ```pycon
        >>> print("a  b")  # doctest: +NORMALIZE_WHITESPACE
        a b
        >>> 1 / 0
        Traceback (most recent call last):
          ...
        ZeroDivisionError: division by zero
        ```
        """,
    )
    write("snippets/program.py", PROGRAM)
    (page,) = drift.run_copy(project, "docs/page.md")
    spaced, raised = page.compared
    assert (spaced.line, spaced.matched, spaced.got) == (3, True, "a  b\n")
    assert spaced.flags & doctest.NORMALIZE_WHITESPACE and not spaced.exception
    # For an expected exception, doctest compares its formatted message, not the output.
    assert raised.line == 5 and raised.matched and raised.exception
    assert raised.got == "ZeroDivisionError: division by zero\n"
    (program,) = drift.run_copy(project, "snippets/program.py")
    assert [(c.line, c.got, c.flags) for c in program.compared] == [
        (2, "a\n", 0),
        (4, "\n", 0),
        (7, "0\n1\n", 0),
    ]


def test_the_expected_outputs_are_read_where_the_harness_reports_them(
    small_project: Path,
) -> None:
    # Without running anything: each output found in the files is one the harness's own
    # parsers show at the same line.
    for output in drift.collect_outputs(small_project):
        expected = drift.expected_outputs(small_project, output.path)[output.line]
        assert (expected.exc_msg is not None) == (output.kind == "exception"), output
    page = drift.expected_outputs(small_project, "docs/page.md")
    assert page[6].want == "tensor([[1.5000, 2.0000],\n        [3.0000, 4.2500]])\n"
    assert page[20].exc_msg == "ZeroDivisionError: division by zero\n"
    assert drift.expected_outputs(small_project, "snippets/program.py")[7].want == "0\n1\n"


def test_an_output_with_no_printed_output_at_its_line_is_an_escape(
    project: Path, write: Write
) -> None:
    # The first example raises instead of printing: the run fails it at its line, but no
    # printed output pairs with its last change, so nothing judges that change.
    write(
        "docs/page.md",
        """
        ```pycon
        >>> int("x")
        3
        >>> 1 + 1
        2
        ```
        """,
    )
    report = drift.check(project, workers=0)
    assert _escapes(report) == {"docs/page.md:3 (last)"}
    (escape,) = report.escapes
    assert "compared nothing for this output in the first run" in escape.reason


def test_a_printed_output_paired_with_another_output_is_an_escape(
    small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a harness that records two outputs at each other's lines would. The run does not
    # notice (both differ, and both lines are reported), but the last changes are then
    # paired with what another output's code printed, which their unchanged output does
    # not match either.
    def swapped(self: ProgramEvaluator, report: str | None) -> str | None:
        first, second, *rest = self.outcomes
        self.outcomes = [
            replace(first, first_line=second.first_line),
            replace(second, first_line=first.first_line),
            *rest,
        ]
        return report

    _wrapped(monkeypatch, ProgramEvaluator, swapped)
    report = drift.check(small_project, workers=0)
    assert _escapes(report) == {"snippets/program.py:2 (last)", "snippets/program.py:4 (last)"}
    assert all("is not this output's" in escape.reason for escape in report.escapes)
