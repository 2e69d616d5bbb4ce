"""Skip directives: ``<!-- skip: next "reason" -->``, strict and visible.

A skipped example is one nobody tests, so the rules are narrow and every mistake fails
at collection with the file and line:

* ``next`` sits directly above the Python fence it skips (blank lines aside);
* ``start`` is closed by an ``end`` before the next ``start`` or the end of the page;
* the reason is a string literal, never code: ``"reason"``, or, to skip in one pass
  only, ``if(device == "cuda", reason="...")``, or, where an optional package is not
  installed, ``if(missing("tensorflow"), reason="...")``;
* a directive shown inside a code block is an illustration, not a directive.

The site shows each reason to readers (:mod:`harness.page_features`), and pytest reports
each skipped example as ``page:line: reason``.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import unittest
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import markdown  # type: ignore[import-untyped]  # ships no type hints
import yaml  # type: ignore[import-untyped]  # ships no type hints
from sybil import Document, Example, Region
from sybil.example import NotEvaluated

from harness.fences import fence_spans, inside, is_python_info
from harness.paths import ROOT, display_path

#: A skip directive as written in a page, on a line of its own.
DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)<!--[ \t]*skip:[ \t]*(?P<action>\w+)(?P<argument>.*?)[ \t]*-->[ \t]*$",
    re.MULTILINE,
)
_FOR_ONE_PASS = re.compile(
    r"if\(\s*device\s*==\s*(?P<quote>[\"'])(?P<device>\w+)(?P=quote)\s*,"
    r"\s*reason\s*=\s*(?P<reason>.+?)\s*\)"
)
_WITHOUT_MODULE = re.compile(
    r"if\(\s*missing\(\s*(?P<quote>[\"'])(?P<module>[\w.]+)(?P=quote)\s*\)\s*,"
    r"\s*reason\s*=\s*(?P<reason>.+?)\s*\)"
)
_FENCE_OPENING = re.compile(r"^[ \t]*(?:`{3,}|~{3,})(?P<info>[^\n]*)$")

_EXAMPLES = (
    'write <!-- skip: next "why it cannot run" --> or '
    '<!-- skip: next if(device == "cuda", reason="why it cannot run on a GPU") --> or '
    '<!-- skip: next if(missing("tensorflow"), reason="what it needs") -->'
)


#: Readers' names of the devices examples are checked on.
DEVICE_NAMES = {"cpu": "CPU", "cuda": "CUDA"}
#: The title of the note a page shows in place of a skip directive, for readers.
SKIP_NOTE = "Not checked"


def skip_note_title(device: str | None) -> str:
    """The note's title: "Not checked", or "Not checked on CUDA" for one device only."""
    return SKIP_NOTE if device is None else f"{SKIP_NOTE} on {DEVICE_NAMES[device]}"


@dataclass(frozen=True)
class SkipDirective:
    """One directive: ``action`` is ``next``, ``start`` or ``end``.

    ``device`` names the only pass it applies to, or is None for every pass;
    ``needs`` names an optional module whose absence alone makes it apply.
    """

    action: str
    reason: str = ""
    device: str | None = None
    needs: str | None = None

    def applies_to(self, device: str) -> bool:
        if self.needs is not None and not module_missing(self.needs):
            return False
        return self.device is None or self.device == device


def module_missing(name: str) -> bool:
    """Tell whether ``name`` cannot be imported here (an optional package not installed)."""
    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:  # a parent package is missing
        return True


def _string_literal(text: str) -> str | None:
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return None
    return value.strip() if isinstance(value, str) else None


def parse_directive(action: str, argument: str, where: str) -> SkipDirective:
    """Read one directive's words; raise ValueError, naming ``where``, if they are wrong."""
    argument = argument.strip()
    if action == "end":
        if argument:
            raise ValueError(f"{where}: 'skip: end' takes no reason; write <!-- skip: end -->")
        return SkipDirective("end")
    if action not in ("next", "start"):
        raise ValueError(f"{where}: unknown 'skip: {action}'; use next, start or end")
    one_pass = _FOR_ONE_PASS.fullmatch(argument)
    without = _WITHOUT_MODULE.fullmatch(argument)
    condition = one_pass or without
    reason = _string_literal(condition.group("reason") if condition else argument)
    if not reason:
        raise ValueError(
            f"{where}: 'skip: {action}' needs its reason as a quoted string, "
            f"not {argument or 'nothing'!r}: {_EXAMPLES}"
        )
    return SkipDirective(
        action,
        reason,
        one_pass.group("device") if one_pass else None,
        without.group("module") if without else None,
    )


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _next_content_line(text: str, position: int) -> str:
    for line in text[position:].split("\n")[1:]:
        if line.strip():
            return line
    return ""


