"""What counts as Python, and what the copy button copies."""

import pytest

from harness.fences import (
    classify,
    fence_language,
    is_python_info,
    is_session_info,
    runnable_code,
)


@pytest.mark.parametrize(
    ("info", "language"),
    [
        ("python", "python"),
        ('py title="basics.py"', "py"),
        ("{ .python .annotate }", "python"),
        ("{.pycon}", "pycon"),
        ("PyCon", "pycon"),
        ("", None),
    ],
)
def test_fence_language(info: str, language: str | None) -> None:
    assert fence_language(info) == language


def test_python_info_strings() -> None:
    assert all(is_python_info(i) for i in ["python", "py", "pycon", "python3", "ipython"])
    assert all(is_session_info(i) for i in ["pycon", "pycon title='a'", "{ .pycon }"])
    assert not any(is_session_info(i) for i in ["python", "py", "text", ""])
    assert not any(is_python_info(i) for i in ["text", "bash", "", "pyodide", "toml"])


def test_classify_by_language() -> None:
    assert classify(">>> 1\n1\n", "pycon").kind == "doctest"
    assert classify("x = 1\n", "python").kind == "code"
    # A prompt in a python fence (say in a docstring) does not make it a session.
    assert classify('def f():\n    """\n    >>> f()\n    """\n', "python").kind == "code"
    assert classify("plt.plot([1])\n", 'python figure="A line"').kind == "figure"
    include = classify('--8<-- "autograd/basics_mse.py"\n', "python")
    assert include.kind == "include" and include.includes == ("autograd/basics_mse.py",)
    # An include mixed with code is code, and would fail to compile: not silently skipped.
    assert classify('x = 1\n--8<-- "a.py"\n', "python").kind == "code"


def test_runnable_code_drops_prompts_and_output() -> None:
    session = (
        ">>> import torch\n"
        ">>> for i in range(2):\n"
        "...     print(i)\n"
        "0\n"
        "1\n"
        ">>> torch.tensor([1.0])  # doctest: +ELLIPSIS\n"
        "tensor([1.])\n"
    )
    assert runnable_code(session, session=True) == (
        "import torch\nfor i in range(2):\n    print(i)\ntorch.tensor([1.0])\n"
    )


def test_runnable_code_keeps_a_session_runnable() -> None:
    session = ">>> x = 2\n>>> y = x * 3\n>>> y\n6\n"
    namespace: dict[str, object] = {}
    exec(runnable_code(session, session=True), namespace)
    assert namespace["y"] == 6


def test_runnable_code_drops_output_comments_from_programs() -> None:
    program = "x = 2\nprint(x)\n#> 2\n# a real comment stays\n"
    assert runnable_code(program, session=False) == "x = 2\nprint(x)\n# a real comment stays\n"
