"""What the site adds to each page, whichever builder builds it (MkDocs or Zensical).

Both builders run Python-Markdown, so these functions are called from one Markdown
extension (:mod:`harness.site_markdown`), never from a builder's own hooks:

* The copy button copies runnable code: no ``>>>`` prompts, no output lines (see
  :func:`harness.fences.runnable_code`, the same rules the tests use).
* Formulas become MathML at build time, so the reader's browser fetches no math library.
* An example the tests skip says so on the page, with the reason.
* A figure fence's pictures, drawn by running the page as the tests do, appear under it;
  they are kept under a hash of the code they come from (:mod:`harness.page_runs`).
* While the site is served, a page whose code was edited runs its examples, and one that
  fails shows the failure, with ``file:line``, at the top of the page.
* Each page says where and when its examples were verified (from the last test run's
  record, while the page is unchanged) and links its script and notebook
  (:mod:`harness.site_files` writes them).
"""

from __future__ import annotations

import html
import inspect
import logging
import posixpath
import pydoc
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from latex2mathml.converter import convert as latex_to_mathml
from sybil import Document

from harness.collect import PASSES, ROOT, ExampleFailed, sybils
from harness.downloads import has_examples, page_cells
from harness.fences import (
    FIGURE_ATTRIBUTE,
    FIGURE_FENCE,
    PYTHON_LANGUAGES,
    SESSION_LANGUAGES,
    SNIPPET_INCLUDE,
    figure_caption,
    runnable_code,
)
from harness.page_runs import EditedPages, page_figures
from harness.site_files import download_links, page_downloads, script_path, write_if_changed
from harness.site_language import ENGLISH, language_of, say
from harness.skips import DEVICE_NAMES, directives, module_missing
from harness.translations import (
    TranslationError,
    examples_source,
    is_behind,
    is_translation,
)
from harness.translations import check as check_translation
from harness.verification import examples_in, load, verified

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


def show_skips(markdown: str, name: str = "<page>", language: str = ENGLISH) -> str:
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
        title = (
            say("not checked", language)
            if directive.device is None
            else say("not checked on", language, device=DEVICE_NAMES[directive.device])
        )
        pieces += [
            markdown[last:start],
            f'{indent}!!! note "{title}"\n{indent}    {directive.reason}\n',
        ]
        last = end
    pieces.append(markdown[last:])
    return "".join(pieces)


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
        if open_fence is None and (opening := FIGURE_FENCE.match(line)):
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
    # A translation holds its English page's examples: it counts if that page has any.
    counted_as = {documents[0]: str(examples_source(page).relative_to(ROOT))}
    for line in markdown.splitlines():
        if include := SNIPPET_INCLUDE.match(line):
            documents.append(f"snippets/{include.group('path')}")
    for match in _API_DIRECTIVE.finditer(markdown):
        for module in _modules_rendered(pydoc.locate(match.group("object"))):
            if module.__file__:
                documents.append(str(Path(module.__file__).resolve().relative_to(ROOT)))
    return [
        d
        for d in dict.fromkeys(documents)
        if examples_in(ROOT, counted_as.get(d, d), PASSES[0]) > 0
    ]


#: Said of a page whose examples changed since they were last checked.
NOT_VERIFIED = say("not verified", ENGLISH)


def _runs(devices: list[str], passes: list[dict[str, dict[str, str]]], language: str) -> str:
    parts = []
    for device in devices:
        runs = [verified_on[device] for verified_on in passes]
        versions = sorted({run["torch"].split("+")[0] for run in runs})
        parts.append(
            say(
                "run",
                language,
                device=DEVICE_NAMES[device],
                versions=", ".join(versions),
                date=min(run["date"] for run in runs),
            )
        )
    return say("runs joined", language).join(parts)


def verified_stamp(documents: list[str], record: dict[str, Any], language: str = ENGLISH) -> str:
    """One line saying on which devices, with which torch and when, the examples passed.

    ``""`` for a page that shows no examples: there is nothing to vouch for. A
    translation is verified by the record's entry for it, which the test run writes when
    the translation keeps its English page's examples and that page passed in the run.
    """
    if not documents:
        return ""
    passes = [verified(record, ROOT, document) for document in documents]
    devices = [d for d in PASSES if all(d in verified_on for verified_on in passes)]
    if not devices:
        return f'<p class="tensorkit-verified">{say("not verified", language)}</p>'
    missing = [DEVICE_NAMES[d] for d in PASSES if d not in devices]
    or_ = say("or", language)
    not_yet = say("not yet", language, devices=or_.join(missing)) if missing else ""
    runs = _runs(devices, passes, language)
    key = "verified translation" if is_translation(ROOT / documents[0]) else "verified"
    stamp = say(key, language, runs=runs, not_yet=not_yet)
    return f'<p class="tensorkit-verified">{stamp}</p>'


#: Where the start page says how much of the site the record vouches for.
SUMMARY_MARKER = "<!-- verification summary -->"


def verification_summary(
    record: dict[str, Any], root: Path = ROOT, language: str = ENGLISH
) -> str:
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
            clauses.append(say("summary none", language, device=DEVICE_NAMES[device]))
            continue
        versions = sorted({run["torch"].split("+")[0] for run in done})
        clauses.append(
            say(
                "summary run",
                language,
                done=str(len(done)),
                device=DEVICE_NAMES[device],
                versions=", ".join(versions),
                date=max(run["date"] for run in done),
            )
        )
    joined = say("runs joined", language).join(clauses)
    return say("summary", language, count=str(len(counted)), clauses=joined)


