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
    page = write("docs/bad.md", "```pycon\n>>> 2 + 2\n5\n```\n")
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


# What a page shows must be what Python prints: the cpu pass compares exactly.


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("0.1 + 0.2", "0.3"),
        ("torch.tensor(0.1).item()", "0.1"),  # the point the conversion page makes
        ("2 / 3", "0.7"),
        ("torch.tensor([0.12345])", "tensor([0.1235])"),  # prints 0.1234 or 0.1235? exact
        ("'version 2.13.0'", "'version 2.13.1'"),
        (
            "int('-0.2')",
            "Traceback (most recent call last):\n  ...\nValueError: "
            "invalid literal for int() with base 10: '-0.1'",
        ),
    ],
)
def test_an_output_that_only_rounds_like_the_real_one_fails(
    project: Path, write: Write, code: str, shown: str
) -> None:
    page = write("docs/bad.md", f"```pycon\n>>> import torch\n>>> {code}\n{shown}\n```\n")
    errors = failures(run_document(pages("cpu", project), page))
    got = [str(error) for error in errors]
    if code == "torch.tensor([0.12345])":
        # Whichever way torch rounds, exactly one of the two spellings passes.
        other = write(
            "docs/other.md",
            "```pycon\n>>> import torch\n>>> torch.tensor([0.12345])\ntensor([0.1234])\n```\n",
        )
        other_errors = failures(run_document(pages("cpu", project), other))
        assert len(errors) + len(other_errors) == 1
        return
    assert len(got) == 1 and f'File "{page}", line 3' in got[0]


# Nothing in a collected fence goes unchecked.


def test_a_python_fence_holding_prompts_runs_as_code(project: Path, write: Write) -> None:
    # Classified by its language, not by a >>> line in a docstring: all its code runs.
    page = write(
        "docs/bad.md",
        '''
        ```python
        def double(x):
            """Double x.

            >>> double(2)
            4
            """
            return 2 * x

        assert double(2) == 5, "the rest of the fence ran"
        ```
        ''',
    )
    [error] = failures(run_document(pages("cpu", project), page))
    assert isinstance(error, AssertionError) and "the rest of the fence ran" in str(error)


@pytest.mark.parametrize(
    ("session", "line"),
    [
        ("Some words\n>>> 1 + 1\n2\n", 2),  # before the first example
        (">>> 1 + 1\n2\n\n3\n", 5),  # after the output's blank line: doctest ignores it
        (">>> x = 1\n\nnot output\n>>> x\n1\n", 4),
    ],
)
def test_text_in_a_session_that_belongs_to_no_example_fails_collection(
    project: Path, write: Write, session: str, line: int
) -> None:
    page = write("docs/bad.md", f"```pycon\n{session}```\n")
    with pytest.raises(ValueError, match=rf"{page}:{line}: this line is shown but belongs to no"):
        pages("cpu", project).parse(page)


def test_traceback_lines_doctest_ignores_fail_collection(project: Path, write: Write) -> None:
    page = write(
        "docs/bad.md",
        """
        ```pycon
        >>> 1 / 0
        Traceback (most recent call last):
          File "<stdin>", line 1, in <module>
        ZeroDivisionError: division by zero
        ```
        """,
    )
    with pytest.raises(ValueError, match=rf"{page}:4: doctest ignores traceback lines"):
        pages("cpu", project).parse(page)


@pytest.mark.parametrize(
    ("fence", "line"),
    [
        ("```python\nx = 1\n#> 1\n```\n", 5),
        ('```python figure="A"\nx = 1  #> 1\n```\n', 4),
        ("```pycon\n>>> x = 1  #> 1\n```\n", 4),
    ],
)
def test_output_comments_in_page_fences_fail_collection(
    project: Path, write: Write, fence: str, line: int
) -> None:
    page = write("docs/bad.md", "Text.\n\n" + fence)
    with pytest.raises(ValueError, match=rf"{page}:{line}: a '#>' comment in a"):
        pages("cpu", project).parse(page)


@pytest.mark.parametrize("directive", ["ELLIPSIS", "SKIP", "IGNORE_EXCEPTION_DETAIL", "NUMBER"])
def test_directives_that_hide_values_fail_collection(
    project: Path, write: Write, directive: str
) -> None:
    page = write("docs/bad.md", f"```pycon\n>>> 1 + 1  # doctest: +{directive}\n2\n```\n")
    with pytest.raises(ValueError, match=rf"{page}:2: '# doctest: \+{directive}' is not allowed"):
        pages("cpu", project).parse(page)


def test_an_allowed_directive_still_compares(project: Path, write: Write) -> None:
    page = write(
        "docs/ok.md", "```pycon\n>>> [1,  2]  # doctest: +NORMALIZE_WHITESPACE\n[1, 3]\n```\n"
    )
    assert len(failures(run_document(pages("cpu", project), page))) == 1


@pytest.mark.parametrize("language", ["ipython", "python2"])
def test_python_languages_the_harness_cannot_run_fail_collection(
    project: Path, write: Write, language: str
) -> None:
    page = write("docs/bad.md", f"```{language}\nx = 1\n```\n")
    with pytest.raises(ValueError, match=rf"{page}:1: ```{language} fences are not run"):
        pages("cpu", project).parse(page)


# Published but never collected, before.


def test_a_python_fence_inside_an_html_comment_fails_collection(
    project: Path, write: Write
) -> None:
    page = write("docs/bad.md", "Text.\n\n<!--\n```python\nsecret = 1\n```\n-->\n")
    with pytest.raises(ValueError, match=rf"{page}:4: a Python fence inside an HTML comment"):
        pages("cpu", project).parse(page)


@pytest.mark.parametrize(
    "include",
    ['--8<-- "part.md"', '```python\n--8<-- "part.md"\n```', '```text\n--8<-- "notes.txt"\n```'],
)
def test_including_anything_but_a_snippet_program_fails_collection(
    project: Path, write: Write, include: str
) -> None:
    page = write("docs/bad.md", f"# Page\n\n{include}\n")
    with pytest.raises(ValueError, match=rf"{page}:\d: this includes "):
        pages("cpu", project).parse(page)


def test_a_snippet_program_included_into_a_python_fence_is_collected(
    project: Path, write: Write
) -> None:
    write("snippets/topic/ok.py", "x = 1\n")
    page = write("docs/ok.md", '```python\n--8<-- "topic/ok.py"\n```\n')
    [example] = pages("cpu", project).parse(page).examples()
    assert example.parsed.body.kind == "include"


@pytest.mark.parametrize("extension", [".markdown", ".mdown", ".mkdn", ".mkd"])
def test_every_page_extension_mkdocs_builds_is_collected(
    project: Path, write: Write, extension: str
) -> None:
    page = write(f"docs/page{extension}", "```pycon\n>>> 1 + 1\n3\n```\n")
    assert pages("cpu", project).should_parse(page)
    assert len(failures(run_document(pages("cpu", project), page))) == 1


def test_attribute_docstrings_are_collected(
    project: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(project / "tensorkit")
    module = write(
        "tensorkit/attrs.py",
        '''
        LIMIT = 3
        """The limit, which mkdocstrings shows with its own docstring.

        Examples:
            >>> LIMIT + 1
            5
        """


        class Box:
            size: int = 2
            """A class attribute's docstring.

            Examples:
                >>> Box.size
                3
            """
        ''',
    )
    errors = failures(run_document(docstrings("cpu", project), module))
    assert len(errors) == 2
    assert f'File "{module}", line 5' in str(errors[0])
    assert f'File "{module}", line 15' in str(errors[1])
