"""Skips are strict and visible: each mistake fails at collection, naming file and line,
and each skipped example is reported as ``page:line: reason``."""

from __future__ import annotations

import unittest
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.collect import pages, run_document
from harness.page_features import show_skips

Write = Callable[[str, str], Path]

SESSION = "```pycon\n>>> 1 + 1\n2\n```\n"


def outcomes(project: Path, page: Path, device: str = "cpu") -> list[BaseException | None]:
    return [error for _, error in run_document(pages(device, project), page)]


def test_a_skipped_example_is_reported_as_page_line_reason(project: Path, write: Write) -> None:
    page = write(
        "docs/skip.md",
        f'<!-- skip: next "needs a dataset this page cannot ship" -->\n\n'
        f"```pycon\n>>> 1 / 0\n```\n\n{SESSION}",
    )
    errors = outcomes(project, page)
    assert errors[0] is None  # the directive itself
    assert isinstance(errors[1], unittest.SkipTest)
    assert str(errors[1]) == f"{page}:3: needs a dataset this page cannot ship"
    assert errors[2] is None  # 'next' skips one example only


def test_start_and_end_skip_what_is_between(project: Path, write: Write) -> None:
    page = write(
        "docs/skip.md",
        f'<!-- skip: start "a block that needs a GPU" -->\n\n{SESSION}\n{SESSION}\n'
        f"<!-- skip: end -->\n\n```pycon\n>>> 1 + 1\n3\n```\n",
    )
    errors = outcomes(project, page)
    assert [type(error).__name__ for error in errors] == [
        "NoneType",
        "SkipTest",
        "SkipTest",
        "NoneType",
        "SybilFailure",  # after the end, examples run again: this one is wrong
    ]


def test_start_without_end_fails_collection(project: Path, write: Write) -> None:
    page = write("docs/bad.md", f'Text.\n\n<!-- skip: start "slow" -->\n\n{SESSION}')
    with pytest.raises(ValueError, match=rf"{page}:3: 'skip: start' is never closed"):
        pages("cpu", project).parse(page)


def test_end_without_start_fails_collection(project: Path, write: Write) -> None:
    page = write("docs/bad.md", f"{SESSION}\n<!-- skip: end -->\n")
    with pytest.raises(ValueError, match=rf"{page}:6: 'skip: end' without a 'skip: start'"):
        pages("cpu", project).parse(page)


def test_a_start_inside_a_start_fails_collection(project: Path, write: Write) -> None:
    page = write(
        "docs/bad.md",
        '<!-- skip: start "a" -->\n\n<!-- skip: start "b" -->\n\n<!-- skip: end -->\n',
    )
    with pytest.raises(ValueError, match=rf"{page}:3: 'skip: start' inside the skip started"):
        pages("cpu", project).parse(page)


@pytest.mark.parametrize(
    "between",
    ["Some prose in between.\n\n", "```text\nnot python\n```\n\n"],
)
def test_next_far_above_its_fence_fails_collection(
    project: Path, write: Write, between: str
) -> None:
    page = write("docs/bad.md", f'<!-- skip: next "slow" -->\n\n{between}{SESSION}')
    with pytest.raises(ValueError, match=rf"{page}:1: 'skip: next' must sit directly above"):
        pages("cpu", project).parse(page)


@pytest.mark.parametrize(
    "argument",
    [
        "",
        "needs a GPU",  # not quoted
        '__import__("os").getcwd()',  # code is never evaluated
        '"needs a GPU" + "!"',
        'if(device == "cuda")',
        'if(torch.cuda.is_available(), reason="x")',  # only the pass's device is a condition
        'if(device == "cuda", reason=open("x").read())',
    ],
)
def test_a_reason_that_is_not_a_string_literal_fails_collection(
    project: Path, write: Write, argument: str
) -> None:
    page = write("docs/bad.md", f"<!-- skip: next {argument} -->\n\n{SESSION}")
    with pytest.raises(ValueError, match=rf"{page}:1: 'skip: next' needs its reason as a quoted"):
        pages("cpu", project).parse(page)


