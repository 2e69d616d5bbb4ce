"""mkdocs hooks: what the site needs beyond mkdocs-material's own features.

* The copy button copies runnable code: no ``>>>`` prompts, no output lines (see
  :func:`harness.fences.runnable_code`, the same rules the tests use).
* Formulas become MathML at build time, so the reader's browser fetches no math library.
* An example the tests skip says so on the page, with the reason.
* A figure fence's pictures, drawn by running the page as the tests do, appear under it;
  they are kept under a hash of the code they come from (:mod:`harness.page_runs`).
* Under ``mkdocs serve``, a page whose code was edited runs its examples, and one that
  fails shows the failure, with ``file:line``, at the top of the page.
* Each page says where and when its examples were verified (from the last test run's
  record, while the page is unchanged) and offers them as a script and a notebook.
"""

from __future__ import annotations

import html
import inspect
import logging
import pydoc
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from latex2mathml.converter import convert as latex_to_mathml

# mkdocs puts only this file's folder on sys.path; the repository root makes the
# `harness` package importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mkdocs.structure.files import File  # noqa: E402
from sybil import Document  # noqa: E402

from harness.collect import PASSES, ROOT, ExampleFailed, sybils  # noqa: E402
from harness.downloads import has_examples, notebook_json, page_cells, page_script  # noqa: E402
from harness.fences import (  # noqa: E402
    FIGURE_ATTRIBUTE,
    PYTHON_LANGUAGES,
    SESSION_LANGUAGES,
    SNIPPET_INCLUDE,
    figure_caption,
    runnable_code,
)
from harness.page_runs import EditedPages, page_figures  # noqa: E402
from harness.skips import (  # noqa: E402
    DEVICE_NAMES,
    directives,
    module_missing,
    skip_note_title,
)
from harness.verification import examples_in, load, verified  # noqa: E402
from harness.wheel import DOWNLOADS, build_wheel  # noqa: E402

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

    ``<!-- skip: next "reason" -->`` becomes "Not checked"; a skip for one device,
    ``<!-- skip: next if(device == "cuda", reason="...") -->``, "Not checked on CUDA". A
    skip ``if(missing("module"), ...)`` shows its note only where that module is missing.
    The directives are read by :mod:`harness.skips`, as the tests read them.
    """
    pieces: list[str] = []
    last = 0
    for start, end, directive in directives(Document(markdown, name), name):
        if directive.action == "end":
            continue
        written = markdown[start:end]
        indent = written[: len(written) - len(written.lstrip())]
        if directive.needs is not None and not module_missing(directive.needs):
            # The optional package is here, so the examples ran: nothing to excuse.
            pieces += [markdown[last:start]]
            last = end
            continue
        title = skip_note_title(directive.device)
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


def _modules_rendered(target: object) -> list[ModuleType]:
    """The modules whose docstrings ``::: target`` shows: a module's public members too."""
    module = target if isinstance(target, ModuleType) else inspect.getmodule(target)
    if module is None:
        return []
    shown = [module]
    if isinstance(target, ModuleType):
        for name in getattr(target, "__all__", []):
            if (member := inspect.getmodule(getattr(target, name, None))) is not None:
                shown.append(member)
    return shown


def page_documents(page: Path, markdown: str) -> list[str]:
    """The documents whose examples a page shows: itself, its programs, its API objects.

    Only documents that hold examples count: an API page has none of its own, and is
    verified by the modules it renders.
    """
    documents = [str(page.relative_to(ROOT))]
    for line in markdown.splitlines():
        if include := SNIPPET_INCLUDE.match(line):
            documents.append(f"snippets/{include.group('path')}")
    for match in _API_DIRECTIVE.finditer(markdown):
        for module in _modules_rendered(pydoc.locate(match.group("object"))):
            if module.__file__:
                documents.append(str(Path(module.__file__).resolve().relative_to(ROOT)))
    return [d for d in dict.fromkeys(documents) if examples_in(ROOT, d, PASSES[0]) > 0]


#: Said of a page whose examples changed since they were last checked.
NOT_VERIFIED = (
    "The examples on this page have changed since they were last run and checked, so "
    "what they print may differ from what is shown."
)


def _runs(devices: list[str], passes: list[dict[str, dict[str, str]]]) -> list[str]:
    parts = []
    for device in devices:
        runs = [verified_on[device] for verified_on in passes]
        versions = sorted({run["torch"].split("+")[0] for run in runs})
        parts.append(
            f"on {DEVICE_NAMES[device]} with torch {', '.join(versions)} "
            f"on {min(run['date'] for run in runs)}"
        )
    return parts


def verified_stamp(documents: list[str], record: dict[str, Any]) -> str:
    """One line saying on which devices, with which torch and when, the examples passed.

    ``""`` for a page that shows no examples: there is nothing to vouch for.
    """
    if not documents:
        return ""
    passes = [verified(record, ROOT, document) for document in documents]
    devices = [d for d in PASSES if all(d in verified_on for verified_on in passes)]
    if not devices:
        return f'<p class="tensorkit-verified">{NOT_VERIFIED}</p>'
    missing = [DEVICE_NAMES[d] for d in PASSES if d not in devices]
    not_yet = f" Not yet checked on {' or '.join(missing)}." if missing else ""
    return (
        '<p class="tensorkit-verified">Every example on this page was run and printed '
        f"exactly what the page shows: {'; '.join(_runs(devices, passes))}.{not_yet}</p>"
    )


