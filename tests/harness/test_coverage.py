"""No example escapes the harness, and no page goes untested.

The harness's own parser decides what it collects; this test finds Python in pages by a
separate, deliberately looser scan of the Markdown, so a fence the harness's rules miss is
caught here. It reads every file mkdocs builds as a page, and finds Python wherever a
reader would see it: in a fence of any language, in an indented block, in a blockquote.

One rule keeps illustrations legitimate: a fence whose language is Markdown (``markdown``
or ``md``) shows page source, so what is inside it is shown as Markdown, not as Python.
A fence with an explicit non-Python language (``text``, ``bash``) is trusted to hold no
code unless it shows a ``>>>`` session. The built HTML is checked as well, independently
(tests/site/test_rendered_examples.py).
"""

from __future__ import annotations

import inspect
import pydoc
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from mkdocs.utils import markdown_extensions
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from sybil import Document

from harness.collect import ROOT, pages
from harness.evaluators import Parsed
from harness.fences import has_prompt, is_python_info
from harness.rendered import looks_like_python, python_fences_in_comments
from harness.translations import is_translation


def page_files(docs: Path) -> list[Path]:
    """Every file under ``docs`` that mkdocs builds as an English page, whatever its
    extension. A translation's fences are its English page's, line for line, which its
    own item checks (``docs/<page>.zh.md::same examples as docs/<page>.md``)."""
    return sorted(
        path
        for path in docs.rglob("*")
        if path.is_file() and path.suffix in markdown_extensions and not is_translation(path)
    )


PAGES = page_files(ROOT / "docs")


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


#: A fence line, after any blockquote markers, a list marker and indentation.
_FENCE = re.compile(
    r"^(?P<prefix>(?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d+[.)])[ \t]+)?)"
    r"(?P<fence>`{3,}|~{3,})(?P<info>.*)$"
)
#: Looser than the harness: any info string mentioning py, python, pycon or ipython.
_PYTHONISH = re.compile(r"(?i)(?<![a-z])(?:i?py\w*|\w*python\w*)")
#: The language of an info string: ``python``, ``py title="x"``, ``{ .python .annotate }``.
_LANGUAGE = re.compile(r"^\s*(?:\{\s*\.?)?(?P<language>[\w+.-]+)")
#: A ``>>>`` line, behind any blockquote markers or list markers, at any indentation.
_PROMPT = re.compile(r"^(?:[ \t]*(?:>|[-*+](?=[ \t])|\d+[.)](?=[ \t])))*[ \t]*>>>(?:[ \t]|$)")
_QUOTE_MARKER = re.compile(r"^[ \t]*>")
_API_DIRECTIVE = re.compile(r"^:::[ \t]+(?P<object>[\w.]+)", re.MULTILINE)
#: Fence languages that show Markdown source: an illustration of how a page is written.
_ILLUSTRATION = frozenset({"markdown", "md"})
_INDENTED_CODE = 4  # Python-Markdown's tab_length: four spaces make a code block


@dataclass(frozen=True)
class ScannedFence:
    opening: int  # 1-based line of the opening fence
    closing: int
    info: str
    body: str  # the lines in between, container markers and indentation removed

    @property
    def language(self) -> str | None:
        match = _LANGUAGE.match(self.info)
        return match.group("language").lower() if match else None

    def holds(self, line: int) -> bool:
        return self.opening < line < self.closing


def _strip_quotes(line: str, depth: int) -> str:
    for _ in range(depth):
        marker = _QUOTE_MARKER.match(line)
        if marker is None:
            break
        line = line[marker.end() :].removeprefix(" ")
    return line