@functools.cache
def _markdown_renderer() -> markdown.Markdown:
    # Built once: reading mkdocs.yml and loading the extensions costs more than a page.
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    names: list[str] = []
    options: dict[str, Any] = {}
    for entry in config["markdown_extensions"]:
        name, settings = next(iter(entry.items())) if isinstance(entry, dict) else (entry, None)
        if name == "pymdownx.snippets":
            continue  # what it pastes in does not change where a page's own lines go
        names.append(name)
        options[name] = settings or {}
    return markdown.Markdown(extensions=names, extension_configs=options)


def _shown_as_code(text: str, matches: list[re.Match[str]]) -> set[int]:
    """The starts of ``matches`` that the site's Markdown shows inside a code block.

    An indented line may be an indented code block, or the content of a list item or an
    admonition: only the renderer knows, so each directive is replaced by a probe and
    the page rendered with the site's own extensions. A probe that comes out escaped
    inside ``<code>`` was shown as text, not obeyed as a comment.
    """
    probed, last = [], 0
    for number, match in enumerate(matches):
        probed += [text[last : match.start()], f"{match.group('indent')}<!-- probe-{number} -->"]
        last = match.end()
    probed.append(text[last:])
    rendered = _markdown_renderer().reset().convert("".join(probed))
    code = "".join(re.findall(r"<code>(.*?)</code>", rendered, re.DOTALL))
    code = re.sub(r"<[^>]+>", "", code)
    return {m.start() for n, m in enumerate(matches) if f"&lt;!-- probe-{n} --&gt;" in code}


def directives(document: Document, name: str) -> Iterable[tuple[int, int, SkipDirective]]:
    """Every directive of a page as (start, end, directive), checked; ``name`` for errors."""
    text = document.text
    fenced = fence_spans(text)
    found = [match for match in DIRECTIVE.finditer(text) if not inside(match.start(), fenced)]
    # Only a line indented by four or more can be an indented code block.
    indented = [match for match in found if len(match.group("indent").expandtabs(4)) >= 4]
    illustrations = _shown_as_code(text, indented) if indented else set()
    open_start: int | None = None
    for match in found:
        if match.start() in illustrations:
            continue  # shown in a code block as an illustration, not a directive
        line = _line_of(text, match.start())
        where = f"{name}:{line}"
        directive = parse_directive(match.group("action"), match.group("argument"), where)
        if directive.action == "next":
            following = _FENCE_OPENING.match(_next_content_line(text, match.start()))
            if following is None or not is_python_info(following.group("info")):
                raise ValueError(
                    f"{where}: 'skip: next' must sit directly above the Python fence it "
                    "skips (only blank lines between them)"
                )
        elif directive.action == "start":
            if open_start is not None:
                raise ValueError(
                    f"{where}: 'skip: start' inside the skip started at line {open_start}; "
                    "close that one with <!-- skip: end --> first"
                )
            open_start = line
        else:
            if open_start is None:
                raise ValueError(f"{where}: 'skip: end' without a 'skip: start' above it")
            open_start = None
        yield match.start(), match.end(), directive
    if open_start is not None:
        raise ValueError(
            f"{name}:{open_start}: 'skip: start' is never closed: add <!-- skip: end --> "
            "after the last example it skips"
        )


class _Skipping:
    """Pushed on a document while a skip is in force: skips examples with their reason."""

    def __init__(self, directive: SkipDirective, name: str) -> None:
        self.directive = directive
        self.name = name

    def __call__(self, example: Example) -> None:
        if isinstance(example.parsed, SkipDirective):
            raise NotEvaluated()  # directives still run: an 'end' lifts this skip
        if self.directive.action == "next":
            example.document.pop_evaluator(self)
        raise unittest.SkipTest(f"{self.name}:{example.line}: {self.directive.reason}")


class SkipEvaluator:
    """Evaluates directives in one pass: starts and ends skips on their document."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._active: weakref.WeakKeyDictionary[Document, _Skipping] = weakref.WeakKeyDictionary()

    def __call__(self, example: Example) -> None:
        directive: SkipDirective = example.parsed
        document = example.document
        active = self._active.pop(document, None)
        if directive.action == "end":
            if active is not None:
                document.pop_evaluator(active)
            return
        if directive.applies_to(self.device):
            skipping = _Skipping(directive, display_path(example.path))
            self._active[document] = skipping
            document.push_evaluator(skipping)

    def __repr__(self) -> str:
        return f"<SkipEvaluator {self.device}>"


class SkipDirectiveParser:
    """One region per skip directive of a page, each checked as the module says."""

    def __init__(self, device: str) -> None:
        self.evaluator = SkipEvaluator(device)

    def __call__(self, document: Document) -> Iterable[Region]:
        for start, end, directive in directives(document, display_path(document.path)):
            yield Region(start, end, directive, self.evaluator)
