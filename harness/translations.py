"""The Chinese edition: which page translates which, what a translation must keep, and
which translations are behind their English page.

A translation sits beside its English page, the language before the suffix, as
mkdocs-static-i18n's suffix structure has it: ``docs/tensors/creation.zh.md`` translates
``docs/tensors/creation.md``. Two rules make it safe to publish without running it:

* **The same examples.** Every fence, skip directive, snippet include and API directive
  of the English page is in the translation, in the same order, line for line. The one
  thing a translation may change inside them is the text of a comment in Python code
  (a ``python`` fence, or the code lines of a ``pycon`` session), except ``#>`` output
  comments and ``doctest:`` directives, which are output and test set-up, and the caption
  of a figure fence. A comment may be translated, not added, moved or removed. Headings
  keep the English page's anchors (``## 标题 { #english-anchor }``), so that a link to a
  section lands on it in either language. :func:`first_difference` checks all of it
  and names the first line that breaks it, in both files.
* **A recorded source.** The front matter says which version of the English page the
  translation translates: ``translates: <id>``, the Git blob id of the English file's
  bytes (what ``git hash-object`` prints). When the English page changes, the
  translation is behind: the page says so to readers, the test run lists it, and
  ``python -m harness.translations`` (``make translations``) shows the English diff
  since the recorded version, which Git still holds.
"""

from __future__ import annotations

import argparse
import bisect
import difflib
import hashlib
import io
import re
import subprocess
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

import markdown  # type: ignore[import-untyped]  # ships no type hints

from harness.fences import (
    CODE_LANGUAGES,
    FIGURE_ATTRIBUTE,
    SESSION_LANGUAGES,
    SNIPPET_INCLUDE,
    fence_language,
    fence_spans,
    inside,
)
from harness.paths import ROOT
from harness.skips import DIRECTIVE

#: The languages of the site besides English: the suffix of their pages.
LANGUAGE = "zh"
_SUFFIX = f".{LANGUAGE}"
#: The front matter line that records the English version a translation translates.
_RECORD = re.compile(r"^translates:[ \t]*(?P<id>\S*)[ \t]*$", re.MULTILINE)
_BLOB_ID = re.compile(r"^[0-9a-f]{40}$")
_API_DIRECTIVE = re.compile(r"^[ \t]*:::[ \t]+\S")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.+?)[ \t]*$")
_EXPLICIT_ID = re.compile(r"\{[^}]*#(?P<id>[\w.-]+)[^}]*\}[ \t]*$")


class TranslationError(ValueError):
    """A translation that breaks a rule: its message names the file and the line."""


def is_translation(page: Path) -> bool:
    """Tell whether ``page`` is a translation (``creation.zh.md``), not an English page."""
    return Path(page.stem).suffix == _SUFFIX


def english_page(translation: Path) -> Path:
    """The English page a translation translates: ``creation.zh.md`` -> ``creation.md``."""
    return translation.with_name(Path(translation.stem).stem + translation.suffix)


def translation_of(page: Path) -> Path:
    """Where the translation of an English page is: ``creation.md`` -> ``creation.zh.md``."""
    return page.with_name(f"{page.stem}{_SUFFIX}{page.suffix}")


def examples_source(page: Path) -> Path:
    """The page whose examples ``page`` shows, and whose run draws its figures: a
    translation's English page (it keeps them line for line), or the page itself."""
    return english_page(page) if is_translation(page) else page


def translations(root: Path = ROOT) -> list[Path]:
    """Every translation under ``docs/``, in path order."""
    return sorted(page for page in (root / "docs").rglob(f"*{_SUFFIX}.md"))