def scan_fences(text: str) -> list[ScannedFence]:
    """All fenced blocks, found line by line as CommonMark does, independently of Sybil.

    Inside an open fence nothing opens: a fence written inside a longer one (a Markdown
    illustration) is that fence's content.
    """
    found = []
    lines = text.splitlines()
    open_fence: tuple[int, str, str, int] | None = None
    for number, line in enumerate(lines, start=1):
        match = _FENCE.match(line)
        if match is None:
            continue
        fence, info = match.group("fence"), match.group("info").strip()
        if open_fence is None:
            if fence[0] == "`" and "`" in info:
                continue  # ```inline``` code in a paragraph, not a fence
            depth = match.group("prefix").count(">")
            open_fence = (number, fence, info, depth)
        elif fence[0] == open_fence[1][0] and not info and len(fence) >= len(open_fence[1]):
            opening, _, opening_info, depth = open_fence
            body = [_strip_quotes(inner, depth) for inner in lines[opening : number - 1]]
            found.append(
                ScannedFence(opening, number, opening_info, textwrap.dedent("\n".join(body)))
            )
            open_fence = None
    assert open_fence is None, f"unclosed fence at line {open_fence[0]}"
    return found


def collected_lines(page: Path, root: Path = ROOT) -> dict[int, Parsed]:
    """Regions the harness runs in ``page``, by the line they start on.

    A page pytest would not hand to the harness (a file extension it does not collect)
    has none, however its fences look.
    """
    sybil = pages("cpu", root)
    if not sybil.should_parse(page):
        return {}
    return collected(sybil.parse(page))


def collected(document: Document) -> dict[int, Parsed]:
    """Regions the harness runs, by the line they start on."""
    lines = {}
    for example in document.examples():
        if isinstance(example.parsed, Parsed):
            lines[example.line] = example.parsed
    return lines


def skipped(document: Document) -> set[int]:
    """Start lines of examples that a skip directive covers in the cpu pass."""
    result, skipping, once = set(), False, False
    for example in document.examples():
        parsed = example.parsed
        if not isinstance(parsed, Parsed):
            # harness.skips.SkipDirective; Sybil's own skip parser gave (action, reason).
            action = getattr(parsed, "action", None) or parsed[0]
            in_cpu = parsed.applies_to("cpu") if hasattr(parsed, "applies_to") else True
            skipping, once = action in ("next", "start") and in_cpu, action == "next"
            continue
        if skipping:
            result.add(example.line)
            skipping = not once
    return result


def docstring_sessions(dotted: str) -> int:
    """How many docstrings of an API object (and of a class's or module's members) hold a
    >>> session: the examples that a ``::: object`` directive puts on a page."""
    target = pydoc.locate(dotted)
    assert target is not None, f"'::: {dotted}' names nothing importable"
    docs = [inspect.getdoc(target) or ""]
    if inspect.isclass(target) or inspect.ismodule(target):
        docs += [
            inspect.getdoc(member) or ""
            for _, member in inspect.getmembers(target)
            if (getattr(member, "__module__", None) or "").startswith("tensorkit")
        ]
    return sum(has_prompt(doc) for doc in docs)


def _known_language(language: str) -> bool:
    # pymdownx.highlight hands the language to Pygments; one Pygments does not know is
    # shown as plain text, and nothing about it says "not code".
    try:
        get_lexer_by_name(language)
    except ClassNotFound:
        return False
    return True


def missed_fences(text: str, runs: dict[int, Parsed], name: str) -> list[str]:
    """Python-looking fences that the harness did not collect."""
    return [
        f"{name}:{fence.opening}: ```{fence.info}"
        for fence in scan_fences(text)
        if _PYTHONISH.search(fence.info) and fence.opening not in runs
    ]


def stray_prompts(text: str, runs: dict[int, Parsed], name: str) -> list[str]:
    """``>>>`` lines a reader sees outside every fence the harness runs.

    Anywhere: in a fence of another language, an indented block, a blockquote, a list.
    Only a Markdown illustration's inside is not shown as a session.
    """
    fences = scan_fences(text)
    covered = [f for f in fences if f.opening in runs or f.language in _ILLUSTRATION]
    return [
        f"{name}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if _PROMPT.match(line) and not any(fence.holds(number) for fence in covered)
    ]


