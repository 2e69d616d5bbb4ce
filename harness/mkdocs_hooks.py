"""mkdocs hooks: what the site needs beyond mkdocs-material's own features.

* The copy button copies runnable code: no ``>>>`` prompts, no output lines (see
  :func:`harness.fences.runnable_code`, the same rules the tests use).
* Formulas become MathML at build time, so the reader's browser fetches no math library.
* An example the tests skip says so on the page, with the reason.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from typing import Any

from latex2mathml.converter import convert as latex_to_mathml

# mkdocs puts only this file's folder on sys.path; the repository root makes the
# `harness` package importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.fences import PYTHON_LANGUAGES, runnable_code  # noqa: E402

_CODE_BLOCK = re.compile(
    r'<div class="language-(?P<language>[\w+-]+) highlight">(?P<inner>.*?)</div>', re.DOTALL
)
_CODE = re.compile(r"<code>(?P<code>.*?)</code>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_INLINE_MATH = re.compile(r'<span class="arithmatex">\\\((?P<tex>.*?)\\\)</span>', re.DOTALL)
_BLOCK_MATH = re.compile(r'<div class="arithmatex">\\\[(?P<tex>.*?)\\\]</div>', re.DOTALL)
_SKIP = re.compile(
    r'^(?P<indent>[ \t]*)<!--\s*skip:\s*(?:next|start)\s+(?P<reason>.+?)\s*-->[ \t]*$',
    re.MULTILINE,
)


def add_copy_text(page_html: str) -> str:
    """Give each Python code block the text its copy button should copy."""

    def replace(block: re.Match[str]) -> str:
        if block.group("language").lower() not in PYTHON_LANGUAGES:
            return block.group(0)
        code = _CODE.search(block.group("inner"))
        if code is None:
            return block.group(0)
        shown = html.unescape(_TAG.sub("", code.group("code")))
        copy = html.escape(runnable_code(shown), quote=True)
        opening = f'<div class="language-{block.group("language")} highlight"'
        return f'{opening} data-copy="{copy}">{block.group("inner")}</div>'

    return _CODE_BLOCK.sub(replace, page_html)


def render_math(page_html: str) -> str:
    """Turn arithmatex's ``\\(..\\)`` and ``\\[..\\]`` markup into MathML."""
    page_html = _BLOCK_MATH.sub(
        lambda m: latex_to_mathml(html.unescape(m.group("tex")), display="block"), page_html
    )
    return _INLINE_MATH.sub(
        lambda m: latex_to_mathml(html.unescape(m.group("tex")), display="inline"), page_html
    )


def show_skips(markdown: str) -> str:
    """Make each skip directive visible to readers as a note with its reason.

    ``<!-- skip: next "reason" -->`` becomes "Not run by the tests"; a skip for one pass,
    ``<!-- skip: next if(device == "cuda", reason="...") -->``, says which pass.
    """

    def replace(skip: re.Match[str]) -> str:
        indent, argument = skip.group("indent"), skip.group("reason").strip()
        title, reason = "Not run by the tests", argument.strip("\"'")
        condition = re.fullmatch(r"if\((?P<condition>.*?),\s*reason=(?P<q>[\"'])(?P<reason>.*)(?P=q)\)", argument)
        if condition is not None:
            reason = condition.group("reason")
            device = re.fullmatch(r"device\s*==\s*[\"'](\w+)[\"']", condition.group("condition"))
            which = f"the {device.group(1)} pass" if device else condition.group("condition")
            title = f"Not run by the tests in {which}" if device else f"Not run by the tests when {which}"
        title = title.replace('"', "'")
        return f'{indent}!!! note "{title}"\n{indent}    {reason}\n'

    return _SKIP.sub(replace, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return show_skips(markdown)


def on_page_content(html_text: str, **_: Any) -> str:
    return render_math(add_copy_text(html_text))
