"""The downloads the site offers, written into ``docs/downloads`` before a builder starts.

MkDocs and Zensical both copy every file of ``docs/`` that is not a page into the site,
so files written there are offered by either builder, and a link to one is checked by
either builder's link check. The step writes:

* each page's examples as a script and a notebook, ``downloads/<page path>.py`` and
  ``.ipynb`` (the notebook stores the page's figures, as the page shows them);
* the tensorkit wheel built from this checkout, ``downloads/<wheel>``, which the install
  page links.

Files that no page or wheel accounts for any more are removed, so a renamed page leaves
no stale download behind. ``docs/downloads`` is not committed: run
``python -m harness.site_files`` (``make site`` and ``make serve`` do) before building.
"""

from __future__ import annotations

import posixpath
import shutil
import sys
from pathlib import Path

from harness.collect import PAGE_EXTENSIONS, ROOT
from harness.downloads import Cell, has_examples, notebook_json, page_cells, page_script
from harness.fences import FIGURE_FENCE
from harness.page_runs import page_figures
from harness.site_language import language_of, say
from harness.translations import LANGUAGE, english_page, examples_source, is_translation
from harness.wheel import DOWNLOADS, build_wheel


def downloads_folder(root: Path = ROOT) -> Path:
    return root / "docs" / DOWNLOADS


def download_stem(page: Path, root: Path = ROOT) -> str:
    """Where a page's downloads live, under ``downloads/``: its path without suffix; a
    translation's under the language's folder (``zh/tensors/creation``), since
    mkdocs-static-i18n would take a ``creation.zh.py`` for the Chinese edition's own."""
    if is_translation(page):
        return f"{LANGUAGE}/{download_stem(english_page(page), root)}"
    return page.relative_to(root / "docs").with_suffix("").as_posix()


def script_path(page: Path, root: Path = ROOT) -> Path:
    """Where a page's script is written; its notebook is beside it, as ``.ipynb``."""
    return downloads_folder(root) / f"{download_stem(page, root)}.py"


def page_downloads(
    page: Path, cells: list[Cell], figures: list[list[str]] | None, root: Path = ROOT
) -> dict[Path, str]:
    """A page's script and notebook, by the path each is written to."""
    script = script_path(page, root)
    return {
        script: page_script(page, cells, root),
        script.with_suffix(".ipynb"): notebook_json(page, cells, figures, root),
    }


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file holds it already: an unchanged file keeps its
    date, so that ``make serve`` does not see an edit that is not one."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def site_pages(root: Path = ROOT) -> list[Path]:
    docs = root / "docs"
    return sorted(
        page
        for page in docs.rglob("*")
        if page.suffix in PAGE_EXTENSIONS and downloads_folder(root) not in page.parents
    )


def page_figure_svgs(page: Path) -> list[list[str]] | None:
    """The SVGs of each figure fence of the page (drawn, or from the figure cache)."""
    if FIGURE_FENCE.search(page.read_text(encoding="utf-8")) is None:
        return None
    return [svgs for _, svgs in page_figures(examples_source(page))]


def write_site_files(root: Path = ROOT) -> list[Path]:
    """Write every page's downloads and the wheel; remove what nothing accounts for.

    Returns the files written or rewritten (unchanged ones are left alone).
    """
    wanted: dict[Path, str] = {}
    for page in site_pages(root):
        cells = page_cells(page, root)
        if has_examples(cells):
            wanted |= page_downloads(page, cells, page_figure_svgs(page), root)
    folder = downloads_folder(root)
    written = [path for path, text in wanted.items() if write_if_changed(path, text)]
    wheel = build_wheel(root)
    target = folder / wheel.name
    if not target.is_file() or target.read_bytes() != wheel.read_bytes():
        shutil.copyfile(wheel, target)
        written.append(target)
    keep = set(wanted) | {target}
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() and path not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return written


def download_links(page: Path, url: str, root: Path = ROOT) -> str:
    """The line under a page's title that links its script and notebook.

    ``url`` is the page's own URL relative to the site root (``autograd/basics/``), so
    the links work wherever the site is served from.
    """
    stem = download_stem(page, root)
    target = posixpath.relpath(f"{DOWNLOADS}/{stem}", url.strip("/") or ".")
    name = Path(stem).name
    return (
        f'<p class="tensorkit-downloads">{say("downloads", language_of(page))}'
        f'<a href="{target}.py" download>{name}.py</a> · '
        f'<a href="{target}.ipynb" download>{name}.ipynb</a></p>'
    )


def main() -> int:
    written = write_site_files()
    print(f"harness.site_files: {len(written)} files written to {downloads_folder()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