#: Where the start page says how much of the site the record vouches for.
SUMMARY_MARKER = "<!-- verification summary -->"


def verification_summary(record: dict[str, Any], root: Path = ROOT) -> str:
    """How many of the site's example sources are verified, per device, from the record."""
    sources = sorted(
        str(path.relative_to(root))
        for sybil in sybils(root)
        if sybil.name == PASSES[0]
        for path in sybil.path.rglob("*")
        if path.is_file() and sybil.should_parse(path)
    )
    counted = [s for s in dict.fromkeys(sources) if examples_in(root, s, PASSES[0]) > 0]
    passes = {s: verified(record, root, s) for s in counted}
    clauses = []
    for device in PASSES:
        done = [passes[s][device] for s in counted if device in passes[s]]
        if not done:
            clauses.append(f"none has yet been run on {DEVICE_NAMES[device]}")
            continue
        versions = sorted({run["torch"].split("+")[0] for run in done})
        clauses.append(
            f"{len(done)} have been run on {DEVICE_NAMES[device]} with torch "
            f"{', '.join(versions)} and printed exactly what is shown (last on "
            f"{max(run['date'] for run in done)})"
        )
    return (
        f"Of the {len(counted)} files whose examples this site shows (pages, the programs "
        f"they include and tensorkit's modules), {'; '.join(clauses)}."
    )


def download_links(page: Any, config: Any, figures: list[list[str]] | None = None) -> str:
    """Write the page as a script and a notebook next to its HTML; link them.

    ``figures`` are the SVGs of the page's figure fences, stored in the notebook.
    """
    source = Path(page.file.abs_src_path)
    # Reading the page's examples once serves the check, the script and the notebook.
    cells = page_cells(source)
    if not has_examples(cells):
        return ""
    folder = Path(config["site_dir"]) / Path(page.file.dest_uri).parent
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{source.stem}.py").write_text(page_script(source, cells), encoding="utf-8")
    notebook = notebook_json(source, cells, figures)
    (folder / f"{source.stem}.ipynb").write_text(notebook, encoding="utf-8")
    return (
        f'<p class="tensorkit-downloads">Download the examples: '
        f'<a href="{source.stem}.py" download>{source.stem}.py</a> · '
        f'<a href="{source.stem}.ipynb" download>{source.stem}.ipynb</a></p>'
    )


def stamp_page(
    markdown: str, page: Any, config: Any, figures: list[list[str]] | None = None
) -> str:
    """Put the verified-on stamp and the download links under the page's title."""
    source = Path(page.file.abs_src_path)
    record = load(ROOT / "verification.json")
    lines = [verified_stamp(page_documents(source, markdown), record)]
    lines.append(download_links(page, config, figures))
    if SUMMARY_MARKER in markdown:  # one page says it; counting every source takes seconds
        markdown = markdown.replace(SUMMARY_MARKER, verification_summary(record))
    header = "\n\n".join(line for line in lines if line)
    title = _H1.search(markdown)
    at = title.end() if title else 0
    return f"{markdown[:at]}\n\n{header}\n\n{markdown[at:].lstrip()}"


def on_files(files: Any, config: Any, **_: Any) -> Any:
    """Add the tensorkit wheel, built from this checkout, as ``downloads/<wheel>``."""
    wheel = build_wheel()
    files.append(File.generated(config, f"{DOWNLOADS}/{wheel.name}", abs_src_path=str(wheel)))
    return files


#: The figures of the page being built, by page source path, between the two hooks.
_PAGE_FIGURES: dict[str, list[tuple[str, list[str]]]] = {}

#: Under ``make serve``: the pages edited since it started, whose examples it runs.
_EDITED: EditedPages | None = None

# Not mkdocs' own logger: under `mkdocs serve` a warning there, with strict: true, would
# abort the rebuild, and the page could not show what failed.
_LOG = logging.getLogger("tensorkit.site")


def on_startup(command: str, **_: Any) -> None:
    global _EDITED
    _EDITED = EditedPages() if command == "serve" else None


def failure_note(error: ExampleFailed) -> str:
    """The note a served page shows at its top when one of its examples fails."""
    body = "\n".join(f"        {line}" for line in str(error).splitlines())
    return (
        '!!! failure "An example on this page failed"\n'
        "    Its figures are left out until it passes: fix it and save, and the page "
        "rebuilds.\n\n"
        f"    ```text\n{body}\n    ```\n"
    )


def on_page_markdown(markdown: str, page: Any, config: Any, **_: Any) -> str:
    path = Path(page.file.abs_src_path)
    has_figures = _FIGURE_FENCE.search(markdown) is not None
    failure = None
    drawn: list[tuple[int, list[str]]] = []
    try:
        if _EDITED is not None and not has_figures:
            _EDITED.check_if_edited(path)
        drawn = page_figures(path) if has_figures else []
    except ExampleFailed as error:
        if _EDITED is None:  # mkdocs build: a page whose code fails does not build
            raise
        failure = error
        _LOG.error("%s", error)
    markdown = stamp_page(markdown, page, config, [svgs for _, svgs in drawn])
    markdown, captions = mark_figures(show_skips(markdown, page.file.src_uri))
    if failure is not None:
        title = _H1.search(markdown)
        at = title.end() if title else 0
        return f"{markdown[:at]}\n\n{failure_note(failure)}\n{markdown[at:].lstrip()}"
    if captions:
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
