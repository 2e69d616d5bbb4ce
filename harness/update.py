"""Update mode: rewrite expected outputs to what the code prints on the CPU.

``make fix-docs`` (``python -m harness.update [PATH ...]``) runs every example of the given
pages, snippet programs and tensorkit modules exactly as the tests do, and rewrites each
expected output that no longer matches. Nothing else in a file changes: prose, code, skip
directives and every output that still matches stay byte for byte as they were.

It does not write what it cannot vouch for. An example that raised unexpectedly, or whose
expected exception changed, is reported for a person to fix. Where a GPU is present, the
cuda pass runs too, and an output that differs between CPU and CUDA is not rewritten.
"""

from __future__ import annotations

import argparse
import sys
import unittest
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sybil import Sybil

from harness.checker import TensorOutputChecker
from harness.collect import ROOT, docstrings, pages, snippets
from harness.devices import cuda_available
from harness.evaluators import DoctestEvaluator, Outcome, ProgramEvaluator, display_path

DEFAULT_PATHS = ("docs", "snippets", "tensorkit")


@dataclass(frozen=True)
class Edit:
    """Replace ``old_count`` lines from ``first_line`` (1-based) with ``new_lines``."""

    path: str
    first_line: int
    old_count: int
    new_lines: tuple[str, ...]


@dataclass
class Report:
    """What a run changed, and what it left for a person."""

    edits: list[Edit]
    problems: list[str]


def sybil_for(path: Path, device: str, root: Path) -> Sybil:
    """The harness's Sybil that runs ``path`` (under ``root``) in the given pass."""
    parts = path.resolve().relative_to(root).parts
    factory = {"docs": pages, "snippets": snippets, "tensorkit": docstrings}[parts[0]]
    return factory(device, root)


def documents(paths: Iterable[str], root: Path) -> list[Path]:
    """Every page, program and module under ``paths``, in the order the tests run them."""
    found: list[Path] = []
    for name in paths:
        path = Path(name).resolve() if Path(name).exists() else root / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        found += [candidate for candidate in candidates if candidate.suffix in (".md", ".py")]
    return found


def outcomes_of(
    path: Path, device: str, root: Path
) -> tuple[list[tuple[str, Outcome]], list[str]]:
    """Run one document; return each output compared (with its style) and any errors."""
    sybil = sybil_for(path, device, root)
    document = sybil.parse(path)
    if sybil.setup is not None:
        sybil.setup(document.namespace)
    compared: list[tuple[str, Outcome]] = []
    errors: list[str] = []
    for example in document.examples():
        evaluator = example.region.evaluator
        if isinstance(evaluator, (DoctestEvaluator, ProgramEvaluator)):
            evaluator.outcomes = []
        try:
            example.evaluate()
        except unittest.SkipTest:
            continue
        except Exception as error:  # a failure report; the outcomes say what differed
            if not isinstance(evaluator, (DoctestEvaluator, ProgramEvaluator)):
                errors.append(f"{display_path(str(path))}:{example.line}: {error}")
        if isinstance(evaluator, DoctestEvaluator):
            compared += [("session", outcome) for outcome in evaluator.outcomes]
        elif isinstance(evaluator, ProgramEvaluator):
            compared += [("program", outcome) for outcome in evaluator.outcomes]
    return compared, errors


def _leading(line: str, prompt: str) -> str:
    index = line.find(prompt)
    return line[:index] if index >= 0 else line[: len(line) - len(line.lstrip())]


def edit_for(style: str, outcome: Outcome, lines: Sequence[str]) -> Edit:
    """The edit that writes ``outcome.got`` in place of ``outcome.want``."""
    got_lines = [line.rstrip() for line in (outcome.got or "").splitlines()]
    old_count = outcome.want.count("\n")
    if style == "session":
        # The output sits under the example's code, indented like its >>> line.
        code_line = lines[outcome.first_line - 2]
        leading = _leading(code_line, ">>>" if ">>>" in code_line else "...")
        new = [leading + (line or "<BLANKLINE>") for line in got_lines]
    else:
        anchor = lines[outcome.first_line - 1] if old_count else ""
        leading = _leading(anchor, "#>")
        new = [leading + ("#> " + line if line else "#>") for line in got_lines]
    return Edit(outcome.path, outcome.first_line, old_count, tuple(new))


def plan(paths: Iterable[str], root: Path = ROOT) -> Report:
    """Run the documents and work out the edits, without writing anything."""
    report = Report(edits=[], problems=[])
    check_cuda = cuda_available()
    agree = TensorOutputChecker("cuda")
    for path in documents(paths, root):
        cpu, errors = outcomes_of(path, "cpu", root)
        report.problems += errors
        cuda: dict[int, str | None] = {}
        if check_cuda:
            ran = outcomes_of(path, "cuda", root)[0]
            cuda = {outcome.first_line: outcome.got for _, outcome in ran}
        lines = path.read_text(encoding="utf-8").splitlines()
        where = display_path(str(path))
        for style, outcome in cpu:
            if outcome.matched:
                continue
            at = f"{where}:{outcome.first_line}"
            if outcome.got is None:
                report.problems.append(f"{at}: the example raised; fix the code, not the output")
            elif outcome.expects_exception:
                report.problems.append(f"{at}: the expected exception changed; edit it by hand")
            elif check_cuda and not agree.check_output(
                outcome.got, cuda.get(outcome.first_line) or "", 0
            ):
                report.problems.append(
                    f"{at}: CPU and CUDA print different outputs; not rewritten"
                )
            else:
                report.edits.append(edit_for(style, outcome, lines))
    return report


def apply(edits: Sequence[Edit]) -> None:
    """Write the edits, each file's from the bottom up so line numbers stay valid."""
    by_path: dict[str, list[Edit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    for path, file_edits in by_path.items():
        text = Path(path).read_text(encoding="utf-8")
        lines = text.split("\n")
        for edit in sorted(file_edits, key=lambda e: e.first_line, reverse=True):
            start = edit.first_line - 1
            lines[start : start + edit.old_count] = list(edit.new_lines)
        Path(path).write_text("\n".join(lines), encoding="utf-8")


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.update",
        description="Rewrite expected outputs in pages, snippets and docstrings to what "
        "the code prints on the CPU.",
    )
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    parser.add_argument(
        "--check",
        action="store_true",
        help="only report what would change; exit 1 if anything would",
    )
    options = parser.parse_args(argv)
    report = plan(options.paths, root)
    for edit in report.edits:
        verb = "would update" if options.check else "updated"
        print(
            f"{display_path(edit.path)}:{edit.first_line}: {verb} output "
            f"({edit.old_count} -> {len(edit.new_lines)} lines)"
        )
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if not options.check:
        apply(report.edits)
        if report.edits:
            # Prove the rewrite: a second run must find nothing left to change.
            again = plan(options.paths, root)
            for edit in again.edits:
                print(
                    f"{display_path(edit.path)}:{edit.first_line}: still differs after "
                    "the update (its output depends on something that changes per run)",
                    file=sys.stderr,
                )
            report.problems += [str(edit) for edit in again.edits]
    print(
        f"{len(report.edits)} output(s) {'to update' if options.check else 'updated'}, "
        f"{len(report.problems)} problem(s) left for a person"
    )
    if options.check and report.edits:
        return 1
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
