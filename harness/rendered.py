"""What the built site shows as Python, and which executed example each block shows.

The harness decides what it runs from the Markdown sources; readers see the HTML that
mkdocs makes of them, after pymdownx.snippets has pasted programs in and mkdocstrings has
rendered docstrings. This module reads the built pages, so that a check can hold every
code block a reader sees, whatever fence label or indentation it came from, against the
examples the harness really ran:

* :func:`code_blocks` extracts each ``<pre>`` block of a page's main content: its shown
  text, its highlighting language, and the skip note (if any) the page shows right before;
* :func:`shows_python` tells whether a block shows Python, by language or by content;
* :func:`examples_shown_by` lists, for one source page, the examples the harness collects
  that the page shows (its own fences, the snippet programs it includes, the docstring
  sessions of the objects its ``:::`` directives render), each with the text it shows;
* :func:`check_page` maps each Python block to one of them by content and reports every
  block that maps to nothing that ran and passed in the cpu pass.

It also finds Python that runs but is never seen: a fence inside an HTML comment.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

import griffe
from sybil import Document, Sybil
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

from harness import executed
from harness.collect import ROOT, docstrings, pages, run_document, snippets
from harness.evaluators import Parsed
from harness.fences import PYTHON_LANGUAGES, SNIPPET_INCLUDE, fence_language
from harness.skips import SKIP_NOTE, skip_note_title

#: Languages whose blocks show Markdown source as an illustration (a fence written out,
#: as the contributing guide does): what is inside is not shown as Python.
ILLUSTRATION_LANGUAGES = frozenset({"markdown", "md"})

#: Names whose use marks text as code a reader would run against this site's libraries.
LIBRARIES = frozenset({"torch", "tensorkit"})

#: Titles of the notes :func:`harness.page_features.show_skips` writes. Only a note that
#: covers the cpu pass excuses a block there: "... on CUDA" still runs on CPU.
_CPU_SKIP_NOTES = frozenset({skip_note_title(None), skip_note_title("cpu")})

_PROMPT = re.compile(r"^[ \t]*>>>(?:[ \t]|$)")
#: A continuation line shown without its ``>>>`` line: a session's excerpt.
_CONTINUATION = re.compile(r"^\.\.\. \S")
_BLANKLINE = "<BLANKLINE>"
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip
_API_DIRECTIVE = re.compile(r"^[ \t]*:::[ \t]+(?P<object>[\w.]+)", re.MULTILINE)
_COMMENT_START = "<!--"
_COMMENT_END = "-->"
_ANY_INFO = re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE)

Origin = Literal["page", "snippet", "docstring"]


# --- The built HTML -----------------------------------------------------------------


@dataclass(eq=False)  # identity: a node is found among its siblings by being itself
class _Element:
    tag: str
    classes: tuple[str, ...]
    attributes: dict[str, str]
    line: int
    #: The line of its end tag; None while open, or for a void element.
    end_line: int | None = None
    parent: _Element | None = None
    children: list[_Element | str] = field(default_factory=list)

    def text(self, leave_out: frozenset[str] = frozenset()) -> str:
        """All text inside, with elements of a class in ``leave_out`` left out."""
        parts: list[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif not leave_out.intersection(child.classes):
                parts.append(child.text(leave_out))
        return "".join(parts)

    def ancestors(self) -> Iterator[_Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def descendants(self) -> Iterator[_Element]:
        for child in self.children:
            if isinstance(child, _Element):
                yield child
                yield from child.descendants()

    def previous_element(self) -> _Element | None:
        """The element right before this one in its parent, if only whitespace separates them."""
        if self.parent is None:
            return None
        siblings = self.parent.children
        for sibling in reversed(siblings[: siblings.index(self)]):
            if isinstance(sibling, _Element):
                return sibling
            if sibling.strip():
                return None  # text between them: the note is not directly before
        return None


class _TreeBuilder(HTMLParser):
    """A small DOM of the page: enough to find blocks, their containers and siblings."""

    def __init__(self) -> None:
        # Entities are decoded in text, so a block's text is what the reader sees.
        super().__init__(convert_charrefs=True)
        self.root = _Element("#document", (), {}, 1)
        self.open: list[_Element] = [self.root]
        #: Comments as (line, text): Markdown in an HTML comment is built but never shown.
        self.comments: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        element = _Element(
            tag, tuple(attributes.get("class", "").split()), attributes, self.getpos()[0]
        )
        element.parent = self.open[-1]
        self.open[-1].children.append(element)
        if tag not in _VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching element; a stray end tag closes nothing.
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                self.open[depth].end_line = self.getpos()[0]
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append((self.getpos()[0], data))


def _main_content(root: _Element) -> _Element:
    # mkdocs-material puts the page's own content in this article; navigation, header
    # and footer hold no examples. A bare fragment (a unit test's) is all content.
    for element in root.descendants():
        if element.tag == "article" and "md-content__inner" in element.classes:
            return element
    return root


@dataclass(frozen=True)
class CodeBlock:
    """One code block as a reader sees it on a built page."""

    #: The HTML line where the block starts, for reports.
    line: int
    #: The highlighting language (``language-X`` class), lower-cased; None if it has none.
    language: str | None
    #: The text shown, entities decoded and markup stripped.
    text: str
    #: The title of the admonition directly before the block, if it is a skip note.
    skip_note: str | None = None

    @property
    def first_line(self) -> str:
        """The block's first non-blank line, which names it in reports."""
        return next((line.strip() for line in self.text.splitlines() if line.strip()), "")