def blob_id(data: bytes) -> str:
    """The Git blob id of ``data``: a content hash Git can give the text back for."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def split_front_matter(text: str) -> tuple[str, str]:
    """A page's YAML front matter without its ``---`` lines (``""`` if it has none), and
    the rest of the page."""
    end = text.find("\n---\n", 3) if text.startswith("---\n") else -1
    if end == -1:
        return "", text
    return text[4:end], text[end + 5 :]


def recorded_source(translation: Path, root: Path = ROOT) -> str:
    """The blob id of the English text the translation records that it translates.

    Raises:
        TranslationError: If the front matter records none, or not a blob id.
    """
    matter, _ = split_front_matter(translation.read_text(encoding="utf-8"))
    match = _RECORD.search(matter)
    where = _shown(translation, root)
    hint = f"run `make translations RECORD={where}` once it translates the English page"
    if match is None:
        raise TranslationError(
            f"{where}:1: records no English version: its front matter needs "
            f"'translates: <blob id>'; {hint}"
        )
    if not _BLOB_ID.match(match.group("id")):
        raise TranslationError(
            f"{where}:1: 'translates: {match.group('id')}' is not a Git blob id "
            f"(40 hexadecimal digits, as `git hash-object` prints); {hint}"
        )
    return match.group("id")


def is_behind(translation: Path, root: Path = ROOT) -> bool:
    """Tell whether the English page changed since the version the translation records."""
    return recorded_source(translation, root) != blob_id(english_page(translation).read_bytes())


def record_source(translation: Path) -> str:
    """Record the English page's current version in the translation's front matter."""
    current = blob_id(english_page(translation).read_bytes())
    text = translation.read_text(encoding="utf-8")
    matter, body = split_front_matter(text)
    if body == text:  # no front matter yet: a blank line between it and the page
        body = f"\n{text}"
    if _RECORD.search(matter):
        matter = _RECORD.sub(f"translates: {current}", matter, count=1)
    else:
        matter = f"{matter}\ntranslates: {current}" if matter else f"translates: {current}"
    text = f"---\n{matter}\n---\n{body}"
    translation.write_text(text, encoding="utf-8")
    return current


# What a translation must keep.


@dataclass(frozen=True)
class Kept:
    """Something a translation keeps as it is: its first line, and its lines compared."""

    line: int
    what: str
    lines: tuple[str, ...]
    #: The lines as written, comments and all, to show where they differ.
    written: tuple[str, ...] = ()


def _is_translatable(comment: str) -> bool:
    return not comment.startswith("#>") and "doctest:" not in comment


def _blank_comments(code_lines: list[str]) -> list[str] | None:
    """``code_lines`` with each translatable comment's text replaced by a bare ``#``;
    None if they do not tokenize (then the lines are compared as they are)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(code_lines) + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    lines = list(code_lines)
    for token in reversed(tokens):
        if token.type == tokenize.COMMENT and _is_translatable(token.string):
            row, column = token.start[0] - 1, token.start[1]
            code = lines[row][:column].rstrip()
            lines[row] = f"{code} #" if code else f"{lines[row][:column]}#"
    return lines


_PROMPT = re.compile(r"^(?P<prompt>[ \t]*(?:>>>|\.\.\.)(?: |$))(?P<code>.*)$")


def normalized_code(language: str | None, body: list[str]) -> list[str]:
    """Code lines as the rule compares them: each translatable comment's text blanked in
    Python code (``python``) and in a session's code lines (``pycon``); other languages'
    lines, and every output line, as they are."""
    if language in CODE_LANGUAGES:
        return _blank_comments(body) or body
    if language in SESSION_LANGUAGES:
        prompts = [_PROMPT.match(line) for line in body]
        rows = [(row, match) for row, match in enumerate(prompts) if match]
        blanked = _blank_comments([match.group("code") for _, match in rows])
        if blanked is None:
            return body
        lines = list(body)
        for (row, match), code in zip(rows, blanked, strict=True):
            lines[row] = match.group("prompt") + code
        return lines
    return body


def _normalized_fence(lines: list[str]) -> tuple[str, ...]:
    """A fence's lines as the rule compares them: comments of its Python code blanked."""
    opening = lines[0]
    indent = opening[: len(opening) - len(opening.lstrip())]
    language = fence_language(opening.lstrip().lstrip("`~"))
    body = [line[len(indent) :] if line.startswith(indent) else line for line in lines[1:-1]]
    body = normalized_code(language, body)
    # A figure's caption is prose, shown under the figure: it may be translated.
    opening = FIGURE_ATTRIBUTE.sub('figure="…"', opening)
    return (opening, *(indent + line for line in body), lines[-1])


