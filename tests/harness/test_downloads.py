"""Downloads: a page as a script that prints what the page shows, and as a notebook.

Each test writes a small page into a throwaway project and checks the exact text that
:mod:`harness.downloads` makes of it; the scripts that claim to reproduce the page are
run, and their output compared with the ``#>`` lines they carry.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.downloads import (
    PLAIN_REPR,
    DownloadError,
    expected_output,
    notebook_json,
    page_cells,
    page_notebook,
    page_script,
)

Write = Callable[[str, str], Path]


def session_page(write: Write, session: str, name: str = "page.md") -> Path:
    """A page titled "Page" with one ``pycon`` fence; its first ``>>>`` is on line 4."""
    return write(f"docs/{name}", "# Page\n\n```pycon\n" + session.strip("\n") + "\n```\n")


def scripts(page: Path, project: Path) -> list[str]:
    """The script text of each code cell of ``page``, in page order."""
    return [cell.script for cell in page_cells(page, project) if cell.kind == "code"]


def header(relative: str, title: str = "Page") -> str:
    return (
        f"# {title}\n"
        f"# The examples of docs/{relative}, in page order. Each value the page shows is\n"
        "# printed, with the page's output beneath it in #> comments.\n"
        "\n"
    )


def run_script(script: str, folder: Path) -> str:
    """Run a downloaded script as a reader would, with this environment's Python.

    It runs in a folder of its own, outside the project: a reader has only the script.
    """
    folder = folder / "reader"
    folder.mkdir()
    path = folder / "page.py"
    path.write_text(script, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=folder,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def shown(script: str) -> list[str]:
    """The ``#>`` lines of a script, trailing spaces stripped."""
    return [text.rstrip() for _, text in expected_output(script)]


def printed(stdout: str) -> list[str]:
    return [line.rstrip() for line in stdout.splitlines()]


# 1. Displayed values are printed; statements stay as they are.


def test_a_displayed_expression_is_printed_and_its_output_follows_as_comments(
    project: Path, write: Write
) -> None:
    page = session_page(
        write,
        """
>>> import torch
>>> w = torch.ones(2, requires_grad=True)
>>> (w * 3).sum().backward()
>>> w.grad
tensor([3., 3.])
>>> print(w)
tensor([1., 1.], requires_grad=True)
""",
    )
    assert scripts(page, project) == [
        "import torch\n"
        "w = torch.ones(2, requires_grad=True)\n"
        "(w * 3).sum().backward()\n"
        "print(w.grad)\n"
        "#> tensor([3., 3.])\n",
        # Already printed: not wrapped again.
        "print(w)\n#> tensor([1., 1.], requires_grad=True)\n",
    ]


# 2. Tuples shown as ``a, b`` are printed as one value.


@pytest.mark.parametrize(
    ("line", "want", "script_line"),
    [
        ("a, b", "(1, 2)", "print((a, b))"),
        ("(a - b).mean(), c", "(tensor(-1.), 3)", "print(((a - b).mean(), c))"),
        ("(a, b)", "(1, 2)", "print((a, b))"),
        ("(a - b) * 2, c", "(-2, 3)", "print(((a - b) * 2, c))"),
        ("x  # note", "3", "print(x)  # note"),
        ("(a, b)  # a pair", "(1, 2)", "print((a, b))  # a pair"),
    ],
)
def test_a_bare_tuple_is_printed_as_one_value_and_a_comment_stays_after_it(
    project: Path, write: Write, line: str, want: str, script_line: str
) -> None:
    page = session_page(write, f">>> {line}\n{want}\n")
    assert scripts(page, project) == [f"{script_line}\n#> {want}\n"]


# 3. Values whose str differs from their repr are printed with repr().


@pytest.mark.parametrize(
    ("line", "want", "script_line"),
    [
        ("name", "'weight'", "print(repr(name))"),
        ('"a" + "b"', "'ab'", 'print(repr("a" + "b"))'),
        ("data", "b'\\x00'", "print(repr(data))"),
        ("np.arange(2)", "array([0, 1])", "print(repr(np.arange(2)))"),
        ('torch.device("cpu")', "device(type='cpu')", 'print(repr(torch.device("cpu")))'),
        ("x.numpy(), y", "(array([1.]), 2)", "print((x.numpy(), y))"),
    ],
)
def test_a_value_shown_as_a_string_array_or_device_is_printed_with_repr(
    project: Path, write: Write, line: str, want: str, script_line: str
) -> None:
    page = session_page(write, f">>> {line}\n{want}\n")
    assert scripts(page, project) == [f"{script_line}\n#> {want}\n"]


# 4. Where print() goes: over several lines, and after non-ASCII text.


def test_an_expression_over_continuation_lines_is_wrapped_whole(
    project: Path, write: Write
) -> None:
    page = session_page(
        write,
        """
>>> torch.tensor([1,
...               2])
tensor([1, 2])
>>> x = 1; (x +
...  1), x
(2, 1)
""",
    )
    assert scripts(page, project) == [
        "print(torch.tensor([1,\n              2]))\n#> tensor([1, 2])\n",
        "x = 1; print(((x +\n 1), x))\n#> (2, 1)\n",
    ]


