"""Which examples ran in this process, in which pass, and whether they passed.

Every evaluator reports here (see :func:`harness.isolation.run_example`), so a check of
the built site can tell, for each code block a reader sees, that the harness really ran
the example behind it in this run, rather than trusting that it was collected.
"""

from __future__ import annotations

from dataclasses import dataclass

from sybil import Example


@dataclass(frozen=True)
class Ran:
    """One example, identified as a maintainer finds it: file, first line, pass."""

    path: str
    line: int
    device: str


#: Each example evaluated in this process, with whether it passed (its last run).
RESULTS: dict[Ran, bool] = {}


def record(example: Example, device: str, passed: bool) -> None:
    """Note that ``example`` ran in the ``device`` pass, and how it ended."""
    RESULTS[Ran(example.path, example.line, device)] = passed


def passed(path: str, line: int, device: str = "cpu") -> bool | None:
    """True or False if the example at ``path:line`` ran in that pass; None if it did not."""
    return RESULTS.get(Ran(path, line, device))
