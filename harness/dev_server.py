"""``make serve`` with MkDocs: rebuild only the pages an edit changes, in about a second.

``mkdocs serve`` rebuilds the whole site on every saved file (about 9 s here). Its
``--dirty`` mode rebuilds only pages whose Markdown is newer than their HTML, which alone
would miss what else a page is built from. This server runs MkDocs' own dirty serve and,
through MkDocs hooks (this module is also the hooks file it names), adds what it lacks:

- a page is rebuilt when a snippet it includes (``--8<-- "name.py"``) is newer than its
  HTML, and every page when anything in ``tensorkit/`` or ``harness/``,
  ``verification.json`` or ``mkdocs.yml`` is (the API pages render the docstrings; the
  figures, stamps and features come from the harness);
- the search index keeps every page: a dirty build indexes only the pages it rebuilt, so
  their entries replace theirs in the index of the build before;
- strict mode stays on, bar MkDocs' warning that the build is dirty, which is the point.

The pages other than the one rebuilt keep their navigation as it was: a new page or a
changed title shows in the others after a restart, or in ``make site``. Zensical's own
``zensical serve`` already rebuilds only what changed; these hooks are for MkDocs only and
add nothing a reader sees.

Run it as ``python -m harness.dev_server --dev-addr 127.0.0.1:8000``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority

from harness.fences import SNIPPET_INCLUDE
from harness.figure_cache import source_files
from harness.paths import ROOT
from harness.search_languages import SEARCH_INDEX

#: What every page is built from, besides its own Markdown: folders, then files.
EVERY_PAGE_DEPENDS_ON = (("tensorkit", "harness"), ("verification.json", "mkdocs.yml"))
_SNIPPETS = ROOT / "snippets"


class _DropDirtyWarning(logging.Filter):
    """MkDocs warns that a dirty build may leave links stale; under strict that aborts."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("A 'dirty' build is being performed")


def modified(path: Path) -> float:
    """When a file was last modified; 0 for one that does not exist."""
    return path.stat().st_mtime if path.exists() else 0


def every_page_modified(root: Path) -> float:
    """The last time anything every page is built from was modified."""
    folders, files = EVERY_PAGE_DEPENDS_ON
    paths = [*source_files(root, folders), *(root / name for name in files)]
    return max((modified(path) for path in paths), default=0)


def included_snippets(markdown: str) -> list[Path]:
    """The files of snippets/ a page includes, as the harness reads its include lines."""
    return [
        _SNIPPETS / include["path"]
        for line in markdown.splitlines()
        if (include := SNIPPET_INCLUDE.match(line))
    ]


def stale(page: Path, html: Path, every_page: float) -> bool:
    """Whether the HTML is older than something, bar its Markdown, the page is built from."""
    if not html.exists():
        return False  # MkDocs builds it anyway
    built = html.stat().st_mtime
    if every_page > built:
        return True
    return any(modified(snippet) > built for snippet in included_snippets(page.read_text("utf-8")))


def on_files(files: Any, config: Any) -> Any:
    """Remove the HTML of stale pages, so that the dirty build counts them as modified."""
    every_page = every_page_modified(ROOT)
    for file in files.documentation_pages():
        html = Path(file.abs_dest_path)
        if stale(Path(file.abs_src_path), html, every_page):
            html.unlink()
    return files


def _page_of(entry: dict[str, Any]) -> str:
    return str(entry["location"]).split("#")[0]


def merged_index(before: dict[str, Any], rebuilt: dict[str, Any]) -> dict[str, Any]:
    """The index before, with the rebuilt pages' entries in place of their old ones."""
    pages = {_page_of(entry) for entry in rebuilt["docs"]}
    kept = [entry for entry in before["docs"] if _page_of(entry) not in pages]
    return {**rebuilt, "docs": kept + rebuilt["docs"]}


def _index_paths(config: Any) -> tuple[Path, Path]:
    site = Path(config["site_dir"])
    return site / SEARCH_INDEX, site.with_name(site.name + "-search.json")


@event_priority(-100)  # after Material's search plugin has written this build's index
def on_post_build(config: Any) -> None:
    """Merge this build's search index into the last one, and keep the result for the next."""
    index, kept = _index_paths(config)
    if not index.exists():
        return
    rebuilt = json.loads(index.read_text(encoding="utf-8"))
    if kept.exists():
        rebuilt = merged_index(json.loads(kept.read_text(encoding="utf-8")), rebuilt)
        index.write_text(json.dumps(rebuilt, separators=(",", ":")), encoding="utf-8")
    kept.write_text(json.dumps(rebuilt), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Serve the site, rebuilding only what edits change."
    )
    parser.add_argument("--dev-addr", default="127.0.0.1:8000")
    args = parser.parse_args()
    from mkdocs.commands.serve import serve

    logging.basicConfig(format="%(levelname)-7s -  %(message)s", level=logging.INFO)
    logging.getLogger("mkdocs.commands.build").addFilter(_DropDirtyWarning())
    serve(
        config_file=str(ROOT / "mkdocs.yml"),
        build_type="dirty",
        dev_addr=args.dev_addr,
        # The hooks option replaces mkdocs.yml's list: name its hook again.
        hooks=[__file__, str(ROOT / "harness" / "search_languages.py")],
    )


if __name__ == "__main__":
    main()