def unlabelled_python(text: str, runs: dict[int, Parsed], name: str) -> list[str]:
    """Fences with no language, or one Pygments does not know, that hold Python."""
    return [
        f"{name}:{fence.opening}: ```{fence.info} holds Python: label it ```python or "
        "```pycon so that it runs"
        for fence in scan_fences(text)
        if fence.opening not in runs
        and (fence.language is None or not _known_language(fence.language))
        and not _PYTHONISH.search(fence.info)  # reported as a missed fence already
        and looks_like_python(fence.body)
    ]


def _indent(line: str) -> int:
    expanded = line.expandtabs(_INDENTED_CODE)
    return len(expanded) - len(expanded.lstrip())


def indented_blocks(text: str) -> list[tuple[int, str]]:
    """Runs of lines indented four or more spaces after a blank line, outside fences, as
    (first line, dedented text): Markdown's indented code blocks, and the indented
    paragraphs of list items and admonitions, where Python would be shown as well."""
    lines = text.splitlines()
    fenced = {n for f in scan_fences(text) for n in range(f.opening, f.closing + 1)}
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    previous_blank = True
    for number, line in enumerate(lines, start=1):
        blank = not line.strip()
        inside = number not in fenced and not blank and _indent(line) >= _INDENTED_CODE
        if inside and (current or previous_blank):
            if not current:
                start = number
            current.append(line)
        elif current and not (blank and number not in fenced):
            blocks.append((start, textwrap.dedent("\n".join(current))))
            current = []
        elif current and blank:
            current.append(line)
        previous_blank = blank or number in fenced
    if current:
        blocks.append((start, textwrap.dedent("\n".join(current))))
    return blocks


def indented_python(text: str, name: str) -> list[str]:
    """Indented blocks that hold Python, which the harness never runs."""
    return [
        f"{name}:{line}: an indented block holds Python: write it in a ```pycon or "
        "```python fence so that it runs"
        for line, block in indented_blocks(text)
        if looks_like_python(block)
    ]


def hidden_python(text: str, name: str) -> list[str]:
    """Python fences inside HTML comments: run, but never shown, and put in downloads."""
    return [
        f"{name}:{line}: a Python fence inside an HTML comment runs but readers never see "
        "it; delete it, or move it out of the comment"
        for line in python_fences_in_comments(text)
    ]


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_python_fence_is_collected(page: Path) -> None:
    name = str(page.relative_to(ROOT))
    missed = missed_fences(_text(page), collected_lines(page), name)
    assert not missed, "Python fences the harness does not run:\n" + "\n".join(missed)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_prompt_is_inside_a_collected_fence(page: Path) -> None:
    name = str(page.relative_to(ROOT))
    stray = stray_prompts(_text(page), collected_lines(page), name)
    assert not stray, ">>> lines outside any tested fence:\n" + "\n".join(stray)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_no_python_in_a_fence_without_a_known_language(page: Path) -> None:
    name = str(page.relative_to(ROOT))
    found = unlabelled_python(_text(page), collected_lines(page), name)
    assert not found, "Python the harness does not run:\n" + "\n".join(found)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_no_python_in_an_indented_block(page: Path) -> None:
    found = indented_python(_text(page), str(page.relative_to(ROOT)))
    assert not found, "Python the harness does not run:\n" + "\n".join(found)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_no_python_fence_inside_an_html_comment(page: Path) -> None:
    found = hidden_python(_text(page), str(page.relative_to(ROOT)))
    assert not found, "\n".join(found)


_FENCE_INFO = re.compile(r"^[ \t]*(?:`{3,}|~{3,})([^\n]*)$", re.MULTILINE)
#: Pages meant to hold no Python example: shell commands, a list of sources, a glossary.
PROSE_PAGES = frozenset(
    {ROOT / "docs" / "install.md", ROOT / "docs" / "sources.md", ROOT / "docs" / "glossary.md"}
)


