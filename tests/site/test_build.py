"""The built site: strict build, runnable copy text, rendered math, nothing from other hosts."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from harness.collect import PAGE_EXTENSIONS, ROOT, pages
from harness.downloads import page_script
from harness.evaluators import Parsed
from harness.fences import runnable_code
from harness.page_features import add_copy_text, show_blank_lines, show_skips
from harness.translations import LANGUAGE, english_page, is_translation

pytestmark = pytest.mark.site

_CODE_BLOCK = re.compile(
    r'<div class="language-(?P<language>[\w+-]+)[^"]*\bhighlight\b[^"]*"(?P<attributes>[^>]*)>'
)
_COPY = re.compile(r'data-copy="(?P<copy>[^"]*)"')
#: Attributes that make a browser fetch something as the page loads.
_FETCHED = re.compile(
    r"<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc=\"(?P<src>[^\"]+)\""
    r"|<link\b[^>]*\bhref=\"(?P<href>[^\"]+)\""
)
_CSS_URL = re.compile(r"url\((?P<url>[^)]+)\)|@import\s+[\"'](?P<import>[^\"']+)")


def is_remote(url: str) -> bool:
    url = url.strip("\"' ")
    return url.startswith(("http://", "https://", "//"))


def built_page(site: Path, page: Path) -> Path:
    if is_translation(page):  # built under zh/, where its English page is in the site
        return site / LANGUAGE / built_page(site, english_page(page)).relative_to(site)
    relative = page.relative_to(ROOT / "docs").with_suffix("")
    if relative.name == "index":
        return site / relative.parent / "index.html"
    return site / relative / "index.html"


def test_every_page_is_built(site: Path) -> None:
    for page in (ROOT / "docs").rglob("*"):
        if page.suffix in PAGE_EXTENSIONS:
            assert built_page(site, page).is_file(), page


def test_copy_button_copies_exactly_the_tested_code(site: Path) -> None:
    page = ROOT / "docs" / "autograd" / "basics.md"
    document = pages("cpu").parse(page)
    sessions = [
        runnable_code(example.parsed.body.source, session=True)
        for example in document.examples()
        if isinstance(example.parsed, Parsed) and example.parsed.body.kind == "doctest"
    ]
    built = built_page(site, page).read_text(encoding="utf-8")
    copies = [
        html.unescape(copy.group("copy"))
        for block in _CODE_BLOCK.finditer(built)
        if block.group("language") == "pycon"
        for copy in [_COPY.search(block.group("attributes"))]
        if copy
    ]
    assert copies == sessions
    for copy in copies:
        assert ">>>" not in copy and "\n..." not in copy
        compile(copy, "copied", "exec")


def test_every_python_block_has_copy_text(site: Path) -> None:
    for built in site.rglob("*.html"):
        for block in _CODE_BLOCK.finditer(built.read_text(encoding="utf-8")):
            if block.group("language") in ("python", "pycon", "py"):
                assert "data-copy=" in block.group("attributes"), built


def test_snippet_copy_drops_output_comments(site: Path) -> None:
    built = built_page(site, ROOT / "docs" / "autograd" / "basics.md").read_text()
    copies = [html.unescape(m.group("copy")) for m in _COPY.finditer(built)]
    snippet = next(copy for copy in copies if "MSELoss" in copy and "x @ w" not in copy)
    assert "#>" not in snippet
    program = (ROOT / "snippets/autograd/basics_mse.py").read_text()
    expected = runnable_code(program, session=False)
    assert snippet == expected


def test_formulas_are_rendered_to_mathml(site: Path) -> None:
    built = built_page(site, ROOT / "docs" / "autograd" / "basics.md").read_text()
    assert built.count("<math") >= 10
    assert 'class="arithmatex"' not in built and "\\frac" not in built


def test_nothing_is_fetched_from_another_host(site: Path) -> None:
    remote = []
    for built in site.rglob("*.html"):
        for match in _FETCHED.finditer(built.read_text(encoding="utf-8")):
            url = match.group("src") or match.group("href")
            if is_remote(url):
                remote.append(f"{built.relative_to(site)}: {url}")
    for css in site.rglob("*.css"):
        for match in _CSS_URL.finditer(css.read_text(encoding="utf-8")):
            url = match.group("url") or match.group("import")
            if is_remote(url):
                remote.append(f"{css.relative_to(site)}: {url}")
    assert not remote, "\n".join(remote)


def test_no_web_fonts(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis" not in index and "fonts.gstatic" not in index


def test_search_index_covers_pages_and_api(site: Path) -> None:
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    text = " ".join(doc["text"] + doc["title"] for doc in index["docs"])
    assert "retain_grad" in text and "grad_table" in text


def test_light_dark_toggle_and_copy_button_are_on(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'data-md-color-scheme="default"' in index
    assert "Switch to dark mode" in index and "Switch to light mode" in index
    assert "content.code.copy" in index


def test_api_reference_is_generated_from_docstrings(site: Path) -> None:
    api = (site / "api" / "autograd" / "index.html").read_text(encoding="utf-8")
    assert 'id="tensorkit.autograd.grad_table"' in api
    assert "Report <code>requires_grad</code>" in api  # the docstring's summary
    assert "MulBackward0" in api  # its example, rendered


def test_skip_directive_is_shown_to_readers() -> None:
    markdown = 'Text.\n\n<!-- skip: next "needs a GPU with 40 GB" -->\n\n```python\nx = 1\n```\n'
    shown = show_skips(markdown)
    assert '!!! note "Not checked"\n    needs a GPU with 40 GB\n' in shown
    assert "<!--" not in shown


def test_skip_for_one_pass_names_the_pass() -> None:
    markdown = (
        '<!-- skip: next if(device == "cuda", reason="NumPy arrays live in CPU memory") -->\n'
        "```python\nx = 1\n```\n"
    )
    shown = show_skips(markdown)
    assert shown.startswith(
        '!!! note "Not checked on CUDA"\n    NumPy arrays live in CPU memory\n'
    )


def test_skip_shown_inside_a_code_block_is_left_as_text() -> None:
    markdown = '```markdown\n<!-- skip: next "an illustration" -->\n```\n'
    assert show_skips(markdown) == markdown


def test_pages_offer_their_examples_as_script_and_notebook(site: Path) -> None:
    page = ROOT / "docs" / "autograd" / "basics.md"
    folder = site / "downloads" / "autograd"
    built = built_page(site, page).read_text(encoding="utf-8")
    assert '<a href="../../downloads/autograd/basics.py" download>' in built
    assert '<a href="../../downloads/autograd/basics.ipynb" download>' in built
    assert (folder / "basics.py").read_text(encoding="utf-8") == page_script(page)
    notebook = json.loads((folder / "basics.ipynb").read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    table = next(cell for cell in code if "grad_table(x=x" in "".join(cell["source"]))
    assert table["outputs"][0]["output_type"] == "execute_result"
    assert "".join(table["outputs"][0]["data"]["text/plain"]).startswith("name  requires_grad")
    # The page's figure is stored in the notebook, as the page shows it.
    assert any(
        "image/svg+xml" in output.get("data", {}) for cell in code for output in cell["outputs"]
    )
    prose = [cell for cell in notebook["cells"] if cell["cell_type"] == "markdown"]
    assert len(prose) > 5 and "".join(prose[0]["source"]).startswith("# Autograd basics")


def test_the_site_offers_the_tensorkit_wheel_the_install_page_links(site: Path) -> None:
    wheels = sorted((site / "downloads").glob("*.whl"))
    assert [wheel.name for wheel in wheels] == [
        "pytorch_fundamentals_tensorkit-0.1.0-py3-none-any.whl"
    ]
    install = built_page(site, ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    assert f'href="../downloads/{wheels[0].name}"' in install


def test_pages_carry_a_verified_on_stamp(site: Path) -> None:
    built = built_page(site, ROOT / "docs" / "autograd" / "basics.md").read_text(encoding="utf-8")
    assert '<p class="tensorkit-verified">' in built


def test_blankline_marker_is_shown_as_an_empty_line() -> None:
    html = '<span class="go">a</span>\n<span class="go">&lt;BLANKLINE&gt;</span>\n'
    assert show_blank_lines(html) == '<span class="go">a</span>\n\n'


def test_copy_text_is_given_to_blocks_with_extra_classes() -> None:
    # { .python .annotate } renders as "language-python annotate highlight".
    block = (
        '<div class="language-pycon annotate highlight"><pre><code>'
        '<span class="gp">&gt;&gt;&gt; </span>1 + 1\n2\n</code></pre></div>'
    )
    copied = add_copy_text(block)
    assert 'class="language-pycon annotate highlight" data-copy="1 + 1\n"' in copied
