"""Update mode: wrong outputs are rewritten to what the code prints; nothing else moves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.update import main, plan

Write = Callable[[str, str], Path]

PAGE = """# A page

Prose stays as it is, `code` too.

```pycon
>>> import torch
>>> torch.tensor([1.0, 2.0]) * 2
tensor([2., 3.])
>>> x = torch.arange(3)
>>> x + 1
tensor([1, 2, 3])
>>> print("a\\n\\nb")
a
b
```

!!! note "Inside an admonition"

    ```pycon
    >>> torch.eye(2)
    tensor([[0., 0.],
            [0., 0.]])
    >>> print(x.sum())
    ```

<!-- skip: next "a skipped example is never run, so never rewritten" -->

```pycon
>>> 1 / 0
5
```
"""

FIXED = (
    PAGE.replace(
        ">>> torch.tensor([1.0, 2.0]) * 2\ntensor([2., 3.])",
        ">>> torch.tensor([1.0, 2.0]) * 2\ntensor([2., 4.])",
    )
    .replace("a\nb\n```", "a\n<BLANKLINE>\nb\n```")
    .replace(
        "    tensor([[0., 0.],\n            [0., 0.]])\n    >>> print(x.sum())\n",
        "    tensor([[1., 0.],\n            [0., 1.]])\n    >>> print(x.sum())\n    tensor(3)\n",
    )
)


def test_wrong_outputs_are_rewritten_and_nothing_else(project: Path, write: Write) -> None:
    page = write("docs/page.md", PAGE)
    assert main([str(page)], root=project) == 0
    assert page.read_text() == FIXED


def test_a_right_page_is_left_byte_for_byte(project: Path, write: Write) -> None:
    page = write("docs/page.md", FIXED)
    before = page.read_bytes()
    assert main([str(page)], root=project) == 0
    assert page.read_bytes() == before


def test_check_mode_reports_without_writing(
    project: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    page = write("docs/page.md", PAGE)
    assert main(["--check", str(page)], root=project) == 1
    assert page.read_text() == PAGE
    out = capsys.readouterr().out
    assert f"{page}:8: would update output" in out


def test_program_output_blocks_are_rewritten_or_added(project: Path, write: Write) -> None:
    program = write(
        "snippets/topic/demo.py",
        '''
        """A program."""

        import torch

        x = torch.tensor([3.0])
        print(x * 2)
        #> tensor([5.])
        print("done")
        ''',
    )
    assert main([str(program)], root=project) == 0
    assert program.read_text().endswith('print(x * 2)\n#> tensor([6.])\nprint("done")\n#> done\n')


def test_docstring_outputs_are_rewritten(
    project: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(project / "tensorkit")
    module = write(
        "tensorkit/twice.py",
        '''
        def twice(x: int) -> int:
            """Double a number.

            Examples:
                >>> twice(2)
                5
            """
            return 2 * x
        ''',
    )
    assert main([str(module)], root=project) == 0
    assert "        >>> twice(2)\n        4\n" in module.read_text()


def test_exceptions_are_left_for_a_person(project: Path, write: Write) -> None:
    text = (
        "```pycon\n>>> {}['key']\nTraceback (most recent call last):\n  ...\n"
        "KeyError: 'other'\n>>> [][1]\n0\n```\n"
    )
    page = write("docs/errors.md", text)
    report = plan([str(page)], root=project)
    assert report.edits == []
    assert [problem.split(": ", 1)[1] for problem in report.problems] == [
        "the expected exception changed; edit it by hand",
        "the example raised; fix the code, not the output",
    ]
    assert main([str(page)], root=project) == 1
    assert page.read_text() == text