def _language(classes: Iterable[str]) -> str | None:
    for name in classes:
        if name.startswith("language-"):
            return name.removeprefix("language-").lower()
    return None


def _skip_note(container: _Element) -> str | None:
    before = container.previous_element()
    if before is None or "admonition" not in before.classes:
        return None
    title = next((e for e in before.descendants() if "admonition-title" in e.classes), None)
    if title is None:
        return None
    text = " ".join(title.text().split())
    return text if text.startswith(SKIP_NOTE) else None


def _parse(page_html: str) -> _TreeBuilder:
    builder = _TreeBuilder()
    builder.feed(page_html)
    builder.close()
    return builder


def code_blocks(page_html: str) -> list[CodeBlock]:
    """Extract every ``<pre>`` block of a built page's main content.

    The line-number column of a ``linenums`` block is not part of what it shows, and
    a signature mkdocstrings renders from the code object (``doc-signature``) is not an
    example. The skip note is the "Not checked" admonition that
    :func:`harness.page_features.show_skips` puts directly before a skipped fence.

    Args:
        page_html: A built page, or a fragment of one (then all of it is content).

    Returns:
        The blocks in page order, whatever their language.
    """
    main = _main_content(_parse(page_html).root)
    blocks: list[CodeBlock] = []
    for pre in main.descendants():
        if pre.tag != "pre":
            continue
        around = list(pre.ancestors())
        if any({"linenos", "linenodiv", "doc-signature"}.intersection(e.classes) for e in around):
            continue
        # pymdownx.highlight wraps the <pre> (and a title or a line-number table) in one
        # div that carries the language; a bare <pre><code class="language-x"> may not.
        container = next((e for e in around if e.tag == "div" and "highlight" in e.classes), pre)
        code = next((e for e in pre.descendants() if e.tag == "code"), None)
        language = _language(container.classes) or _language(code.classes if code else ())
        text = pre.text(leave_out=frozenset({"linenos"}))
        blocks.append(CodeBlock(container.line, language, text, _skip_note(container)))
    return blocks


def hidden_code(page_html: str) -> list[int]:
    """Find the comments of a page's main content that hold a code block.

    Markdown inside an HTML comment is still built (and a Python fence there still runs),
    but no reader ever sees it. The comment holds the rendered block, or the fence as
    written.

    Args:
        page_html: A built page, or a fragment of one.

    Returns:
        The HTML line where each such comment starts.
    """
    builder = _parse(page_html)
    main = _main_content(builder.root)
    if main is builder.root:
        comments = builder.comments
    else:
        # Comments are not elements: keep those between the article's start and end tags.
        last = main.end_line or max((e.line for e in main.descendants()), default=main.line)
        comments = [(line, text) for line, text in builder.comments if main.line <= line <= last]
    return [line for line, text in comments if "<pre" in text or _raw_python_fence(text)]


