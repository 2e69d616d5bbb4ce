"""What the site build runs of a page's code: its figures, and under ``make serve`` its edits.

* :func:`page_figures` draws a page's figures once per version of what they are drawn
  from (:mod:`harness.figure_cache`): a prose edit redraws nothing.
* :class:`EditedPages`, under ``make serve``, runs the examples of a page whose code
  changed since the server started, so that a failing example shows on the page being
  edited (pages are not otherwise run by the build; the tests run them all).
"""

from __future__ import annotations

from pathlib import Path

from harness.collect import ExampleFailed, check_page, draw_page_figures, example_regions
from harness.figure_cache import Figures, cached_figures, figure_key


def page_figures(path: Path) -> Figures:
    """Each figure fence's line and SVGs, drawn by running the page, or from the cache."""
    key = figure_key(example_regions(path, up_to_last_figure=True))
    return cached_figures(key, lambda: draw_page_figures(path))


class EditedPages:
    """The pages whose examples changed since the first build of this server session."""

    def __init__(self) -> None:
        self._seen: dict[str, list[str]] = {}
        self._failed: dict[str, ExampleFailed] = {}

    def check_if_edited(self, path: Path) -> None:
        """Run the page's examples if its code changed since it was last seen.

        A failure stays until the code changes again: a prose edit does not hide it.

        Raises:
            harness.collect.ExampleFailed: If an example of the edited page fails.
        """
        name = str(path)
        regions = example_regions(path)
        before = self._seen.get(name)
        self._seen[name] = regions
        if before is None or before == regions:
            if name in self._failed:
                raise self._failed[name]
            return
        self._failed.pop(name, None)
        try:
            check_page(path)
        except ExampleFailed as error:
            self._failed[name] = error
            raise
