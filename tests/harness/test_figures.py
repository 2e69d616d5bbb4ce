"""Figure fences: the tested code draws the picture the site shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt

from harness.collect import draw_page_figures, pages, run_document
from harness.figures import capture_figures
from harness.page_features import insert_figures, mark_figures

Write = Callable[[str, str], Path]

PAGE = """
# Curves

```pycon
>>> losses = [1.0 / (step + 1) for step in range(10)]
```

```python figure="Loss per step"
import matplotlib.pyplot as plt

plt.plot(losses)  # drawn from the session above: the page shares one namespace
plt.show()
```
"""


def test_figure_fence_runs_in_the_page_namespace(project: Path, write: Write) -> None:
    page = write("docs/curves.md", PAGE)
    assert [error for _, error in run_document(pages("cpu", project), page)] == [None, None]
    [(line, [svg])] = draw_page_figures(page)
    assert line == 7 and svg.startswith("<svg") and svg.endswith("</svg>")


def test_figure_fence_that_draws_nothing_fails(project: Path, write: Write) -> None:
    page = write("docs/empty.md", '```python figure="Nothing"\nx = 1\n```\n')
    [(_, error)] = run_document(pages("cpu", project), page)
    assert f"{page}:2: a figure fence must draw a matplotlib figure" in str(error)


def test_figure_fence_that_prints_fails(project: Path, write: Write) -> None:
    page = write(
        "docs/chatty.md",
        '```python figure="Chatty"\nimport matplotlib.pyplot as plt\n'
        'plt.plot([1, 2])\nprint("hi")\n```\n',
    )
    [(_, error)] = run_document(pages("cpu", project), page)
    assert "printed output the page does not show" in str(error)


def test_capture_is_deterministic_and_leaves_no_figure_open() -> None:
    code = compile(
        "import matplotlib.pyplot as plt\nplt.plot([3, 1, 2])\nplt.show()\n", "f", "exec"
    )
    first, printed = capture_figures(code, {})
    second, _ = capture_figures(code, {})
    assert first == second and len(first) == 1 and printed == ""
    assert plt.get_fignums() == []
    assert plt.show.__module__ == "matplotlib.pyplot"  # the real show is back


def test_hook_strips_the_attribute_and_places_the_figure() -> None:
    markdown, captions = mark_figures(
        'Text.\n\n```python title="curve.py" figure="A curve"\nplt.plot(x)\n```\nMore.\n'
    )
    assert captions == ["A curve"]
    assert '```python title="curve.py"\n' in markdown and "figure=" not in markdown
    placeholder = '<span class="tensorkit-figure" data-index="0"></span>'
    assert f"```\n\n{placeholder}\n\nMore." in markdown
    html = insert_figures(f"<p>{placeholder}</p>", [("A curve", ["<svg>1</svg>"])])
    assert (
        html
        == '<figure class="tensorkit-figure"><svg>1</svg><figcaption>A curve</figcaption></figure>'
    )
