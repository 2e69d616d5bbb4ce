"""The site's figure cache: a prose edit redraws nothing, any change to the code does."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from harness import figure_cache, page_features, page_runs
from harness.collect import ExampleFailed, example_regions
from harness.figure_cache import Figures, cached_figures, figure_key
from harness.page_runs import EditedPages, page_figures

Write = Callable[[str, str], Path]

PAGE = """
# Curves

Some prose.

```pycon
>>> steps = 10
```

```python figure="Loss per step"
import matplotlib.pyplot as plt

plt.plot([1.0 / (step + 1) for step in range(steps)])
plt.show()
```

After the figure.

```pycon
>>> steps * 2
20
```
"""


class Drawings:
    """Counts the pages `page_figures` really runs, and passes them on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
        self.runs = 0
        draw = page_runs.draw_page_figures

        def counted(path: Path) -> Figures:
            self.runs += 1
            return draw(path)

        monkeypatch.setattr(page_runs, "draw_page_figures", counted)
        monkeypatch.setattr(figure_cache, "CACHE", cache)


@pytest.fixture
def drawings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Drawings:
    return Drawings(monkeypatch, tmp_path / "cache")


def key_of(page: Path) -> str:
    return figure_key(example_regions(page, up_to_last_figure=True))


def test_a_prose_edit_keeps_the_key(project: Path, write: Write) -> None:
    page = write("docs/curves.md", PAGE)
    before = key_of(page)
    write("docs/curves.md", PAGE.replace("Some prose.", "Other prose, and more of it.\n\n"))
    assert key_of(page) == before


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("steps = 10", "steps = 11"),  # the code before the figure
        ("plt.plot([1.0", "plt.semilogy([1.0"),  # the figure's own code
        ("Some prose.", '<!-- skip: next "not today" -->'),  # a skip directive
    ],
)
def test_a_code_edit_changes_the_key(project: Path, write: Write, old: str, new: str) -> None:
    page = write("docs/curves.md", PAGE)
    before = key_of(page)
    write("docs/curves.md", PAGE.replace(old, new))
    assert key_of(page) != before


def test_code_after_the_last_figure_keeps_the_key(project: Path, write: Write) -> None:
    page = write("docs/curves.md", PAGE)
    before = key_of(page)
    write("docs/curves.md", PAGE.replace(">>> steps * 2\n20", ">>> steps * 3\n30"))
    assert key_of(page) == before


def test_a_page_without_figures_has_no_figure_regions(project: Path, write: Write) -> None:
    page = write("docs/plain.md", "# Plain\n\n```pycon\n>>> 1 + 1\n2\n```\n")
    assert example_regions(page, up_to_last_figure=True) == []
    assert example_regions(page) == ["```pycon\n>>> 1 + 1\n2\n```"]


@pytest.mark.parametrize("folder", ["snippets", "tensorkit", "harness"])
def test_any_file_the_examples_can_run_changes_the_key(tmp_path: Path, folder: str) -> None:
    for name in figure_cache.DEPENDENCIES:
        (tmp_path / name).mkdir()
        (tmp_path / name / "module.py").write_text("x = 1\n", encoding="utf-8")
    before = figure_key(["code"], tmp_path)
    (tmp_path / folder / "module.py").write_text("x = 2\n", encoding="utf-8")
    assert figure_key(["code"], tmp_path) != before


def test_another_torch_changes_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = figure_key(["code"])
    monkeypatch.setattr(torch, "__version__", "0.0.1")
    assert figure_key(["code"]) != before


def test_a_prose_edit_draws_nothing_and_a_code_edit_redraws(
    project: Path, write: Write, drawings: Drawings
) -> None:
    page = write("docs/curves.md", PAGE)
    first = page_figures(page)
    assert drawings.runs == 1 and first[0][1][0].startswith("<svg")
    write("docs/curves.md", PAGE.replace("Some prose.", "Edited prose."))
    assert page_figures(page) == first
    assert drawings.runs == 1
    # The companion: the same call after a code edit runs the page again, and draws
    # what the new code draws.
    write("docs/curves.md", PAGE.replace("plt.plot([1.0", "plt.semilogy([1.0"))
    changed = page_figures(page)
    assert drawings.runs == 2 and changed != first