_RAW_FENCE = re.compile(r"^[ \t>]*(?:`{3,}|~{3,})(?P<info>[^\n]*)$", re.MULTILINE)


def _raw_python_fence(text: str) -> bool:
    # Python-Markdown may keep a comment's Markdown as written instead of rendering it.
    return any(
        fence_language(match.group("info")) in PYTHON_LANGUAGES
        for match in _RAW_FENCE.finditer(text)
    )


# --- What shows Python --------------------------------------------------------------


def has_session_prompt(text: str) -> bool:
    """Tell whether ``text`` holds an interactive session's ``>>>`` or ``...`` lines.

    Args:
        text: A code block's text.

    Returns:
        True if a line starts with ``>>>``, or with ``...`` and code at the block's left
        edge (a traceback's indented ``...`` is not a prompt).
    """
    lines = textwrap.dedent(text).splitlines()
    return any(_PROMPT.match(line) or _CONTINUATION.match(line) for line in lines)


def parses_as_code(text: str) -> bool:
    """Tell whether ``text`` is Python code a reader would run.

    Parsing alone is too weak: ``ls``, an output such as ``tensor([1., 2.])``, or
    ``ValueError: bad`` parse too. So the code must also import something or use torch or
    tensorkit by name. Shell commands (``make test``, ``python -m pytest``) and tracebacks
    do not parse.

    Args:
        text: A code block's text, or the body of a fence.

    Returns:
        True if it parses as Python and imports or names torch or tensorkit.
    """
    try:
        with warnings.catch_warnings():
            # Text that is not code may hold "\d" and the like: no SyntaxWarning for that
            # (under pytest's warnings-as-errors it would be a SyntaxError).
            warnings.simplefilter("ignore")
            tree = ast.parse(textwrap.dedent(text))
    except (SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, (ast.Import, ast.ImportFrom))
        or (isinstance(node, ast.Name) and node.id in LIBRARIES)
        for node in ast.walk(tree)
    )


def looks_like_python(text: str) -> bool:
    """Tell whether text with no Python language label shows Python anyway.

    Args:
        text: A code block's text, or the body of a fence.

    Returns:
        True for a ``>>>`` session, or for code as :func:`parses_as_code` reads it.
    """
    return has_session_prompt(text) or parses_as_code(text)


def shows_python(block: CodeBlock) -> bool:
    """Tell whether a reader sees Python in ``block``: by its language, or its content.

    Args:
        block: A block of a built page.

    Returns:
        True for a Python language (:data:`harness.fences.PYTHON_LANGUAGES`), False for
        a Markdown block (an illustration of page source, whatever it holds), and for
        any other language, or none, whether its text looks like Python.
    """
    if block.language in ILLUSTRATION_LANGUAGES:
        return False
    if block.language in PYTHON_LANGUAGES:
        return True
    return looks_like_python(block.text)


# --- Matching a block to the examples that ran --------------------------------------


@dataclass(frozen=True)
class ExampleRef:
    """One example the harness collects, as :mod:`harness.executed` records it."""

    origin: Origin
    path: str
    line: int


@dataclass(frozen=True)
class Shown:
    """What one collected example (or an include and its programs) shows to readers."""

    text: str
    #: Every example that must have run and passed for the block to be true.
    runs: tuple[ExampleRef, ...]
    #: A docstring session may be rendered as several blocks, each a part of it.
    excerpt: bool = False


def normalise(text: str) -> tuple[str, ...]:
    """Make the lines a reader sees comparable between the sources and the HTML.

    Python-Markdown expands tabs, and trailing spaces are invisible;
    :func:`harness.page_features.show_blank_lines` shows doctest's ``<BLANKLINE>`` as an
    empty line; a fence indented in a list, or a docstring, is shown dedented.

    Args:
        text: A block's text or an example's source.

    Returns:
        Its lines, so normalised, without leading or trailing blank lines.
    """
    lines = ["" if line.strip() == _BLANKLINE else line.rstrip() for line in text.splitlines()]
    lines = textwrap.dedent("\n".join(lines).expandtabs(4)).split("\n")
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return tuple(lines)