def failure_note(error: ExampleFailed | TranslationError) -> str:
    """The note a served page shows at its top when one of its examples fails, or when
    a translation's examples are not its English page's."""
    body = "\n".join(f"        {line}" for line in str(error).splitlines())
    if isinstance(error, TranslationError):
        title = "This translation's examples are not its English page's"
        hint = "Its figures are left out until it keeps them line for line: fix it and save."
    else:
        title = "An example on this page failed"
        hint = "Its figures are left out until it passes: fix it and save, and the page rebuilds."
    return f'!!! failure "{title}"\n    {hint}\n\n    ```text\n{body}\n    ```\n'


def behind_note(source: Path, url: str) -> str:
    """The note a translation shows readers while its English page is newer."""
    language = language_of(source)
    # The English page's URL is the translation's without its language folder.
    english_url = url.removeprefix(f"{language}/")
    link = posixpath.relpath(english_url or ".", url.strip("/") or ".") + "/"
    body = say("behind", language, link=link)
    return f'!!! warning "{say("behind title", language)}"\n    {body}\n'


def _under_title(markdown: str, block: str) -> str:
    title = _H1.search(markdown)
    at = title.end() if title else 0
    return f"{markdown[:at]}\n\n{block}\n\n{markdown[at:].lstrip()}"


# Not a builder's logger: under `mkdocs serve` a warning there, with strict: true, would
# abort the rebuild, and the page could not show what failed.
_LOG = logging.getLogger("tensorkit.site")


@dataclass
class PreparedPage:
    """A page's Markdown as the builder should convert it, and its figures.

    ``figures`` holds each figure fence's caption and SVGs, in page order; the fences
    are followed by placeholders that :func:`insert_figures` replaces in the HTML.
    """

    markdown: str
    figures: list[tuple[str, list[str]]] = field(default_factory=list)


def prepare_page(
    markdown: str, source: Path, url: str, edited: EditedPages | None = None
) -> PreparedPage:
    """Stamp, download links, skip notes and figure placeholders for one page.

    Args:
        markdown: The page's Markdown, as the builder read it from ``source``.
        source: The page's file under ``docs/``.
        url: The page's URL relative to the site root (``autograd/basics/``).
        edited: While the site is served, the pages edited since it started: an
            edited page runs its examples, and a failure is shown on the page instead
            of stopping the build. ``None`` for a build, which a failing page stops.

    Raises:
        harness.collect.ExampleFailed: In a build, if a figure's code fails.
    """
    has_figures = FIGURE_FENCE.search(markdown) is not None
    language = language_of(source)
    translation = is_translation(source)
    # A translation's examples are its English page's, line for line (checked first).
    runs = examples_source(source)
    failure: ExampleFailed | TranslationError | None = None
    drawn: list[tuple[int, list[str]]] = []
    try:
        if translation:
            check_translation(source)
        if edited is not None:
            drawn = edited.check_if_edited(runs, has_figures=has_figures)
        elif has_figures:
            drawn = page_figures(runs)
    except (ExampleFailed, TranslationError) as error:
        if edited is None:
            raise
        failure = error
        _LOG.error("%s", error)
    markdown = page_header(markdown, source, url, drawn if has_figures else None, edited)
    markdown, captions = mark_figures(show_skips(markdown, str(source), language))
    if failure is not None:
        return PreparedPage(_under_title(markdown, failure_note(failure)))
    if len(drawn) != len(captions):
        raise ValueError(f"{source}: {len(captions)} figure fences, {len(drawn)} drew figures")
    return PreparedPage(
        markdown, [(caption, svgs) for caption, (_, svgs) in zip(captions, drawn, strict=True)]
    )


def page_header(
    markdown: str,
    source: Path,
    url: str,
    drawn: list[tuple[int, list[str]]] | None,
    edited: EditedPages | None,
) -> str:
    """The page with its verified-on stamp and download links under its title.

    The links are to the files :func:`harness.site_files.write_site_files` wrote. While
    serving (``edited`` given), the page's downloads are rewritten first: the builder
    watches ``docs/`` and serves them on its next rebuild.
    """
    record = load(ROOT / "verification.json")
    language = language_of(source)
    header = [verified_stamp(page_documents(source, markdown), record, language)]
    if is_translation(source) and is_behind(source):
        header.insert(0, behind_note(source, url))
    if edited is not None and has_examples(cells := page_cells(source)):
        figures = None if drawn is None else [svgs for _, svgs in drawn]
        for path, text in page_downloads(source, cells, figures).items():
            write_if_changed(path, text)
    # The step before the build wrote a script for each page with examples (and no
    # other): linking what it wrote needs no second reading of the page's examples.
    if script_path(source).is_file():
        header.append(download_links(source, url))
    if SUMMARY_MARKER in markdown:  # one page says it; counting every source takes seconds
        summary = verification_summary(record, language=language)
        markdown = markdown.replace(SUMMARY_MARKER, summary)
    return _under_title(markdown, "\n\n".join(line for line in header if line))


def finish_html(page_html: str, figures: list[tuple[str, list[str]]] | None = None) -> str:
    """Copy text, MathML, blank lines and figures, on a page's (or docstring's) HTML.

    Safe to apply twice: mkdocstrings converts docstrings with a Markdown of its own,
    and the page's HTML, which holds them, is finished again.
    """
    # Copy text first: it is computed from the session as written, marker included.
    page_html = show_blank_lines(render_math(add_copy_text(page_html)))
    return insert_figures(page_html, figures) if figures else page_html
