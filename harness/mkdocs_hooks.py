"""mkdocs hooks: what the site needs beyond mkdocs-material's own features.

* The copy button copies runnable code: no ``>>>`` prompts, no output lines (see
  :func:`harness.fences.runnable_code`, the same rules the tests use).
* Formulas become MathML at build time, so the reader's browser fetches no math library.
* An example the tests skip says so on the page, with the reason.
* A figure fence's pictures, drawn by running the page as the tests do, appear under it.
* Each page says where and when its examples were verified (from the last test run's
  record, while the page is unchanged) and offers them as a script and a notebook.
"""

from __future__ import annotations

import html
import inspect
import pydoc
import re
import sys
from pathlib import Path
from typing import Any

from latex2mathml.converter import convert as latex_to_mathml

# mkdocs puts only this file's folder on sys.path; the repository root makes the
# `harness` package importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sybil import Document  # noqa: E402

from harness.collect import PASSES, ROOT, draw_page_figures  # noqa: E402
from harness.downloads import notebook_json, page_blocks, page_script  # noqa: E402
from harness.fences import (  # noqa: E402
    FIGURE_ATTRIBUTE,
    PYTHON_LANGUAGES,
    SESSION_LANGUAGES,
    SNIPPET_INCLUDE,
    figure_caption,
    runnable_code,
)
from harness.skips import directives  # noqa: E402
from harness.verification import load, verified  # noqa: E402

_CODE_BLOCK = re.compile(
    # Attributes such as { .python .annotate } add classes between the two.
    r'<div class="(?P<classes>language-(?P<language>[\w+-]+)[^"]*\bhighlight\b[^"]*)">'
    r"(?P<inner>.*?)</div>",
    re.DOTALL,
)
_CODE = re.compile(r"<code>(?P<code>.*?)</code>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_INLINE_MATH = re.compile(r'<span class="arithmatex">\\\((?P<tex>.*?)\\\)</span>', re.DOTALL)
_BLOCK_MATH = re.compile(r'<div class="arithmatex">\\\[(?P<tex>.*?)\\\]</div>', re.DOTALL)


def add_copy_text(page_html: str) -> str:
    """Give each Python code block the text its copy button should copy."""

    def replace(block: re.Match[str]) -> str:
        if block.group("language").lower() not in PYTHON_LANGUAGES:
            return block.group(0)
        code = _CODE.search(block.group("inner"))
        if code is None:
            return block.group(0)
        shown = html.unescape(_TAG.sub("", code.group("code")))
        session = block.group("language").lower() in SESSION_LANGUAGES
        copy = html.escape(runnable_code(shown, session=session), quote=True)
        opening = f'<div class="{block.group("classes")}"'
        return f'{opening} data-copy="{copy}">{block.group("inner")}</div>'

    return _CODE_BLOCK.sub(replace, page_html)


_BLANKLINE = re.compile(r'<span class="go">&lt;BLANKLINE&gt;</span>')


def show_blank_lines(page_html: str) -> str:
    """Show doctest's ``<BLANKLINE>`` marker as the empty line Python prints."""
    return _BLANKLINE.sub("", page_html)


def render_math(page_html: str) -> str:
    """Turn arithmatex's ``\\(..\\)`` and ``\\[..\\]`` markup into MathML."""
    page_html = _BLOCK_MATH.sub(
        lambda m: latex_to_mathml(html.unescape(m.group("tex")), display="block"), page_html
    )
    return _INLINE_MATH.sub(
        lambda m: latex_to_mathml(html.unescape(m.group("tex")), display="inline"), page_html
    )


def show_skips(markdown: str, name: str = "<page>") -> str:
    """Make each skip directive visible to readers as a note with its reason.

    ``<!-- skip: next "reason" -->`` becomes "Not run by the tests"; a skip for one pass,
    ``<!-- skip: next if(device == "cuda", reason="...") -->``, says which pass. The
    directives are read by :mod:`harness.skips`, as the tests read them.
    """
    pieces: list[str] = []
    last = 0
    for start, end, directive in directives(Document(markdown, name), name):
        if directive.action == "end":
            continue
        written = markdown[start:end]
        indent = written[: len(written) - len(written.lstrip())]
        title = "Not run by the tests"
        if directive.device is not None:
            title += f" in the {directive.device} pass"
        pieces += [
            markdown[last:start],
            f'{indent}!!! note "{title}"\n{indent}    {directive.reason}\n',
        ]
        last = end
    pieces.append(markdown[last:])
    return "".join(pieces)


_FIGURE_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*\bfigure=[^\n]*)$", re.MULTILINE
)
_FIGURE_PLACEHOLDER = re.compile(
    r'<p><span class="tensorkit-figure" data-index="(\d+)"></span></p>'
)


def mark_figures(markdown: str) -> tuple[str, list[str]]:
    """Take the ``figure=`` attribute off figure fences; put a placeholder after each.

    Returns the new Markdown and the captions, in page order. The placeholders are
    replaced by the drawn figures once the page is HTML (:func:`insert_figures`).
    """
    captions: list[str] = []
    out: list[str] = []
    open_fence: re.Match[str] | None = None
    for line in markdown.split("\n"):
        if open_fence is None and (opening := _FIGURE_FENCE.match(line)):
            captions.append(figure_caption(opening.group("info")) or "")
            info = FIGURE_ATTRIBUTE.sub("", opening.group("info")).strip()
            out.append(opening.group("indent") + opening.group("fence") + info)
            open_fence = opening
            continue
        out.append(line)
        if open_fence is not None and line.strip() == open_fence.group("fence"):
            indent = open_fence.group("indent")
            placeholder = (
                f'<span class="tensorkit-figure" data-index="{len(captions) - 1}"></span>'
            )
            out += ["", indent + placeholder, ""]
            open_fence = None
    return "\n".join(out), captions