def _is_excerpt(block: tuple[str, ...], whole: tuple[str, ...]) -> bool:
    # A part of a session must start at a >>> line and end where an example's output
    # ends (a blank line, the next >>> line, or the end), so that no output is cut.
    size = len(block)
    if not size or not _PROMPT.match(block[0]):
        return False
    for start in range(len(whole) - size + 1):
        if whole[start : start + size] != block:
            continue
        after = whole[start + size] if start + size < len(whole) else ""
        if not after.strip() or _PROMPT.match(after):
            return True
    return False


def matches(block: CodeBlock, shown: Shown) -> bool:
    """Tell whether ``block`` shows what an example shows.

    Args:
        block: A block of a built page.
        shown: What one collected example shows.

    Returns:
        True if the texts are the same line for line (see :func:`normalise`); for a
        docstring session, also if the block is a whole part of it: from a ``>>>`` line
        to the end of an example's output.
    """
    mine, theirs = normalise(block.text), normalise(shown.text)
    return mine == theirs or (shown.excerpt and _is_excerpt(mine, theirs))


@dataclass(frozen=True)
class Finding:
    """A block a reader sees that the harness did not vouch for, and what to do."""

    line: int  # the HTML line of the block or comment
    first_line: str
    problem: str


def check_page(
    page_html: str, shown: list[Shown], passed: Callable[[ExampleRef], bool | None]
) -> list[Finding]:
    """Find every Python block of a built page that no passing example accounts for.

    A block is accounted for when it shows what one of ``shown`` shows and every example
    behind it ran and passed, or when the page shows a skip note that covers the cpu pass
    directly before it. A code block inside an HTML comment is always reported.

    Args:
        page_html: The built page.
        shown: What the examples of its source page show (:func:`examples_shown_by`).
        passed: For an example, True or False if it passed or failed in the cpu pass,
            None if it did not run (:func:`cpu_outcome`).

    Returns:
        One finding per block, in page order, each saying what to do.
    """
    findings: list[Finding] = []
    for line in hidden_code(page_html):
        findings.append(
            Finding(
                line,
                "<!-- ... -->",
                "a code block inside an HTML comment: it is built (a Python fence there "
                "runs) but never shown; delete it or move it out of the comment",
            )
        )
    for block in code_blocks(page_html):
        if not shows_python(block) or block.skip_note in _CPU_SKIP_NOTES:
            continue
        candidates = [candidate for candidate in shown if matches(block, candidate)]
        if not candidates:
            findings.append(Finding(block.line, block.first_line, _unmatched(block)))
            continue
        outcomes = [[passed(run) for run in candidate.runs] for candidate in candidates]
        if any(all(outcome is True for outcome in runs) for runs in outcomes):
            continue
        findings.append(Finding(block.line, block.first_line, _not_passed(candidates, outcomes)))
    return findings


def _unmatched(block: CodeBlock) -> str:
    label = f"a ```{block.language} block" if block.language else "a block with no language"
    if block.language in PYTHON_LANGUAGES:
        why = "highlighted as Python"
    elif has_session_prompt(block.text):
        why = "it holds >>> lines"
    else:
        why = "it parses as Python that imports or uses torch/tensorkit"
    return (
        f"{label} shows Python ({why}) that no example the harness collects shows. "
        "Write it as a ```pycon session or a ```python fence so that it runs and its output "
        'is checked, or put <!-- skip: next "reason" --> above a Python fence'
    )


def _not_passed(candidates: list[Shown], outcomes: list[list[bool | None]]) -> str:
    runs = candidates[0].runs
    state = outcomes[0]
    failed = [run for run, outcome in zip(runs, state, strict=True) if outcome is False]
    where = ", ".join(f"{_display(run.path)}:{run.line}" for run in failed or runs)
    if failed:
        return f"the example behind it ({where}) failed in the cpu pass: fix it first"
    return (
        f"the example behind it ({where}) was not run in the cpu pass, and the page "
        "shows no 'Not checked' note before it: give it a skip: next directive, "
        "which the site shows, or make it run"
    )


