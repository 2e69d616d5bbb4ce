"""A page never shows Python its harness did not execute: checked on the built HTML.

The source scan (tests/harness/test_coverage.py) reads the Markdown; this test reads what
readers get. Every code block of every built page that shows Python (by its language,
its ``>>>`` lines, or its content) must show exactly what an example the harness ran in
this process shows, and that example must have passed in the cpu pass; or the page must
show a "Not checked" note right before it. Includes pasted in by
pymdownx.snippets and docstring sessions rendered by mkdocstrings count like any block.

The site test reads which examples ran from :mod:`harness.executed`; marked
``after_documents``, it runs after every document in a full run. When the documents have
not run in this process (this file run alone, or ``-k`` leaving them out),
:func:`harness.rendered.cpu_outcome` runs their cpu pass first, so it never skips.

The unit tests at the end check :mod:`harness.rendered` on small hand-written pages
shaped like mkdocs-material's output; they need no site build.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import markdown
import pytest
import yaml
from mkdocs.structure.files import File
from mkdocs.utils import markdown_extensions

from harness import executed
from harness.collect import ROOT
from harness.fences import SNIPPET_INCLUDE
from harness.page_features import add_copy_text, show_blank_lines, show_skips
from harness.rendered import (
    CodeBlock,
    ExampleRef,
    Shown,
    check_page,
    code_blocks,
    cpu_outcome,
    examples_shown_by,
    hidden_code,
    matches,
    python_fences_in_comments,
    shows_python,
    source_line,
)
from harness.translations import LANGUAGE, is_translation

DOCS = ROOT / "docs"
#: English pages; the Chinese edition's (under zh/) show the same code, comments aside,
#: which tests/site/test_translations.py checks page by page.
PAGES = sorted(
    p
    for p in DOCS.rglob("*")
    if p.is_file() and p.suffix in markdown_extensions and not is_translation(p)
)


def built_page(site: Path, page: Path) -> Path:
    """Where mkdocs writes a page, by mkdocs's own rule (``use_directory_urls``)."""
    file = File(str(page.relative_to(DOCS)), str(DOCS), str(site), use_directory_urls=True)
    return Path(file.abs_dest_path)


def _included_files(page: Path) -> list[Path]:
    # Where a block's first line may be written: the page, or a program it includes.
    text = page.read_text(encoding="utf-8")
    includes = [SNIPPET_INCLUDE.match(line) for line in text.splitlines()]
    programs = sorted({include.group("path") for include in includes if include})
    return [page, *(ROOT / "snippets" / program for program in programs)]


# After the documents, in a full run, it reads what their run recorded; run alone, it
# runs them itself (harness.rendered.cpu_outcome).
@pytest.mark.site
@pytest.mark.after_documents
def test_every_python_block_shown_ran_and_passed(site: Path) -> None:
    findings: list[str] = []
    sources = {built_page(site, page): page for page in PAGES}
    for built in sorted(site.rglob("*.html")):
        if built.is_relative_to(site / LANGUAGE):
            continue  # the Chinese edition: tests/site/test_translations.py
        name = str(built.relative_to(site))
        page = sources.get(built)
        if page is None:
            # A page mkdocs makes itself (404.html) has no examples to show.
            shown: list[Shown] = []
            where = "no source page"
        else:
            where = str(page.relative_to(ROOT))
            try:
                shown = examples_shown_by(page)
            except ValueError as error:  # the harness refuses the page at collection
                findings.append(f"{name} -> {where}: the harness cannot collect it: {error}")
                continue
        for finding in check_page(built.read_text(encoding="utf-8"), shown, cpu_outcome):
            at = source_line(finding.first_line, _included_files(page)) if page else None
            findings.append(
                f"{name} -> {at or where}: {finding.first_line}\n    {finding.problem}"
            )
    assert not findings, "Python on the site that the tests did not run and pass:\n" + (
        "\n".join(findings)
    )


@pytest.mark.site
def test_every_page_is_checked(site: Path) -> None:
    for page in PAGES:
        assert built_page(site, page).is_file(), page


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_python_fence_hides_in_an_html_comment(page: Path) -> None:
    lines = python_fences_in_comments(page.read_text(encoding="utf-8"))
    assert not lines, "\n".join(
        f"{page.relative_to(ROOT)}:{line}: a Python fence inside an HTML comment runs, and "
        "goes into the downloads, but readers never see it; delete it or move it out"
        for line in lines
    )