def test_non_ascii_text_before_or_in_the_expression_keeps_the_columns_right(
    project: Path, write: Write
) -> None:
    # The parser's columns count UTF-8 bytes: "张量" is 6 bytes but 2 characters.
    page = session_page(
        write,
        """
>>> s = "张量"; s
'张量'
>>> t = "张量"; len(t), t  # 两个字
(2, '张量')
>>> "张量" + "!"  # 注释
'张量!'
""",
    )
    assert scripts(page, project) == [
        "s = \"张量\"; print(repr(s))\n#> '张量'\n",
        "t = \"张量\"; print((len(t), t))  # 两个字\n#> (2, '张量')\n",
        'print(repr("张量" + "!"))  # 注释\n#> \'张量!\'\n',
    ]


# 5. Expected exceptions, and scripts that run as the page shows.


def test_a_statement_shown_raising_is_caught_and_prints_the_last_traceback_line(
    project: Path, write: Write, tmp_path: Path
) -> None:
    page = session_page(
        write,
        """
>>> 1/0
Traceback (most recent call last):
  ...
ZeroDivisionError: division by zero
""",
    )
    script = page_script(page, root=project)
    assert script == header("page.md") + (
        "# docs/page.md:4\n"
        "try:\n"
        "    1/0\n"
        "except ZeroDivisionError as error:  # the page shows this error\n"
        '    print("ZeroDivisionError:", error)\n'
        "#> ZeroDivisionError: division by zero\n"
    )
    assert expected_output(script) == [(10, "ZeroDivisionError: division by zero")]
    assert run_script(script, tmp_path) == "ZeroDivisionError: division by zero\n"


SMALL_PAGE = """
# Small page

```pycon
>>> import torch
>>> w = torch.tensor([1.0, 2.0], requires_grad=True)
>>> (w * w).sum().backward()
>>> w.grad
tensor([2., 4.])
>>> a, b = w.detach(), torch.tensor([0.5, 0.5])
>>> (a - b).mean(), w.shape
(tensor(1.), torch.Size([2]))
>>> name = "张量"; name
'张量'
>>> torch.device("cpu")
device(type='cpu')
>>> a.numpy()
array([1., 2.], dtype=float32)
```

Printed text (each line ends in a space the page does not show), and an error:

```pycon
>>> for i in range(2):
...     print(i, end=" ")
...     print()
0
1
>>> torch.ones(2).view(3)
Traceback (most recent call last):
  ...
RuntimeError: shape '[3]' is invalid for input of size 2
```

```python
--8<-- "topic/steps.py"
```
"""

STEPS = """
total = 0
for step in range(3):
    total += step
    print(f"step {step}: total {total}")
#> step 0: total 0
#> step 1: total 1
#> step 2: total 3
"""


def test_a_generated_script_run_end_to_end_prints_exactly_its_output_comments(
    project: Path, write: Write, tmp_path: Path
) -> None:
    write("snippets/topic/steps.py", STEPS)
    page = write("docs/small.md", SMALL_PAGE)
    script = page_script(page, root=project)
    assert len(shown(script)) == 11
    assert printed(run_script(script, tmp_path)) == shown(script)


def test_a_page_showing_the_wrong_output_gives_a_script_whose_output_differs(
    project: Path, write: Write, tmp_path: Path
) -> None:
    page = session_page(
        write,
        """
>>> x = 2
>>> x + 1
4
>>> print(x * 10)
20
""",
    )
    script = page_script(page, root=project)
    assert shown(script) == ["4", "20"]
    stdout = printed(run_script(script, tmp_path))
    assert stdout == ["3", "20"]
    assert stdout != shown(script)


# 6. Displays a single print() cannot reproduce are refused, naming the page line.


@pytest.mark.parametrize(
    "session",
    [
        ">>> x = 1\n>>> for i in range(2): i\n0\n1\n",
        ">>> a, b = 1, 2\n>>> a; b\n1\n2\n",
    ],
    ids=["inside-a-loop", "two-on-one-line"],
)
def test_a_display_a_script_cannot_print_as_shown_is_refused_naming_the_line(
    project: Path, write: Write, session: str
) -> None:
    page = session_page(write, session, name="topic/page.md")
    with pytest.raises(DownloadError) as refused:
        page_script(page, root=project)
    assert str(refused.value).startswith("docs/topic/page.md:5: ")
    assert "print it with print() instead" in str(refused.value)


# 7. The notebook: prose as Markdown, each shown output stored in its cell.