def source_line(first_line: str, files: Iterable[Path]) -> str | None:
    """Find where a block's first line is written in the sources.

    Args:
        first_line: The block's first line, as shown.
        files: The page and the programs it includes, searched in this order.

    Returns:
        ``file:line`` (relative to the repository), or None if no file has that line.
    """
    wanted = first_line.strip()
    if not wanted:
        return None
    for file in files:
        if not file.is_file():
            continue
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip().removeprefix(">>> ").strip() == wanted.removeprefix(">>> ").strip():
                return f"{_display(str(file))}:{number}"
    return None


def _display(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return path


# --- What a source page shows, as the harness collects it ---------------------------


def _region_examples(document: Document) -> Iterator[tuple[int, Parsed]]:
    for example in document.examples():
        if isinstance(example.parsed, Parsed):
            yield example.line, example.parsed


#: griffe's view of each package, by (root, package): loading one takes half a second.
_GRIFFE: dict[tuple[Path, str], griffe.GriffeLoader] = {}


def _object_lines(dotted: str, root: Path) -> tuple[Path, range] | None:
    """The source file and lines of what a ``::: dotted`` directive renders.

    The object is found as mkdocstrings finds it, with griffe: ``tensorkit.autograd.
    jacobian`` is the module of that name, not the function the package re-exports (which
    ``pydoc.locate`` would return). A module renders its whole file; an attribute's
    docstring follows its assignment, so its lines count too.
    """
    package = dotted.split(".")[0]
    loader = _GRIFFE.get((root, package))
    if loader is None:
        loader = griffe.GriffeLoader(search_paths=[str(root)])
        loader.load(package)
        loader.resolve_aliases(implicit=False, external=False)
        _GRIFFE[(root, package)] = loader
    try:
        found = loader.modules_collection[dotted]
    except KeyError:
        return None
    target = found.final_target if isinstance(found, griffe.Alias) else found
    path = target.filepath
    if isinstance(path, list) or path is None:
        return None  # a namespace package has no single file
    if isinstance(target, griffe.Module) or target.lineno is None:
        return path.resolve(), range(1, path.read_text(encoding="utf-8").count("\n") + 2)
    last = target.endlineno or target.lineno
    if target.docstring is not None and target.docstring.endlineno is not None:
        last = max(last, target.docstring.endlineno)
    return path.resolve(), range(target.lineno, last + 1)


def examples_shown_by(
    page: Path,
    root: Path = ROOT,
    *,
    page_sybil: Sybil | None = None,
    snippet_sybil: Sybil | None = None,
    docstring_sybil: Sybil | None = None,
) -> list[Shown]:
    """List everything the harness collects (cpu pass) that ``page`` shows, with its text.

    * each Python fence of the page: its body; an include fence shows the programs it
      includes, and is true only if the fence and each program passed;
    * each snippet program the page includes anywhere (pymdownx.snippets pastes it into
      any fence): the whole program;
    * each docstring session in the source lines of the objects its ``:::`` directives
      render; mkdocstrings may split a session into several blocks, so parts count.

    Args:
        page: A source page under ``root / "docs"``.
        root: The project: its ``docs/``, ``snippets/`` and ``tensorkit/``.
        page_sybil: The pages' Sybil, if the caller has one (else the cpu pass's).
        snippet_sybil: The snippet programs' Sybil, likewise.
        docstring_sybil: The docstrings' Sybil, likewise.

    Returns:
        What each example shows, with the examples that must have passed for it.

    Raises:
        ValueError: If the harness refuses the page at collection.
    """
    page_sybil = page_sybil or pages("cpu", root)
    snippet_sybil = snippet_sybil or snippets("cpu", root)
    docstring_sybil = docstring_sybil or docstrings("cpu", root)
    text = page.read_text(encoding="utf-8")
    programs = {
        include.group("path"): root / "snippets" / include.group("path")
        for line in text.splitlines()
        if (include := SNIPPET_INCLUDE.match(line))
    }
    shown: list[Shown] = []
    document = page_sybil.parse(page)
    for line, parsed in _region_examples(document):
        fence = ExampleRef("page", document.path, line)
        body = parsed.body
        if body.kind != "include":
            shown.append(Shown(body.source, (fence,)))
            continue
        files = [root / "snippets" / include for include in body.includes]
        if all(file.is_file() for file in files):
            pasted = "".join(_as_pasted(file.read_text(encoding="utf-8")) for file in files)
            runs = (fence, *(ExampleRef("snippet", str(file), 1) for file in files))
            shown.append(Shown(pasted, runs))
    for program in programs.values():
        if program.suffix == ".py" and program.is_file():
            for example in snippet_sybil.parse(program).examples():
                shown.append(
                    Shown(example.document.text, (ExampleRef("snippet", example.path, 1),))
                )
    for match in _API_DIRECTIVE.finditer(text):
        found = _object_lines(match.group("object"), root)
        if found is None:
            continue
        module, lines = found
        for example in docstring_sybil.parse(module).examples():
            if example.line in lines and isinstance(example.parsed, Parsed):
                ref = ExampleRef("docstring", example.path, example.line)
                shown.append(Shown(example.parsed.body.source, (ref,), excerpt=True))
    return shown


def _as_pasted(program: str) -> str:
    # pymdownx.snippets pastes a file's lines in place of the include line.
    return program if program.endswith("\n") or not program else program + "\n"


# --- Making sure the examples ran ---------------------------------------------------

#: Documents this process has run here because the harness had not (path, origin).
_RUN_HERE: set[tuple[str, Origin]] = set()


def cpu_outcome(ref: ExampleRef, root: Path = ROOT) -> bool | None:
    """Tell whether an example passed in the cpu pass of this process.

    If the harness has not run it yet (this check may run alone, or before the
    documents), its document's cpu pass runs first, once, through
    :func:`harness.collect.run_document`: the same evaluators, which record into
    :mod:`harness.executed`.

    Args:
        ref: The example.
        root: The project the example belongs to.

    Returns:
        True if it passed, False if it failed, None if it did not run even then (a skip).
    """
    outcome = executed.passed(ref.path, ref.line, "cpu")
    if outcome is not None or (ref.path, ref.origin) in _RUN_HERE:
        return outcome
    _RUN_HERE.add((ref.path, ref.origin))
    sybil = {"page": pages, "snippet": snippets, "docstring": docstrings}[ref.origin]("cpu", root)
    run_document(sybil, Path(ref.path))
    return executed.passed(ref.path, ref.line, "cpu")


# --- The sources ---------------------------------------------------------------------


def python_fences_in_comments(markdown: str) -> list[int]:
    """Find the Python fences that sit inside an HTML comment of a Markdown page.

    Such a fence runs (the harness reads the Markdown) but readers never see it, and its
    code goes into the page's downloads. A comment written inside a code block is shown
    text, not a comment.

    Args:
        markdown: The page's source.

    Returns:
        The 1-based line of each such fence's opening, in page order.
    """
    document = Document(markdown, "<page>")
    fences = list(RawFencedCodeBlockLexer(info_pattern=_ANY_INFO)(document))
    spans = [(fence.start, fence.end) for fence in fences]
    comments: list[tuple[int, int]] = []
    position = 0
    while (start := markdown.find(_COMMENT_START, position)) != -1:
        shown = next((end for begin, end in spans if begin <= start < end), None)
        if shown is not None:
            position = shown  # "<!--" shown in a code block: look on after the block
            continue
        end = markdown.find(_COMMENT_END, start + len(_COMMENT_START))
        end = len(markdown) if end == -1 else end + len(_COMMENT_END)
        comments.append((start, end))
        position = end
    return [
        markdown.count("\n", 0, fence.start) + 1
        for fence in fences
        if fence_language(fence.lexemes["info"]) in PYTHON_LANGUAGES
        and any(start <= fence.start < end for start, end in comments)
    ]