@pytest.mark.parametrize("page", [p for p in PAGES if p not in PROSE_PAGES], ids=_page_id)
def test_every_page_has_a_tested_example(page: Path) -> None:
    sybil = pages("cpu")
    document = sybil.parse(page) if sybil.should_parse(page) else Document(_text(page), "")
    tested = set(collected(document)) - skipped(document)
    directives = _API_DIRECTIVE.finditer(document.text)
    from_api = sum(docstring_sessions(match.group("object")) for match in directives)
    assert tested or from_api, f"{page.relative_to(ROOT)} has no example that the tests run"


@pytest.mark.parametrize("page", sorted(PROSE_PAGES), ids=_page_id)
def test_prose_pages_show_no_python(page: Path) -> None:
    # Were one to gain an example, it would belong in the test above, not here.
    assert not indented_python(_text(page), str(page.relative_to(ROOT)))
    assert not any(is_python_info(info) for info in _FENCE_INFO.findall(_text(page))), page


def test_the_scan_finds_what_the_harness_must_handle() -> None:
    text = "\n".join(
        [
            "```python",
            "x = 1",
            "```",
            '```py title="a.py" linenums="1"',
            "x = 1",
            "```",
            "``` { .python .annotate }",
            "x = 1",
            "```",
            "    ```pycon",
            "    >>> 1",
            "    1",
            "    ```",
            "~~~python3",
            "x = 1",
            "~~~",
            "- ```python",
            "  x = 1",
            "  ```",
            "> ```python",
            "> x = 1",
            "> ```",
            "```text",
            "not python",
            "```",
        ]
    )
    fences = scan_fences(text)
    infos = [fence.info for fence in fences if _PYTHONISH.search(fence.info)]
    assert len(infos) == 7
    assert fences[-2].body == "x = 1"  # blockquote markers are not part of the code


def test_a_fence_inside_a_longer_fence_is_its_content() -> None:
    text = "````markdown\n```pycon\n>>> 1\n2\n```\n````\n"
    (fence,) = scan_fences(text)
    assert (fence.opening, fence.closing, fence.language) == (1, 6, "markdown")
    assert fence.body == "```pycon\n>>> 1\n2\n```"


# --- Each bypass the scan guards, on a throwaway page --------------------------------


def _scan(page: Path, root: Path) -> list[str]:
    """Everything the scan reports for one page, as the tests above report it."""
    text, name = page.read_text(encoding="utf-8"), page.name
    runs = collected_lines(page, root)
    return [
        *missed_fences(text, runs, name),
        *stray_prompts(text, runs, name),
        *unlabelled_python(text, runs, name),
        *indented_python(text, name),
        *hidden_python(text, name),
    ]


@pytest.mark.parametrize("language", ["text", "console", "doctest", "repl"])
def test_a_session_with_a_wrong_output_in_another_language_is_reported(
    project: Path, write: Callable[[str, str], Path], language: str
) -> None:
    page = write(
        "docs/page.md",
        f"""
        # Page

        ```{language}
        >>> 1 + 1
        3
        ```
        """,
    )
    assert "page.md:4: >>> 1 + 1" in _scan(page, project)


def test_an_indented_session_is_reported(project: Path, write: Callable[[str, str], Path]) -> None:
    page = write(
        "docs/page.md",
        """
        # Page

        A session as an indented code block:

            >>> import torch
            >>> torch.ones(2).sum()
            tensor(3.)
        """,
    )
    found = _scan(page, project)
    assert "page.md:5: >>> import torch" in found
    assert any(line.startswith("page.md:5: an indented block holds Python") for line in found)


def test_indented_code_is_reported(project: Path, write: Callable[[str, str], Path]) -> None:
    page = write(
        "docs/page.md",
        """
        # Page

        Some text.

            import torch
            x = torch.ones(2)
        """,
    )
    assert _scan(page, project) == [
        "page.md:5: an indented block holds Python: write it in a ```pycon or ```python "
        "fence so that it runs"
    ]