def insert_figures(page_html: str, figures: list[tuple[str, list[str]]]) -> str:
    """Replace each placeholder with its figures and caption."""

    def replace(match: re.Match[str]) -> str:
        caption, svgs = figures[int(match.group(1))]
        body = "\n".join(svgs)
        return (
            f'<figure class="tensorkit-figure">{body}'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    return _FIGURE_PLACEHOLDER.sub(replace, page_html)


_H1 = re.compile(r"^# .+$", re.MULTILINE)
_API_DIRECTIVE = re.compile(r"^:::[ \t]+(?P<object>[\w.]+)", re.MULTILINE)
_DEVICE_NAMES = {"cpu": "CPU", "cuda": "CUDA"}


def page_documents(page: Path, markdown: str) -> list[str]:
    """The documents whose examples a page shows: itself, its programs, its API objects."""
    documents = [str(page.relative_to(ROOT))]
    for line in markdown.splitlines():
        if include := SNIPPET_INCLUDE.match(line):
            documents.append(f"snippets/{include.group('path')}")
    for match in _API_DIRECTIVE.finditer(markdown):
        target = pydoc.locate(match.group("object"))
        module = inspect.getmodule(target)
        if module is not None and module.__file__:
            documents.append(str(Path(module.__file__).resolve().relative_to(ROOT)))
    return list(dict.fromkeys(documents))


def verified_stamp(documents: list[str], record: dict[str, Any]) -> str:
    """One line saying on which devices, with which torch and when, the tests passed."""
    passes = [verified(record, ROOT, document) for document in documents]
    devices = [d for d in PASSES if passes and all(d in verified_on for verified_on in passes)]
    if not devices:
        return (
            '<p class="tensorkit-verified">These examples have not been verified since '
            "they last changed: run <code>make test</code>.</p>"
        )
    parts = []
    for device in devices:
        runs = [verified_on[device] for verified_on in passes]
        versions = sorted({run["torch"].split("+")[0] for run in runs})
        parts.append(
            f"{_DEVICE_NAMES[device]} with torch {', '.join(versions)} "
            f"on {min(run['date'] for run in runs)}"
        )
    missing = [_DEVICE_NAMES[d] for d in PASSES if d not in devices]
    not_yet = f" Not yet verified on {', '.join(missing)}." if missing else ""
    return (
        f'<p class="tensorkit-verified">Every example on this page was run and checked: '
        f"{'; '.join(parts)}.{not_yet}</p>"
    )


def download_links(page: Any, config: Any) -> str:
    """Write the page's examples as a script and a notebook next to it; link them."""
    source = Path(page.file.abs_src_path)
    # Running the page's parser once serves the check, the script and the notebook.
    blocks = page_blocks(source)
    if not any(block.code for block in blocks):
        return ""
    folder = Path(config["site_dir"]) / Path(page.file.dest_uri).parent
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{source.stem}.py").write_text(page_script(source, blocks), encoding="utf-8")
    (folder / f"{source.stem}.ipynb").write_text(notebook_json(source, blocks), encoding="utf-8")
    return (
        f'<p class="tensorkit-downloads">Download the examples: '
        f'<a href="{source.stem}.py" download>{source.stem}.py</a> · '
        f'<a href="{source.stem}.ipynb" download>{source.stem}.ipynb</a></p>'
    )


def stamp_page(markdown: str, page: Any, config: Any) -> str:
    """Put the verified-on stamp and the download links under the page's title."""
    source = Path(page.file.abs_src_path)
    lines = [verified_stamp(page_documents(source, markdown), load(ROOT / "verification.json"))]
    lines.append(download_links(page, config))
    header = "\n\n".join(line for line in lines if line)
    title = _H1.search(markdown)
    at = title.end() if title else 0
    return f"{markdown[:at]}\n\n{header}\n\n{markdown[at:].lstrip()}"


#: The figures of the page being built, by page source path, between the two hooks.
_PAGE_FIGURES: dict[str, list[tuple[str, list[str]]]] = {}


def on_page_markdown(markdown: str, page: Any, config: Any, **_: Any) -> str:
    markdown = stamp_page(markdown, page, config)
    markdown, captions = mark_figures(show_skips(markdown, page.file.src_uri))
    if captions:
        path = Path(page.file.abs_src_path)
        drawn = draw_page_figures(path)
        if len(drawn) != len(captions):
            raise ValueError(f"{path}: {len(captions)} figure fences, {len(drawn)} drew figures")
        _PAGE_FIGURES[page.file.src_uri] = [
            (caption, svgs) for caption, (_, svgs) in zip(captions, drawn, strict=True)
        ]
    return markdown


def on_page_content(html_text: str, page: Any, **_: Any) -> str:
    # Copy text first: it is computed from the session as written, marker included.
    html_text = show_blank_lines(render_math(add_copy_text(html_text)))
    figures = _PAGE_FIGURES.pop(page.file.src_uri, None)
    return insert_figures(html_text, figures) if figures else html_text