def test_a_failing_draw_stores_nothing(tmp_path: Path) -> None:
    def fails() -> Figures:
        raise ExampleFailed("docs/page.md:3: boom")

    with pytest.raises(ExampleFailed):
        cached_figures("key", fails, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert cached_figures("key", lambda: [(3, ["<svg/>"])], tmp_path) == [(3, ["<svg/>"])]
    assert json.loads((tmp_path / "key.json").read_text(encoding="utf-8")) == [[3, ["<svg/>"]]]


FAILING = "# Broken\n\n```pycon\n>>> 1 + 1\n2\n```\n"


def test_an_edited_page_runs_and_shows_its_failure(project: Path, write: Write) -> None:
    page = write("docs/broken.md", FAILING)
    edited = EditedPages()
    edited.check_if_edited(page)  # first seen: the server's first build runs nothing
    write("docs/broken.md", FAILING.replace("2\n```", "3\n```"))
    with pytest.raises(ExampleFailed, match=r"docs/broken\.md:3: "):
        edited.check_if_edited(page)
    # A prose edit does not hide the failure; fixing the code does.
    write("docs/broken.md", FAILING.replace("2\n```", "3\n```").replace("# Broken", "# B"))
    with pytest.raises(ExampleFailed):
        edited.check_if_edited(page)
    write("docs/broken.md", FAILING.replace("# Broken", "# B"))
    edited.check_if_edited(page)


def test_an_unedited_page_is_not_run(
    project: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[Path] = []
    monkeypatch.setattr(page_runs, "check_page", runs.append)
    page = write("docs/plain.md", FAILING)
    edited = EditedPages()
    edited.check_if_edited(page)
    write("docs/plain.md", FAILING.replace("# Broken", "# Prose only"))
    edited.check_if_edited(page)
    assert runs == []
    write("docs/plain.md", FAILING.replace(">>> 1 + 1", ">>> 2 + 0"))
    edited.check_if_edited(page)
    assert runs == [page]


def test_an_edit_after_the_last_figure_runs_though_the_figures_are_cached(
    project: Path, write: Write, drawings: Drawings
) -> None:
    page = write("docs/curves.md", PAGE)
    edited = EditedPages()
    assert len(edited.check_if_edited(page, has_figures=True)) == 1  # drawn: the cache was empty
    broken = PAGE.replace("20\n```", "21\n```")  # after the figure: its key is unchanged
    write("docs/curves.md", broken)
    with pytest.raises(ExampleFailed, match=r"docs/curves\.md:\d+: "):
        edited.check_if_edited(page, has_figures=True)
    assert drawings.runs == 1  # the figures came from the cache; the examples ran anyway
    write("docs/curves.md", PAGE)
    assert len(edited.check_if_edited(page, has_figures=True)) == 1


BROKEN_FIGURE = """
# Broken curve

```python figure="A curve"
import matplotlib.pyplot as plt

plt.plot(undefined_name)
plt.show()
```
"""


def test_a_failing_page_stops_the_build_but_shows_on_the_served_page(
    project: Path,
    write: Write,
    drawings: Drawings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The stamp reads the repository's record, for pages inside it: not what is tested.
    monkeypatch.setattr(page_features, "page_header", lambda markdown, *args: markdown)
    page = write("docs/broken.md", BROKEN_FIGURE)
    markdown = page.read_text(encoding="utf-8")
    with pytest.raises(ExampleFailed, match=r"broken\.md:3: .*undefined_name"):
        page_features.prepare_page(markdown, page, "broken/", edited=None)
    shown = page_features.prepare_page(markdown, page, "broken/", EditedPages()).markdown
    note = shown.index('!!! failure "An example on this page failed"')
    assert shown.index("# Broken curve") < note
    assert re.search(r"broken\.md:3: name 'undefined_name' is not defined", shown)