def kept_parts(text: str) -> list[Kept]:
    """What a translation keeps from a page, in page order: fences (comments blanked),
    skip directives, snippet includes and API directives outside fences."""
    spans = fence_spans(text)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    parts = []
    for start, end in spans:
        written = tuple(text[start:end].rstrip("\n").split("\n"))
        first = bisect.bisect_right(line_starts, start)  # the fence's line number
        parts.append(Kept(first, "fence", _normalized_fence(list(written)), written))
    for number, line in enumerate(text.split("\n"), start=1):
        offset = line_starts[number - 1]
        if inside(offset, spans):
            continue
        if DIRECTIVE.match(line):
            parts.append(Kept(number, "skip directive", (line.strip(),)))
        elif SNIPPET_INCLUDE.match(line):
            parts.append(Kept(number, "snippet include", (line.strip(),)))
        elif _API_DIRECTIVE.match(line):
            parts.append(Kept(number, "API directive", (line.strip(),)))
    return sorted(parts, key=lambda part: part.line)


def heading_ids(text: str) -> list[tuple[int, str]]:
    """Each heading's anchor as the site gives it, with its line: explicit ``{ #id }``
    or the one Python-Markdown's toc makes from the heading text."""
    spans = fence_spans(text)
    headings: list[tuple[int, str]] = []
    offset = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not inside(offset, spans) and _HEADING.match(line):
            headings.append((number, line))
        offset += len(line) + 1
    # Converted together, as in the page: a repeated heading gets toc's "_1" suffix.
    converter = markdown.Markdown(extensions=["toc", "attr_list"])
    converter.convert("\n\n".join(line for _, line in headings))
    ids = _flatten(converter.toc_tokens)
    return [(number, anchor) for (number, _), anchor in zip(headings, ids, strict=True)]


def _flatten(tokens: list[dict[str, object]]) -> list[str]:
    found: list[str] = []
    for token in tokens:
        found.append(str(token["id"]))
        found += _flatten(token["children"])  # type: ignore[arg-type]
    return found


def first_difference(english: Path, translation: Path, root: Path = ROOT) -> str | None:
    """Where the translation breaks the rule of the same examples, naming both files and
    the first differing line; ``None`` if it keeps every example and anchor."""
    ours, theirs = _shown(translation, root), _shown(english, root)
    english_text = english.read_text(encoding="utf-8")
    translated_text = translation.read_text(encoding="utf-8")
    wanted, got = kept_parts(english_text), kept_parts(translated_text)
    for index, want in enumerate(wanted):
        if index >= len(got):
            return (
                f"{theirs}:{want.line}: this {want.what} has no counterpart in {ours}, "
                f"which ends after {len(got)} of the English page's {len(wanted)}"
            )
        have = got[index]
        if have.lines == want.lines:
            continue
        pairs = zip(want.lines, have.lines, strict=False)
        offset = next(
            (at for at, (a, b) in enumerate(pairs) if a != b),
            min(len(want.lines), len(have.lines)),
        )
        return (
            f"{ours}:{have.line + offset} differs from {theirs}:{want.line + offset} "
            f"({want.what} {index + 1} of the page; only comments in Python code may be "
            f"translated):\n  English:     {_line(want.written or want.lines, offset)}\n"
            f"  translation: {_line(have.written or have.lines, offset)}"
        )
    if len(got) > len(wanted):
        extra = got[len(wanted)]
        return f"{ours}:{extra.line}: this {extra.what} is not on the English page {theirs}"
    english_ids, translated_ids = heading_ids(english_text), heading_ids(translated_text)
    for (line, want_id), (have_line, have_id) in zip(english_ids, translated_ids, strict=False):
        if want_id != have_id:
            return (
                f"{ours}:{have_line}: the heading's anchor is #{have_id}, where "
                f"{theirs}:{line} has #{want_id}: write '{{ #{want_id} }}' at its end"
            )
    if len(english_ids) != len(translated_ids):
        return (
            f"{ours} has {len(translated_ids)} headings, {theirs} has {len(english_ids)}: "
            "a translation keeps the English page's sections"
        )
    return None


