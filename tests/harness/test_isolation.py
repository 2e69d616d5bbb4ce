"""Each document runs as in a fresh interpreter and shows everything its code writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.collect import pages, run_document, shuffle_documents, snippets

Write = Callable[[str, str], Path]


def errors(project: Path, page: Path, device: str = "cpu") -> list[str]:
    sybil = snippets(device, project) if page.suffix == ".py" else pages(device, project)
    return [str(error) for _, error in run_document(sybil, page) if error is not None]


# Fresh state for every document.

CHANGES_STATE = """
```pycon
>>> import numpy as np, torch, warnings, matplotlib
>>> np.set_printoptions(precision=2)
>>> torch.set_printoptions(precision=1)
>>> torch.set_default_dtype(torch.float64)
>>> matplotlib.rcParams["lines.linewidth"] = 7.0
>>> warnings.simplefilter("ignore")
>>> np.array([1 / 3]), torch.tensor([1 / 3])
(array([0.33]), tensor([0.3]))
```
"""

READS_STATE = """
```pycon
>>> import numpy as np, torch, warnings, matplotlib
>>> np.array([1 / 3]), torch.tensor([1 / 3])
(array([0.33333333]), tensor([0.3333]))
>>> torch.get_default_dtype(), matplotlib.rcParams["lines.linewidth"]
(torch.float32, 1.5)
>>> warnings.warn("shown in a fresh interpreter")
```
"""


def test_state_does_not_leak_from_one_document_to_the_next(project: Path, write: Write) -> None:
    first = write("docs/first.md", CHANGES_STATE)
    second = write("docs/second.md", READS_STATE)
    assert errors(project, first) == []
    [failure] = errors(project, second)
    # Everything matched but the warning, which the fresh filters show and the page does not.
    assert "UserWarning: shown in a fresh interpreter" in failure
    assert "Expected" not in failure
    torch.set_default_dtype(torch.float32)


def test_state_carries_from_example_to_example_within_a_document(
    project: Path, write: Write
) -> None:
    page = write(
        "docs/session.md",
        """
        ```pycon
        >>> import numpy as np, warnings
        >>> np.set_printoptions(precision=2)
        >>> warnings.simplefilter("ignore")
        ```

        The next fence is a new pytest item, but the same reader's session:

        ```pycon
        >>> np.array([1 / 3])
        array([0.33])
        >>> warnings.warn("ignored, as the page asked")
        ```
        """,
    )
    assert errors(project, page) == []
    assert np.get_printoptions()["precision"] == 2  # until the next document starts
    write(
        "docs/next.md",
        "```pycon\n>>> import numpy as np\n>>> np.array([1 / 3])\narray([0.33333333])\n```\n",
    )
    assert errors(project, project / "docs" / "next.md") == []


# What a page cannot show fails.


def test_a_warning_the_page_does_not_show_fails(project: Path, write: Write) -> None:
    page = write(
        "docs/warns.md",
        """
        ```pycon
        >>> import warnings
        >>> warnings.warn("careful")
        ```
        """,
    )
    [failure] = errors(project, page)
    assert f"{page}:1: the code raised a warning the page does not show" in failure
    assert "UserWarning: careful" in failure


def test_a_warning_the_page_catches_and_shows_passes(project: Path, write: Write) -> None:
    page = write(
        "docs/shows.md",
        """
        ```pycon
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warnings.warn("careful")
        >>> str(caught[0].message)
        'careful'
        ```
        """,
    )
    assert errors(project, page) == []


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        ("docs/stderr.md", "```python\nimport sys\nsys.stderr.write('progress 50%\\n')\n```\n"),
        ("snippets/topic/stderr.py", "import sys\n\nprint('progress', file=sys.stderr)\n"),
    ],
)
def test_output_to_stderr_fails(project: Path, write: Write, relative: str, text: str) -> None:
    path = write(relative, text)
    [failure] = errors(project, path)
    assert "wrote to stderr, which the page does not show" in failure
    assert "progress" in failure


# Random draws must be seeded.

UNSEEDED = """
Text.

```pycon
>>> import torch
>>> torch.randint(0, 2, (1,)).shape
torch.Size([1])
```
"""


def test_an_unseeded_draw_fails_every_time_naming_file_and_line(
    project: Path, write: Write
) -> None:
    # Its output here does not even depend on the draw: the draw itself is the mistake,
    # found from the generator's state, so it fails on every run, not by luck.
    page = write("docs/unseeded.md", UNSEEDED)
    for _ in range(20):
        [failure] = errors(project, page)
        assert f"{page}:5: this example draws random numbers before the page seeds" in failure


@pytest.mark.parametrize(
    "code",
    [
        ">>> _ = torch.manual_seed(0)\n>>> torch.randint(0, 2, (1,))\ntensor([0])",
        ">>> g = torch.Generator().manual_seed(0)\n>>> torch.randint(0, 2, (1,), generator=g)\n"
        "tensor([0])",
    ],
)
def test_a_seeded_draw_passes(project: Path, write: Write, code: str) -> None:
    page = write("docs/seeded.md", f"```pycon\n>>> import torch\n{code}\n```\n")
    assert errors(project, page) == []


@pytest.mark.parametrize(
    "draw",
    [
        "from torch import nn\n>>> _ = nn.Linear(2, 1)",  # nn.init inside a layer
        "from torch.utils.data import DataLoader\n>>> _ = next(iter(DataLoader([1, 2])))",
        "_ = torch.nn.functional.dropout(torch.ones(3))",
    ],
)
def test_draws_hidden_inside_pytorch_are_found_too(project: Path, write: Write, draw: str) -> None:
    page = write("docs/hidden.md", f"```pycon\n>>> import torch\n>>> {draw}\n```\n")
    [failure] = errors(project, page)
    assert "draws random numbers before the page seeds" in failure


# Documents run in a shuffled order.


@dataclass
class FakeItem:
    name: str
    parent: Any
    markers: set[str] = field(default_factory=set)

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.markers else None


def test_documents_are_shuffled_whole_and_in_order() -> None:
    unit = FakeItem("test_something", parent=None)
    last = FakeItem("test_site", parent=None, markers={"after_documents"})
    files = [object() for _ in range(8)]
    examples = [
        FakeItem(f"sybil:{device},line:{line},column:1", parent)
        for parent in files
        for device in ("cpu", "cuda")
        for line in (1, 5)
    ]
    orders = []
    for seed in (1, 2):
        items: list[Any] = [unit, last, *examples]
        shuffle_documents(items, seed)
        assert items[0] is unit and items[-1] is last
        body = items[1:-1]
        # Each document's examples stay together and in their order.
        for parent in files:
            mine = [item for item in body if item.parent is parent]
            start = body.index(mine[0])
            assert body[start : start + len(mine)] == [e for e in examples if e.parent is parent]
        orders.append([item.parent for item in body[::4]])
    assert orders[0] != orders[1]  # the seed decides the order
    again: list[Any] = [unit, last, *examples]
    shuffle_documents(again, 1)
    assert [item.parent for item in again[1:-1:4]] == orders[0]  # and repeats it
