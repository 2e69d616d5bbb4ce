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
from harness.figure_cache import Figures, cached_figures, figure_key, is_cached


def page_figures(path: Path, *, run_every_example: bool = False) -> Figures:
    """Each figure fence's line and SVGs, drawn by running the page, or from the cache.

    With ``run_every_example``, a page whose figures are cached still runs its examples
    (drawing them runs every example anyway): the cache covers only the code up to the
    last figure, and an edit after it must still run.
    """
    key = figure_key(example_regions(path, up_to_last_figure=True))
    if run_every_example and is_cached(key):
        check_page(path)
    return cached_figures(key, lambda: draw_page_figures(path))


class EditedPages:
    """The pages whose examples changed since the first build of this server session."""

    def __init__(self) -> None:
        self._seen: dict[str, list[str]] = {}
        self._failed: dict[str, ExampleFailed] = {}

    def check_if_edited(self, path: Path, *, has_figures: bool = False) -> Figures:
        """Run the page's examples if its code changed since it was last seen; its figures.

        A page with figures gets them from `page_figures`, which runs every example of an
        edited page once, whether its figures were cached or not. A failure stays until
        the code changes again: a prose edit does not hide it.

        Returns:
            Each figure fence's line and SVGs (none when ``has_figures`` is false).

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
            return page_figures(path) if has_figures else []
        self._failed.pop(name, None)
        try:
            if has_figures:
                return page_figures(path, run_every_example=True)
            check_page(path)
            return []
        except ExampleFailed as error:
            self._failed[name] = error
            raise
