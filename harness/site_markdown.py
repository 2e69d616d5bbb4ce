"""The site's own Markdown extension: one implementation for MkDocs and for Zensical.

Both builders convert each page with Python-Markdown and the extensions ``mkdocs.yml``
lists, and neither runs the other's hooks, so everything the site adds to a page is
done here (see :mod:`harness.page_features` for what that is):

* a preprocessor, before ``pymdownx.snippets`` includes programs, gives the page its
  stamp, download links, skip notes and figure placeholders;
* a postprocessor, once the HTML is whole, adds copy text, MathML and the figures.

Each builder tells its extensions which page they convert in its own way (MkDocs through
the tree processor that resolves relative links, Zensical through its rendering
context); :func:`page_being_built` reads either. A Markdown instance that converts
something other than a page, such as mkdocstrings' docstrings, gets only the
postprocessor's work.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NamedTuple

from markdown import Extension, Markdown  # type: ignore[import-untyped]
from markdown.postprocessors import Postprocessor  # type: ignore[import-untyped]
from markdown.preprocessors import Preprocessor  # type: ignore[import-untyped]

from harness.page_features import finish_html, prepare_page
from harness.page_runs import EditedPages
from harness.translations import split_front_matter


class BuiltPage(NamedTuple):
    """The page a Markdown instance converts: its source file and its URL."""

    source: Path
    url: str


def page_being_built(md: Markdown) -> BuiltPage | None:
    """The page ``md`` converts, as MkDocs or Zensical tells it; ``None`` if neither does."""
    for processor in md.preprocessors:
        # Zensical registers its rendering context as a preprocessor of every page.
        if getattr(processor, "name", None) == "rendering_context":
            page, config = processor.page, processor.config
            docs = Path(config["root_dir"], config["docs_dir"])
            return BuiltPage((docs / page.path).resolve(), page.url)
    if "relpath" in md.treeprocessors:
        # MkDocs resolves a page's relative links with a tree processor that knows it.
        file = md.treeprocessors["relpath"].file
        return BuiltPage(Path(file.abs_src_path).resolve(), file.url)
    return None


def serving() -> bool:
    """Whether this process serves the site: ``mkdocs serve``, ``zensical serve`` or
    ``python -m harness.dev_server`` (``make serve``)."""
    return sys.argv[1:2] == ["serve"] or Path(sys.argv[0]).name == "dev_server.py"


#: While serving: the pages edited since the server started, whose examples it runs.
_EDITED: EditedPages | None = None


def edited_pages() -> EditedPages | None:
    global _EDITED
    if not serving():
        return None
    if _EDITED is None:
        _EDITED = EditedPages()
    return _EDITED


class _PageProcessor(Preprocessor):  # type: ignore[misc]
    def __init__(self, md: Markdown, html: _HtmlProcessor) -> None:
        super().__init__(md)
        self.html = html

    def run(self, lines: list[str]) -> list[str]:
        page = page_being_built(self.md)
        markdown = "\n".join(lines)
        # mkdocstrings (under Zensical) converts docstrings with the page's context: only
        # the page's own text is the page.
        if page is None or not page.source.is_file():
            return lines
        _, written = split_front_matter(page.source.read_text(encoding="utf-8"))
        if written.strip() != markdown.strip():
            return lines
        prepared = prepare_page(markdown, page.source, page.url, edited_pages())
        self.html.figures = prepared.figures
        return prepared.markdown.split("\n")


class _HtmlProcessor(Postprocessor):  # type: ignore[misc]
    def __init__(self, md: Markdown) -> None:
        super().__init__(md)
        self.figures: list[tuple[str, list[str]]] = []

    def run(self, text: str) -> str:
        return finish_html(text, self.figures)


class SiteExtension(Extension):  # type: ignore[misc]
    """Figures, stamps, downloads, skip notes, copy text and MathML on every page."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        html = _HtmlProcessor(md)
        # Before pymdownx.snippets (32): the page as written, includes not yet expanded.
        md.preprocessors.register(_PageProcessor(md, html), "tensorkit_page", 40)
        # After raw HTML (code blocks, formulas) is put back (30).
        md.postprocessors.register(html, "tensorkit_html", 5)


def makeExtension(**kwargs: Any) -> SiteExtension:  # noqa: N802 (Python-Markdown's name)
    return SiteExtension(**kwargs)