def test_a_session_in_a_blockquote_or_a_list_is_reported(
    project: Path, write: Callable[[str, str], Path]
) -> None:
    page = write(
        "docs/page.md",
        """
        # Page

        > >>> 1 + 1
        > 3

        - >>> 2 + 2
          5
        """,
    )
    found = _scan(page, project)
    assert "page.md:3: > >>> 1 + 1" in found and "page.md:6: - >>> 2 + 2" in found


@pytest.mark.parametrize("info", ["", "torchscript", "{ .torchcode }"])
def test_python_in_a_fence_with_no_known_language_is_reported(
    project: Path, write: Callable[[str, str], Path], info: str
) -> None:
    page = write(
        "docs/page.md",
        f"""
        # Page

        ```{info}
        import torch
        w = torch.ones(2, requires_grad=True)
        ```
        """,
    )
    assert _scan(page, project) == [
        f"page.md:3: ```{info} holds Python: label it ```python or ```pycon so that it runs"
    ]


def test_a_python_fence_inside_an_html_comment_is_reported(
    project: Path, write: Callable[[str, str], Path]
) -> None:
    page = write(
        "docs/page.md",
        """
        # Page

        <!--
        ```python
        secret = 1
        ```
        -->
        """,
    )
    # The harness itself may refuse the page; the scan reads the text alone.
    assert hidden_python(page.read_text(), "page.md") == [
        "page.md:4: a Python fence inside an HTML comment runs but readers never see it; "
        "delete it, or move it out of the comment"
    ]


@pytest.mark.parametrize("extension", [".markdown", ".mdown", ".mkdn", ".mkd"])
def test_every_page_extension_mkdocs_builds_is_scanned(
    project: Path, write: Callable[[str, str], Path], extension: str
) -> None:
    page = write(
        f"docs/page{extension}",
        """
        # Page

        ```text
        >>> 1 + 1
        3
        ```
        """,
    )
    assert page in page_files(project / "docs")
    assert f"page{extension}:4: >>> 1 + 1" in _scan(page, project)


def test_a_python_fence_on_a_page_the_harness_does_not_collect_is_reported(
    tmp_path: Path,
) -> None:
    (tmp_path / "docs").mkdir()
    page = tmp_path / "page.md"  # outside docs/: the harness's Sybil never reads it
    page.write_text("```python\nx = 1\n```\n", encoding="utf-8")
    assert collected_lines(page, tmp_path) == {}
    assert missed_fences(page.read_text(), {}, "page.md") == ["page.md:1: ```python"]


def test_a_fence_the_harness_cannot_read_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "odd.md"
    # "pyodide" looks like Python to the scan, but is not a language the harness runs.
    page.write_text("```pyodide\nx = 1\n```\n", encoding="utf-8")
    runs = collected_lines(page, tmp_path)
    assert missed_fences(page.read_text(), runs, str(page)) == [f"{page}:1: ```pyodide"]


def test_illustrations_and_tested_sessions_pass(
    project: Path, write: Callable[[str, str], Path]
) -> None:
    # The shapes docs/contributing.md uses: fences shown inside a Markdown fence, a text
    # fence showing the '#>' convention, shell commands, a directive in a list item.
    page = write(
        "docs/page.md",
        """
        # Page

        ```pycon
        >>> 1 + 1
        2
        ```

        ````markdown
        ```pycon
        >>> 1 + 1
        2
        ```
        ````

        ```text
        print(w.grad)
        #> tensor(80.)
        ```

        ```bash
        make test    # every test
        .venv/bin/python -m pytest docs/autograd/basics.md
        ```

        - Every Python fence is run. To not run one, say why:

            ```markdown
            <!-- skip: next "downloads a data set" -->
            ```

        ```
        Traceback (most recent call last):
          ...
        ValueError: bad
        ```
        """,
    )
    assert _scan(page, project) == []