# --- harness.rendered on hand-written pages -------------------------------------------


def _page(content: str) -> str:
    # The frame mkdocs-material puts around a page's content: navigation outside the
    # article holds no examples.
    return (
        '<html><body><nav class="md-nav"><pre><code>import torch</code></pre></nav>\n'
        '<div class="md-content"><article class="md-content__inner md-typeset">\n'
        f"{textwrap.dedent(content).strip()}\n</article></div></body></html>\n"
    )


_SESSION = (
    '<div class="language-pycon highlight" data-copy="x = 1 + 1&#10;x&#10;"><pre><span></span>'
    '<code><span class="gp">&gt;&gt;&gt; </span><span class="n">x</span> <span class="o">='
    '</span> <span class="mi">1</span> <span class="o">+</span> <span class="mi">1</span>\n'
    '<span class="gp">&gt;&gt;&gt; </span><span class="n">x</span>\n'
    '<span class="go">2</span>\n</code></pre></div>'
)
_TEXT_SESSION = (
    '<div class="language-text highlight"><pre><span></span><code>&gt;&gt;&gt; x = 1 + 1\n'
    "&gt;&gt;&gt; x\n3\n</code></pre></div>"
)
_RUN = ExampleRef("page", "/docs/page.md", 3)


def test_blocks_are_read_as_readers_see_them() -> None:
    titled = (
        '<div class="language-python highlight"><span class="filename">a.py</span><pre>'
        '<span></span><code><span class="n">y</span> <span class="o">=</span> &quot;&lt;&quot;\n'
        "</code></pre></div>"
    )
    numbered = (
        '<div class="language-python highlight"><table class="highlighttable"><tr>'
        '<td class="linenos"><div class="linenodiv"><pre><span class="normal">1</span></pre>'
        '</div></td><td class="code"><div><pre><span></span><code>z = 3\n'
        "</code></pre></div></td></tr></table></div>"
    )
    blocks = code_blocks(_page("<h1>Page</h1>\n" + "\n".join([_SESSION, titled, numbered])))
    assert [(b.language, b.text) for b in blocks] == [
        ("pycon", ">>> x = 1 + 1\n>>> x\n2\n"),
        ("python", 'y = "<"\n'),
        ("python", "z = 3\n"),
    ]
    assert blocks[0].first_line == ">>> x = 1 + 1"


def test_a_skip_note_counts_only_directly_before_the_block() -> None:
    note = (
        '<div class="admonition note">\n<p class="admonition-title">{title}</p>\n'
        "<p>needs a GPU</p>\n</div>\n"
    )
    page = _page(
        note.format(title="Not checked")
        + _SESSION
        + note.format(title="Not checked on CUDA")
        + _SESSION
        + note.format(title="Not checked")
        + "<p>Some text.</p>"
        + _SESSION
    )
    assert [block.skip_note for block in code_blocks(page)] == [
        "Not checked",
        "Not checked on CUDA",
        None,
    ]


@pytest.mark.parametrize(
    ("language", "text", "python"),
    [
        ("pycon", "x = 1\n", True),
        ("py", "x = 1\n", True),
        ("text", ">>> 1 + 1\n3\n", True),
        (None, "import torch\nx = torch.ones(2)\n", True),
        ("text", "torch.autograd.backward(tensors, grad_tensors=None)\n", True),
        ("console", "... x = 1\n", True),
        ("text", 'import re\nre.compile("\\d")\n', True),  # parsed without a SyntaxWarning
        ("markdown", "```pycon\n>>> 1 + 1\n3\n```\n", False),
        ("text", "print(w.grad)\n#> tensor(80.)\n", False),
        ("text", "tensor([1., 2.])\n", False),
        ("bash", "make test    # every test\n.venv/bin/python -m pytest docs\n", False),
        ("text", "Traceback (most recent call last):\n  ...\nValueError: bad\n", False),
    ],
)
def test_what_shows_python(language: str | None, text: str, python: bool) -> None:
    assert shows_python(CodeBlock(1, language, text)) is python