def test_unknown_action_fails_collection(project: Path, write: Write) -> None:
    page = write("docs/bad.md", f'<!-- skip: nxet "typo" -->\n\n{SESSION}')
    with pytest.raises(ValueError, match=rf"{page}:1: unknown 'skip: nxet'"):
        pages("cpu", project).parse(page)


def test_skip_for_one_pass_runs_in_the_other(project: Path, write: Write) -> None:
    page = write(
        "docs/numpy.md",
        """<!-- skip: next if(device == "cuda", reason="NumPy arrays live in CPU memory") -->

```pycon
>>> import torch
>>> torch.ones(2).numpy()
array([1., 1.], dtype=float32)
```
""",
    )
    cpu, cuda = outcomes(project, page, "cpu"), outcomes(project, page, "cuda")
    assert cpu == [None, None]
    assert cuda[0] is None and str(cuda[1]) == f"{page}:3: NumPy arrays live in CPU memory"
    # The condition names `device`, but the page's namespace never gets it.
    assert "device" not in pages("cpu", project).parse(page).namespace


@pytest.mark.parametrize(
    "illustration",
    [
        '```markdown\n<!-- skip: next "an illustration" -->\n```\n\n',
        '~~~markdown\n<!-- skip: next "an illustration" -->\n~~~\n\n',
        'The syntax:\n\n    <!-- skip: next "an illustration" -->\n\n',  # indented code
        '- in a list:\n\n    ```markdown\n    <!-- skip: next "x" -->\n    ```\n\n',
    ],
)
def test_a_directive_shown_in_a_code_block_is_not_obeyed(
    project: Path, write: Write, illustration: str
) -> None:
    page = write("docs/guide.md", illustration + SESSION)
    assert outcomes(project, page) == [None]


def test_a_directive_in_an_admonition_is_obeyed(project: Path, write: Write) -> None:
    # Indented, but as an admonition's content, not as a code block.
    page = write(
        "docs/note.md",
        '!!! note\n\n    <!-- skip: next "slow" -->\n    ```pycon\n    >>> 1 / 0\n    ```\n',
    )
    assert [type(error).__name__ for error in outcomes(project, page)] == [
        "NoneType",
        "SkipTest",
    ]


def test_the_site_shows_each_skip_with_its_reason() -> None:
    page = (
        'Text.\n\n<!-- skip: next "needs a dataset" -->\n```python\nx = 1\n```\n\n'
        '<!-- skip: next if(device == "cuda", reason="forked workers") -->\n'
        "```python\nx = 2\n```\n"
    )
    shown = show_skips(page)
    assert '!!! note "Not checked"\n    needs a dataset\n' in shown
    assert '!!! note "Not checked on CUDA"\n    forked workers\n' in shown
    assert "skip:" not in shown


_NEEDS = (
    '<!-- skip: next if(missing("{module}"), reason="needs {module}: pip install it") -->\n\n'
    "```pycon\n>>> 1 + 1\n2\n```\n"
)


def test_a_skip_for_a_missing_package_skips_only_where_it_is_missing(
    project: Path, write: Write
) -> None:
    absent = write("docs/absent.md", _NEEDS.format(module="no_such_package_here"))
    errors = outcomes(project, absent)
    assert isinstance(errors[1], unittest.SkipTest)
    assert str(errors[1]) == f"{absent}:3: needs no_such_package_here: pip install it"
    # Its companion: with the package installed (json always is), the example runs.
    present = write("docs/present.md", _NEEDS.format(module="json"))
    assert outcomes(project, present) == [None, None]


def test_the_site_shows_a_missing_package_note_only_where_it_is_missing() -> None:
    absent = show_skips(_NEEDS.format(module="no_such_package_here"))
    assert '!!! note "Not checked"\n    needs no_such_package_here: pip install it\n' in absent
    present = show_skips(_NEEDS.format(module="json"))
    assert "!!! note" not in present and "skip:" not in present
    assert present.endswith("```pycon\n>>> 1 + 1\n2\n```\n")
