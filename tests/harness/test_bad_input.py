"""Bad examples fail, naming the file and the line: at collection where they cannot be
read, at run time where they run wrong. None passes silently."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from sybil.example import SybilFailure

from harness.collect import docstrings, pages, run_document, snippets

Write = Callable[[str, str], Path]


def failures(outcomes: list) -> list[BaseException]:
    return [error for _, error in outcomes if error is not None]


def test_malformed_doctest_fails_collection_with_file_and_line(
    project: Path, write: Write
) -> None:
    page = write(
        "docs/bad.md",
        """
        # Bad

        ```pycon
        >>> x = 1
        >>>print(x)
        1
        ```
        """,
    )
    with pytest.raises(ValueError, match=rf"{page}:5: malformed doctest"):
        pages("cpu", project).parse(page)


def test_unparseable_code_fence_fails_collection_with_file_and_line(
    project: Path, write: Write
) -> None:
    page = write(
        "docs/bad.md",
        """
        Text.

        ```python title="broken.py"
        x = (1,
        ```
        """,
    )
    with pytest.raises(SyntaxError) as caught:
        pages("cpu", project).parse(page)
    assert caught.value.filename == str(page) and caught.value.lineno == 4


def test_pycon_fence_without_a_session_fails_collection(project: Path, write: Write) -> None:
    page = write("docs/bad.md", "```pycon\nx = 1\n```\n")
    with pytest.raises(ValueError, match=rf"{page}:1: a pycon fence must hold a >>> session"):
        pages("cpu", project).parse(page)


def test_skip_without_reason_fails_collection(project: Path, write: Write) -> None:
    page = write("docs/bad.md", "<!-- skip: next -->\n\n```python\nx = 1\n```\n")
    with pytest.raises(ValueError, match=rf"{page}:1: 'skip: next' needs a reason"):
        pages("cpu", project).parse(page)


def test_example_that_raises_unexpectedly_fails_naming_the_line(
    project: Path, write: Write
) -> None:
    page = write(
        "docs/bad.md",
        """
        ```pycon
        >>> numbers = [1, 2]
        >>> numbers[5]
        2
        ```
        """,
    )
    [(example, error)] = run_document(pages("cpu", project), page)
    assert isinstance(error, SybilFailure)
    assert f'File "{page}", line 3' in str(error)
    assert "IndexError: list index out of range" in str(error)


def test_wrong_output_fails_showing_expected_and_got(project: Path, write: Write) -> None:
    page = write("docs/bad.md", "```py\n>>> 2 + 2\n5\n```\n")
    [error] = failures(run_document(pages("cpu", project), page))
    assert f'File "{page}", line 2' in str(error)
    assert "Expected:\n    5\nGot:\n    4" in str(error)


def test_code_fence_that_raises_points_its_traceback_at_the_page_line(
    project: Path, write: Write
) -> None:
    page = write("docs/bad.md", "Intro.\n\n```python\nx = 1\ny = x / 0\n```\n")
    [error] = failures(run_document(pages("cpu", project), page))
    assert isinstance(error, ZeroDivisionError)
    frames = traceback.extract_tb(error.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno) == (str(page), 5)


def test_code_fence_that_prints_unshown_output_fails(project: Path, write: Write) -> None:
    page = write("docs/bad.md", "```python\nprint('surprise')\n```\n")
    [error] = failures(run_document(pages("cpu", project), page))
    assert f"{page}:2: this code printed output that the page does not show" in str(error)


def test_include_of_a_file_that_is_not_a_snippet_program_fails(
    project: Path, write: Write
) -> None:
    page = write("docs/bad.md", '```python\n--8<-- "autograd/missing.py"\n```\n')
    [error] = failures(run_document(pages("cpu", project), page))
    assert "['autograd/missing.py'] are not Python programs" in str(error)


def test_snippet_with_wrong_output_names_the_output_line(project: Path, write: Write) -> None:
    program = write(
        "snippets/topic/wrong.py",
        """
        import torch

        print(torch.tensor([1.0]) * 2)
        #> tensor([3.])
        """,
    )
    [error] = failures(run_document(snippets("cpu", project), program))
    assert f"{program}:4: output differs from the '#>' block" in str(error)


def test_snippet_that_prints_without_a_block_fails(project: Path, write: Write) -> None:
    program = write("snippets/topic/chatty.py", "x = 1\nprint(x)\n")
    [error] = failures(run_document(snippets("cpu", project), program))
    assert "output differs from code with no '#>' block" in str(error)


def test_snippet_that_raises_points_at_its_line(project: Path, write: Write) -> None:
    program = write("snippets/topic/raises.py", "x = 1\n\ny = {}[x]\n")
    [error] = failures(run_document(snippets("cpu", project), program))
    assert isinstance(error, KeyError)
    frames = traceback.extract_tb(error.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno) == (str(program), 3)


def test_output_comment_before_any_statement_fails_collection(project: Path, write: Write) -> None:
    program = write("snippets/topic/stray.py", "#> 1\nx = 1\n")
    with pytest.raises(ValueError, match=rf"{program}:1: '#>' output before any statement"):
        snippets("cpu", project).parse(program)


def test_malformed_docstring_session_fails_naming_the_file_line(
    project: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sybil imports the module whose docstrings it runs, so its folder must be importable.
    monkeypatch.syspath_prepend(project / "tensorkit")
    module = write(
        "tensorkit/bad.py",
        '''
        def f():
            """Return one.

            Examples:
                >>> f()
                1
                >>>f()
            """
            return 1
        ''',
    )
    [error] = failures(run_document(docstrings("cpu", project), module))
    assert isinstance(error, ValueError)
    assert f"{module}:7: malformed doctest lacks blank after >>>" in str(error)


def test_skipped_example_is_reported_as_skipped_with_its_reason(
    project: Path, write: Write
) -> None:
    page = write(
        "docs/skip.md",
        """
        <!-- skip: next "needs a dataset this page cannot ship" -->

        ```pycon
        >>> 1 / 0
        ```

        ```pycon
        >>> 1 + 1
        2
        ```
        """,
    )
    outcomes = run_document(pages("cpu", project), page)
    errors = [error for _, error in outcomes]
    assert errors[0] is None  # the directive itself
    assert str(errors[1]) == "needs a dataset this page cannot ship"
    assert errors[2] is None


def test_skip_for_one_pass_runs_in_the_other(project: Path, write: Write) -> None:
    page = write(
        "docs/numpy.md",
        """
        <!-- skip: next if(device == "cuda", reason="NumPy arrays live in CPU memory") -->

        ```pycon
        >>> import torch
        >>> torch.ones(2).numpy()
        array([1., 1.], dtype=float32)
        ```
        """,
    )
    cpu = [error for _, error in run_document(pages("cpu", project), page)]
    cuda = [error for _, error in run_document(pages("cuda", project), page)]
    assert cpu == [None, None]
    assert cuda[0] is None and str(cuda[1]) == "NumPy arrays live in CPU memory"
    # The condition saw `device`, but the page's namespace never gets it.
    assert "device" not in pages("cpu", project).parse(page).namespace


def test_skip_condition_without_reason_fails_collection(project: Path, write: Write) -> None:
    page = write(
        "docs/bad.md", '<!-- skip: next if(device == "cuda") -->\n\n```python\nx = 1\n```\n'
    )
    with pytest.raises(ValueError, match=rf"{page}:1: 'skip: next' needs a reason"):
        pages("cpu", project).parse(page)


def test_skip_directive_inside_a_code_block_is_not_obeyed(project: Path, write: Write) -> None:
    page = write(
        "docs/guide.md",
        """
        ```markdown
        <!-- skip: next "an illustration of the syntax" -->
        ```

        ```pycon
        >>> 1 + 1
        2
        ```
        """,
    )
    assert [error for _, error in run_document(pages("cpu", project), page)] == [None]