def test_a_block_matches_what_an_example_shows() -> None:
    shown = Shown(">>> x = 1 + 1\n>>> x\n2\n", (_RUN,))
    (block,) = code_blocks(_page(_SESSION))
    assert matches(block, shown)
    assert not matches(block, Shown(">>> x = 1 + 1\n>>> x\n3\n", (_RUN,)))
    # doctest's marker is shown as the empty line Python prints; indentation is not shown
    blank = CodeBlock(1, "pycon", ">>> print()\n\n")
    assert matches(blank, Shown("    >>> print()\n    <BLANKLINE>\n", (_RUN,)))


def test_a_docstring_session_may_be_shown_in_whole_parts() -> None:
    session = Shown(">>> a = 1\n>>> a\n1\n\nMore text.\n\n>>> a + 1\n2\n", (_RUN,), excerpt=True)
    assert matches(CodeBlock(1, "pycon", ">>> a + 1\n2\n"), session)
    assert matches(CodeBlock(1, "pycon", ">>> a = 1\n>>> a\n1\n"), session)
    assert not matches(CodeBlock(1, "pycon", ">>> a = 1\n>>> a\n"), session)  # output cut
    assert not matches(CodeBlock(1, "pycon", "1\n"), session)  # no code


def test_an_example_that_ran_and_passed_accounts_for_its_block() -> None:
    shown = [Shown(">>> x = 1 + 1\n>>> x\n2\n", (_RUN,))]
    assert check_page(_page(_SESSION), shown, {_RUN: True}.get) == []


def test_a_block_that_matches_no_executed_example_is_reported() -> None:
    shown = [Shown(">>> x = 1 + 1\n>>> x\n2\n", (_RUN,))]
    (finding,) = check_page(_page(_SESSION + _TEXT_SESSION), shown, {_RUN: True}.get)
    assert finding.first_line == ">>> x = 1 + 1"
    assert finding.problem.startswith("a ```text block shows Python (it holds >>> lines)")


def test_a_block_whose_example_failed_or_never_ran_is_reported() -> None:
    shown = [Shown(">>> x = 1 + 1\n>>> x\n2\n", (_RUN,))]
    (failed,) = check_page(_page(_SESSION), shown, {_RUN: False}.get)
    assert "/docs/page.md:3) failed in the cpu pass" in failed.problem
    (not_run,) = check_page(_page(_SESSION), shown, {}.get)
    assert "was not run in the cpu pass" in not_run.problem


def test_a_skipped_block_needs_a_note_that_covers_the_cpu_pass() -> None:
    note = '<div class="admonition note"><p class="admonition-title">{}</p></div>\n'
    skipped = _page(note.format("Not checked") + _TEXT_SESSION)
    assert check_page(skipped, [], {}.get) == []
    cuda_only = _page(note.format("Not checked on CUDA") + _TEXT_SESSION)
    assert len(check_page(cuda_only, [], {}.get)) == 1


def test_an_include_is_true_only_if_the_fence_and_its_program_passed() -> None:
    program = ExampleRef("snippet", "/snippets/a.py", 1)
    shown = [Shown("import torch\nprint(1)\n#> 1\n", (_RUN, program))]
    block = (
        '<div class="language-python highlight"><pre><span></span><code>import torch\n'
        "print(1)\n#&gt; 1\n</code></pre></div>"
    )
    assert check_page(_page(block), shown, {_RUN: True, program: True}.get) == []
    assert len(check_page(_page(block), shown, {_RUN: True, program: False}.get)) == 1


def test_code_in_an_html_comment_is_reported() -> None:
    page = _page("<!--\n" + _SESSION + "\n-->\n<p>Text.</p>")
    assert hidden_code(page) == [3]
    assert hidden_code(_page("<!--\n```pycon\n>>> 1\n1\n```\n-->")) == [3]  # as written
    assert hidden_code(_page("<!-- a note to maintainers -->")) == []
    (finding,) = check_page(page, [], {}.get)
    assert "inside an HTML comment" in finding.problem