def test_prose_becomes_markdown_cells_that_read_in_a_notebook(project: Path, write: Write) -> None:
    page = write(
        "docs/sub/page.md",
        """
        # Title

        Some prose with a [link](other.md#a) and [another](../index.md).
        <!-- a comment the reader never sees -->

        !!! note "Title"
            Body line one.

                indented code in the note

            Body line two.

        !!! warning
            Careful.

        After the note.

        ```pycon
        >>> x = 1
        ```

        ## Next { #next }

        More <!-- hidden --> prose.
        """,
    )
    markdown = [cell.source for cell in page_cells(page, project) if cell.kind == "markdown"]
    assert markdown == [
        "# Title\n"
        "\n"
        "Some prose with a [link](../other/#a) and [another](../../).\n"
        "\n"
        "\n"
        "**Title**\n"
        "Body line one.\n"
        "\n"
        "    indented code in the note\n"
        "\n"
        "Body line two.\n"
        "\n"
        "**Warning**\n"
        "Careful.\n"
        "\n"
        "After the note.\n",
        "## Next\n\nMore  prose.\n",
    ]


NOTEBOOK_PAGE = """
# Notebook

Before the session.

```pycon
>>> print("hello")
hello
>>> y = 3
>>> y * 2
6
```

Between.

```pycon
>>> z = y + 1
>>> 1/0
Traceback (most recent call last):
  ...
ZeroDivisionError: division by zero
>>> [z, "张量"]
[4, '张量']
>>> del z
```
"""


def test_a_notebook_stores_each_shown_output_in_the_cell_that_ends_with_it(
    project: Path, write: Write
) -> None:
    page = write("docs/notebook.md", NOTEBOOK_PAGE)
    notebook = page_notebook(page, root=project)

    def code(identifier: str, line: int, source: list[str], *outputs: Any) -> dict[str, Any]:
        return {
            "cell_type": "code",
            "id": identifier,
            "execution_count": None,
            "metadata": {"page_line": f"docs/notebook.md:{line}"},
            "outputs": list(outputs),
            "source": source,
        }

    def markdown(identifier: str, source: list[str]) -> dict[str, Any]:
        return {"cell_type": "markdown", "id": identifier, "metadata": {}, "source": source}

    def value(*text: str) -> dict[str, Any]:
        return {
            "output_type": "execute_result",
            "execution_count": None,
            "data": {"text/plain": list(text)},
            "metadata": {},
        }

    error_cell = code(
        "cell-4",
        16,
        ["z = y + 1\n", "1/0"],
        {
            "output_type": "error",
            "ename": "ZeroDivisionError",
            "evalue": "division by zero",
            "traceback": ["ZeroDivisionError: division by zero"],
        },
    )
    error_cell["metadata"]["tags"] = ["raises-exception"]
    assert notebook["cells"] == [
        {
            "cell_type": "code",
            "id": "show-repr",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": [
                "# Show values as Python shows them, as the page does.\n",
                "%config PlainTextFormatter.pprint = False\n",
            ],
        },
        markdown("cell-0", ["# Notebook\n", "\n", "Before the session."]),
        # Three examples, the first and third showing output: two cells, each starting
        # on the line of its first >>>.
        code(
            "cell-1",
            6,
            ['print("hello")'],
            {"output_type": "stream", "name": "stdout", "text": ["hello\n"]},
        ),
        code("cell-2", 8, ["y = 3\n", "y * 2"], value("6")),
        markdown("cell-3", ["Between."]),
        error_cell,
        code("cell-5", 21, ['[z, "张量"]'], value("[4, '张量']")),
        code("cell-6", 23, ["del z"]),
    ]
    assert notebook["nbformat"] == 4 and notebook["nbformat_minor"] == 5
    assert "".join(notebook["cells"][0]["source"]) == PLAIN_REPR


def test_notebook_json_is_the_notebook_with_non_ascii_text_as_written(
    project: Path, write: Write
) -> None:
    page = write("docs/notebook.md", NOTEBOOK_PAGE)
    text = notebook_json(page, root=project)
    assert json.loads(text) == page_notebook(page, root=project)
    assert "[4, '张量']" in text and text.endswith("}\n")


# 8. An included snippet program: one cell, its #> lines its output.


def test_an_included_snippet_is_one_cell_its_output_comments_kept_in_the_script_only(
    project: Path, write: Write
) -> None:
    write("snippets/topic/steps.py", STEPS)
    page = write(
        "docs/steps.md",
        """
        # Steps

        ```python
        --8<-- "topic/steps.py"
        ```
        """,
    )
    assert page_script(page, root=project) == header("steps.md", "Steps") + (
        "# docs/steps.md:4\n"
        "total = 0\n"
        "for step in range(3):\n"
        "    total += step\n"
        '    print(f"step {step}: total {total}")\n'
        "#> step 0: total 0\n"
        "#> step 1: total 1\n"
        "#> step 2: total 3\n"
    )
    cells = page_notebook(page, root=project)["cells"]
    assert cells[2] == {
        "cell_type": "code",
        "id": "cell-1",
        "execution_count": None,
        "metadata": {"page_line": "docs/steps.md:4"},
        "outputs": [
            {
                "output_type": "stream",
                "name": "stdout",
                "text": ["step 0: total 0\n", "step 1: total 1\n", "step 2: total 3\n"],
            }
        ],
        "source": [
            "total = 0\n",
            "for step in range(3):\n",
            "    total += step\n",
            '    print(f"step {step}: total {total}")',
        ],
    }
    assert len(cells) == 3
