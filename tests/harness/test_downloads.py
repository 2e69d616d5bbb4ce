"""Downloads: a page's examples as a reader runs them on a CPU, in page order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.downloads import page_blocks

Write = Callable[[str, str], Path]


def test_blocks_follow_the_page_and_leave_out_what_the_cpu_cannot_run(
    project: Path, write: Write
) -> None:
    page = write(
        "docs/page.md",
        """
        ```pycon
        >>> x = 1
        ```

        <!-- skip: next if(device == "cuda", reason="NumPy arrays live in CPU memory") -->

        ```pycon
        >>> y = x + 1
        ```

        <!-- skip: next if(device == "cpu", reason="needs a GPU") -->

        ```python
        z = torch.ones(1).cuda()
        ```

        <!-- skip: next "downloads a data set" -->

        ```python
        data = download()
        ```

        ```pycon
        >>> {}["key"]
        Traceback (most recent call last):
          ...
        KeyError: 'key'
        ```
        """,
    )
    blocks = page_blocks(page)
    assert [block.code for block in blocks[:2]] == ["x = 1\n", "y = x + 1\n"]
    assert [block.skipped_because for block in blocks[2:4]] == [
        "needs a GPU",
        "downloads a data set",
    ]
    assert blocks[4].code == (
        'try:\n    {}["key"]\nexcept KeyError as error:  # the page shows this error\n'
        '    print("KeyError:", error)\n'
    )
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(block.code, namespace)  # what runs, runs: the left-out blocks are empty