def test_python_fences_in_comments_of_the_sources() -> None:
    markdown = textwrap.dedent(
        """\
        # Page

        <!--
        ```python
        hidden = 1
        ```
        -->

        ```markdown
        <!-- shown as text, not a comment -->
        ```

        <!-- skip: next "reason" -->

        ```python
        shown = 1
        ```
        """
    )
    assert python_fences_in_comments(markdown) == [4]


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_what_a_page_shows_and_running_it_when_the_harness_has_not(tmp_path: Path) -> None:
    for folder in ("docs", "snippets", "tensorkit"):
        (tmp_path / folder).mkdir()
    _write(tmp_path, "snippets/demo/a.py", 'print("hi")\n#> hi\n')
    page = _write(
        tmp_path,
        "docs/page.md",
        """
        # Page

        ```pycon
        >>> 1 + 1
        2
        ```

        ```pycon
        >>> 1 + 1
        3
        ```

        ```python
        --8<-- "demo/a.py"
        ```
        """,
    )
    shown = examples_shown_by(page, tmp_path)
    assert [s.text for s in shown] == [
        ">>> 1 + 1\n2\n",
        ">>> 1 + 1\n3\n",
        'print("hi")\n#> hi\n',
        'print("hi")\n#> hi\n',
    ]
    good, wrong, include = (s.runs for s in shown[:3])
    assert executed.passed(good[0].path, good[0].line, "cpu") is None
    assert cpu_outcome(good[0], tmp_path) is True  # its document ran, as the harness runs it
    assert executed.passed(wrong[0].path, wrong[0].line, "cpu") is False
    assert [cpu_outcome(run, tmp_path) for run in include] == [True, True]


def _render(markdown_text: str, snippets: Path) -> str:
    """A page's content as mkdocs builds it: mkdocs.yml's Markdown extensions, and the
    hooks that show skips, set the copy text and show ``<BLANKLINE>`` as an empty line."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    # mkdocs always adds these three before the configured ones.
    names: list[str] = ["toc", "tables", "fenced_code"]
    options: dict[str, dict[str, object]] = {}
    for entry in config["markdown_extensions"]:
        name, settings = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
        names.append(name)
        options[name] = dict(settings or {})
    options["pymdownx.snippets"]["base_path"] = [str(snippets)]
    content = markdown.Markdown(extensions=names, extension_configs=options).convert(
        show_skips(markdown_text)
    )
    return _page(show_blank_lines(add_copy_text(content)))


def test_the_bypasses_of_the_source_scan_are_caught_on_the_rendered_page(
    tmp_path: Path,
) -> None:
    for folder in ("docs", "snippets", "tensorkit"):
        (tmp_path / folder).mkdir()
    _write(tmp_path, "snippets/demo/a.py", 'print("hi")\n#> hi\n')
    page = _write(
        tmp_path,
        "docs/page.md",
        """
        # Page

        ```pycon
        >>> 1 + 1
        2
        >>> print("a\\n")
        a
        <BLANKLINE>
        ```

        ```text
        >>> 2 + 2
        5
        ```

        ```console
        >>> 3 + 3
        7
        ```

        ```doctest
        >>> 4 + 4
        9
        ```

        ```repl
        >>> 5 + 5
        11
        ```

        An indented session:

            >>> 6 + 6
            13

        ```
        import torch
        w = torch.ones(2)
        ```

        ```text
        --8<-- "demo/a.py"
        ```

        <!-- skip: next "needs a GPU" -->

        ```python
        import torch
        torch.ones(2, device="cuda")
        ```

        ````markdown
        ```pycon
        >>> 1 + 1
        3
        ```
        ````
        """,
    )
    html = _render(page.read_text(encoding="utf-8"), tmp_path / "snippets")
    found = check_page(html, examples_shown_by(page, tmp_path), lambda r: cpu_outcome(r, tmp_path))
    assert [finding.first_line for finding in found] == [
        ">>> 2 + 2",
        ">>> 3 + 3",
        ">>> 4 + 4",
        ">>> 5 + 5",
        ">>> 6 + 6",
        "import torch",
    ]


def test_a_fence_in_a_comment_is_caught_on_the_rendered_page(tmp_path: Path) -> None:
    html = _render("# Page\n\n<!--\n```python\nhidden = 1\n```\n-->\n", tmp_path)
    (finding,) = check_page(html, [], {}.get)
    assert "inside an HTML comment" in finding.problem