def _line(lines: tuple[str, ...], index: int) -> str:
    return repr(lines[index]) if index < len(lines) else "(nothing: the part ends before)"


def check(translation: Path, root: Path = ROOT) -> None:
    """Check one translation: a recorded source, and the English page's examples.

    Raises:
        TranslationError: Naming the file and line of the first rule it breaks.
    """
    english = english_page(translation)
    if not english.is_file():
        raise TranslationError(
            f"{_shown(translation, root)}:1: translates {_shown(english, root)}, "
            "which does not exist"
        )
    recorded_source(translation, root)
    if (difference := first_difference(english, translation, root)) is not None:
        raise TranslationError(difference)


# For translators.


def start_translation(page: Path) -> Path:
    """Write a new translation of ``page`` to fill in: the English text, each heading
    with its anchor written out, and the version it starts from recorded."""
    target = translation_of(page)
    if target.exists():
        raise FileExistsError(f"{target} exists already")
    text = page.read_text(encoding="utf-8")
    lines = text.split("\n")
    for number, anchor in heading_ids(text):
        line = lines[number - 1]
        if not _EXPLICIT_ID.search(line):
            lines[number - 1] = f"{line} {{ #{anchor} }}"
    target.write_text("\n".join(lines), encoding="utf-8")
    record_source(target)
    return target


def english_diff(translation: Path, root: Path = ROOT) -> str:
    """The English page's changes since the version the translation records."""
    english = english_page(translation)
    recorded = recorded_source(translation, root)
    shown = _shown(english, root)
    found = subprocess.run(
        ["git", "cat-file", "blob", recorded],
        cwd=root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if found.returncode != 0:
        return f"(Git holds no version {recorded[:12]} of {shown}: compare by hand)\n"
    before = found.stdout.splitlines(keepends=True)
    after = english.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            before, after, f"{shown} (translated, {recorded[:12]})", f"{shown} (now)"
        )
    )


def report(root: Path = ROOT) -> tuple[list[str], int]:
    """One line per translation that is behind or broken, with what to do; and how many
    translations there are."""
    found = translations(root)
    lines = []
    for translation in found:
        try:
            check(translation, root)
        except TranslationError as error:
            lines.append(f"broken: {error}")
            continue
        if is_behind(translation, root):
            lines.append(
                f"behind: {_shown(translation, root)}: "
                f"{_shown(english_page(translation), root)} changed since it was translated"
            )
    return lines, len(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.translations",
        description="List translations that are behind their English page or break the "
        "rule of the same examples, with the English diff since each was translated.",
    )
    parser.add_argument(
        "--record",
        nargs="+",
        metavar="PAGE",
        type=Path,
        help="record that these translations now translate their English page as it is",
    )
    parser.add_argument(
        "--start", nargs="+", metavar="PAGE", type=Path, help="start translating these pages"
    )
    parser.add_argument(
        "--check", nargs="+", metavar="PAGE", type=Path, help="check only these translations"
    )
    args = parser.parse_args(argv)
    if args.check:
        failed = 0
        for translation in args.check:
            try:
                check(translation.absolute())
                print(f"{translation}: keeps every example and anchor of its English page")
            except TranslationError as error:
                failed += 1
                print(error)
        return 1 if failed else 0
    for page in args.start or []:
        print(f"started {start_translation(page.absolute())}")
    for translation in args.record or []:
        translation = translation.absolute()
        if not is_translation(translation):
            translation = translation_of(translation)
        print(f"{_shown(translation, ROOT)}: translates {record_source(translation)[:12]}")
    if args.start or args.record:
        return 0
    problems, count = report()
    for line in problems:
        print(line)
        if line.startswith("behind: "):
            translation = ROOT / line.split(": ")[1]
            print(english_diff(translation))
    print(f"{count} translations: {count - len(problems)} current, {len(problems)} to fix")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
