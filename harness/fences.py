"""What counts as a Python example in Markdown, and what a reader copies from one.

One module owns these rules so that the harness that runs the examples, the test that
checks nothing escaped it, and the site's copy button all agree.
"""

from __future__ import annotations

import doctest
import re
from dataclasses import dataclass
from typing import Literal

from sybil import Document
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

#: Fence languages of plain Python code, run as a program. Matched case-insensitively.
CODE_LANGUAGES = frozenset({"python", "py", "python3", "py3"})
#: Fence languages of an interactive session: ``>>>`` lines and their output.
SESSION_LANGUAGES = frozenset({"pycon"})
#: Languages that highlight as Python but that the harness cannot run as written: a page
#: using one fails at collection, so no Python reaches readers untested.
UNSUPPORTED_PYTHON_LANGUAGES = frozenset(
    {"ipython", "ipython3", "ipythonconsole", "python2", "py2", "python-console", "pytb"}
)
#: Every fence language the harness treats as Python.
PYTHON_LANGUAGES = CODE_LANGUAGES | SESSION_LANGUAGES | UNSUPPORTED_PYTHON_LANGUAGES

#: A line that includes a snippet file (pymdownx.snippets), e.g. ``--8<-- "autograd/x.py"``.
SNIPPET_INCLUDE = re.compile(r'^[ \t]*-{1,}8<-{1,}[ \t]+"(?P<path>[^"]+)"[ \t]*$')

#: The info string of a fence: ``python``, ``py title="a.py"``, ``{ .python .annotate }``.
_INFO = re.compile(r"^\s*(?:\{\s*\.?(?P<braced>[\w+.-]+)[^}]*\}|(?P<bare>[\w+.-]+))")

#: pytest-examples' convention for output in a program: ``#>`` lines follow the print.
OUTPUT_COMMENT = re.compile(r"^[ \t]*#>(?: |$)")


def output_comment_text(comment: str) -> str:
    """The output a ``#>`` comment (or a line ending in one) shows: ``#> 12`` is ``12``."""
    return comment.split("#>", 1)[1][1:]


#: Info-string attribute that marks a figure fence and holds its caption:
#: ```` ```python figure="Loss per epoch" ````.
FIGURE_ATTRIBUTE = re.compile(r"""\bfigure=(?P<quote>["'])(?P<caption>.*?)(?P=quote)""")

Kind = Literal["doctest", "code", "include", "figure"]


def figure_caption(info: str) -> str | None:
    """The caption of a figure fence, or None if the fence draws no figure."""
    match = FIGURE_ATTRIBUTE.search(info)
    return None if match is None else match.group("caption")


def fence_spans(text: str) -> list[tuple[int, int]]:
    """The character spans of all fenced code blocks in Markdown ``text``, any language.

    Text inside a fence is shown, not obeyed: a skip directive there is an illustration.
    """
    lexer = RawFencedCodeBlockLexer(info_pattern=re.compile(r"[^\n]*$\n", re.MULTILINE))
    return [(region.start, region.end) for region in lexer(Document(text, "<markdown>"))]


def inside(position: int, spans: list[tuple[int, int]]) -> bool:
    """Tell whether ``position`` falls within one of ``spans``."""
    return any(start <= position < end for start, end in spans)


def fence_language(info: str) -> str | None:
    """Return the language of a fence's info string, lower-cased, or None if it has none."""
    match = _INFO.match(info)
    if match is None:
        return None
    return (match.group("braced") or match.group("bare")).lower()


def is_python_info(info: str) -> bool:
    """Tell whether a fence with this info string holds Python."""
    return fence_language(info) in PYTHON_LANGUAGES


def is_session_info(info: str) -> bool:
    """Tell whether a fence with this info string holds a ``>>>`` session."""
    return fence_language(info) in SESSION_LANGUAGES


def has_prompt(source: str) -> bool:
    """Tell whether ``source`` has a ``>>>`` line (a docstring's Examples section does)."""
    return any(line.lstrip().startswith(">>>") for line in source.splitlines())


@dataclass(frozen=True)
class FenceBody:
    """The body of a Python fence, classified the way the harness runs it."""

    kind: Kind
    source: str
    #: For ``include`` fences, the included paths as written (relative to ``snippets/``).
    includes: tuple[str, ...] = ()
    #: For ``figure`` fences, the caption shown under the pictures.
    caption: str = ""


def classify(source: str, info: str) -> FenceBody:
    """Classify a fence body, by its language, as a session, code, a figure, or an include.

    A ``pycon`` fence is a session; a ``python`` fence is code, even if a string in it
    holds ``>>>`` lines. A fence whose non-blank lines are all ``--8<--`` includes shows a
    snippet file; the snippet is run as a program of its own, so the fence itself has
    nothing to run. A fence with a ``figure="caption"`` attribute is code whose
    matplotlib figures the page shows.
    """
    caption = figure_caption(info)
    if caption is not None:
        return FenceBody("figure", source, caption=caption)
    if is_session_info(info):
        return FenceBody("doctest", source)
    lines = [line for line in source.splitlines() if line.strip()]
    includes = [SNIPPET_INCLUDE.match(line) for line in lines]
    if lines and all(includes):
        return FenceBody("include", source, tuple(m.group("path") for m in includes if m))
    return FenceBody("code", source)


def runnable_code(source: str, session: bool) -> str:
    """Return the code a reader should get from an example: no prompts, no output.

    A ``session`` is split by :mod:`doctest`'s own parser, the one that runs it, so the
    copied code is exactly the code that was tested. In plain code, ``#>`` output
    comments are dropped.
    """
    if session:
        examples = doctest.DocTestParser().get_examples(source)
        return "".join(strip_directives(example.source) for example in examples)
    kept = [line for line in source.splitlines() if not OUTPUT_COMMENT.match(line)]
    return "\n".join(kept).rstrip("\n") + "\n"


_DIRECTIVE = re.compile(r"[ \t]*#\s*doctest:.*$", re.MULTILINE)


def strip_directives(code: str) -> str:
    """Remove doctest option comments: they steer the test; a reader's copy needs none."""
    return _DIRECTIVE.sub("", code)


#: The opening line of a fence whose code draws a figure (``figure="caption"``).
FIGURE_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*\bfigure=[^\n]*)$", re.MULTILINE
)
