"""The Chinese edition: every page translated, the same examples, and none behind unnoticed.

A translation (``docs/<page>.zh.md``) is verified by keeping its English page's examples
line for line, comments in Python code aside (harness/translations.py); each has an item
of its own in every run, ``docs/<page>.zh.md::same examples as docs/<page>.md``. These
tests check the rule itself on pages made to break it, what the built Chinese edition
shows, and that its downloads hold the English page's code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from harness import translations
from harness.collect import ROOT
from harness.page_features import (
    behind_note,
    page_documents,
    page_header,
    prepare_page,
    verified_stamp,
)
from harness.rendered import code_blocks
from harness.site_files import script_path
from harness.site_language import CHINESE, say
from harness.translations import (
    LANGUAGE,
    TranslationError,
    blob_id,
    check,
    english_diff,
    english_page,
    first_difference,
    is_behind,
    normalized_code,
    record_source,
    report,
    translation_of,
)
from harness.verification import VerificationRecorder
from tests.site.test_build import built_page

DOCS = ROOT / "docs"
TRANSLATIONS = translations.translations()
#: Pages that stay English in the Chinese edition, shown there with Chinese navigation:
#: the API reference (tensorkit's docstrings) and the maintainers' guide.
ENGLISH_ONLY = {DOCS / "contributing.md", *sorted((DOCS / "api").glob("*.md"))}


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_reader_page_has_a_chinese_translation() -> None:
    english = sorted(
        page
        for page in DOCS.rglob("*.md")
        if not translations.is_translation(page) and DOCS / "downloads" not in page.parents
    )
    missing = [_id(page) for page in english if page not in ENGLISH_ONLY]
    missing = [name for name in missing if not translation_of(ROOT / name).is_file()]
    assert not missing, f"pages with no Chinese translation: {missing}"
    assert len(TRANSLATIONS) == len(english) - len(ENGLISH_ONLY)


# The rule, on a page and translations made to break it.

ENGLISH = """# Tensors

Some prose.

```pycon
>>> import torch
>>> torch.tensor([1, 2]).sum()  # add them up
tensor(3)
```

## A figure

```python figure="The curve"
x = 1  # one
print(x)
#> 1
```
"""
TRANSLATED = """# 张量 { #tensors }

一些文字。

```pycon
>>> import torch
>>> torch.tensor([1, 2]).sum()  # 求和
tensor(3)
```

## 一张图 { #a-figure }

```python figure="曲线"
x = 1  # 一
print(x)
#> 1
```
"""


def _pair(tmp_path: Path, translated: str, english: str = ENGLISH) -> Path:
    (tmp_path / "docs").mkdir(exist_ok=True)
    page = tmp_path / "docs" / "page.md"
    page.write_text(english, encoding="utf-8")
    translation = translation_of(page)
    translation.write_text(translated, encoding="utf-8")
    record_source(translation)
    return translation


def test_a_translation_with_translated_comments_captions_and_prose_keeps_the_examples(
    tmp_path: Path,
) -> None:
    translation = _pair(tmp_path, TRANSLATED)
    check(translation, tmp_path)
    assert not is_behind(translation, tmp_path)


@pytest.mark.parametrize(
    ("old", "new", "line", "english_line"),
    [
        # The translation's lines are the English page's plus its 4 lines of front matter.
        ("tensor(3)\n", "tensor(4)\n", 12, 8),  # an output
        ("x = 1  # 一", "x = 2  # 一", 18, 14),  # a line of code
        ("#> 1\n", "#> 2\n", 20, 16),  # an output comment is output, not a comment
        (">>> import torch\n", ">>> import torch  # 导入\n", 10, 6),  # a comment added
    ],
    ids=["output", "code", "output comment", "added comment"],
)
def test_a_changed_example_fails_naming_both_files_and_the_first_differing_line(
    tmp_path: Path, old: str, new: str, line: int, english_line: int
) -> None:
    translation = _pair(tmp_path, TRANSLATED.replace(old, new, 1))
    with pytest.raises(TranslationError) as raised:
        check(translation, tmp_path)
    message = str(raised.value)
    assert message.startswith(f"docs/page.zh.md:{line} differs from docs/page.md:{english_line}")
    assert new.strip() in message


def test_a_missing_example_and_a_changed_anchor_fail(tmp_path: Path) -> None:
    cut = TRANSLATED[: TRANSLATED.index("```python")]
    translation = _pair(tmp_path, cut)
    assert "docs/page.md:13: this fence has no counterpart in docs/page.zh.md" in str(
        first_difference(english_page(translation), translation, tmp_path)
    )
    translation = _pair(tmp_path, TRANSLATED.replace("{ #a-figure }", ""))
    assert "#a-figure" in str(first_difference(english_page(translation), translation, tmp_path))


def test_a_site_build_stops_at_a_translation_whose_examples_differ(tmp_path: Path) -> None:
    translation = _pair(tmp_path, TRANSLATED.replace("tensor(3)", "tensor(4)"))
    markdown = translation.read_text(encoding="utf-8")
    with pytest.raises(TranslationError, match=r"page\.zh\.md:12 differs from .*page\.md:8"):
        prepare_page(markdown, translation, "zh/page/", None)


def test_a_translation_with_no_recorded_source_fails(tmp_path: Path) -> None:
    translation = _pair(tmp_path, TRANSLATED)
    translation.write_text(TRANSLATED, encoding="utf-8")  # no front matter
    with pytest.raises(TranslationError, match=r"docs/page.zh.md:1: records no English version"):
        check(translation, tmp_path)
    translation.write_text("---\ntranslates: v2\n---\n" + TRANSLATED, encoding="utf-8")
    with pytest.raises(TranslationError, match="'translates: v2' is not a Git blob id"):
        check(translation, tmp_path)


def test_comments_are_blanked_only_in_python_code() -> None:
    assert normalized_code("python", ["x = 1  # one", "#> 1"]) == ["x = 1 #", "#> 1"]
    assert normalized_code("pycon", [">>> y  # why", "'# not a comment'"]) == [
        ">>> y #",
        "'# not a comment'",
    ]
    assert normalized_code("bash", ["pip install torch  # cpu"]) == ["pip install torch  # cpu"]


# Behind: the English page changed since it was translated.


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def test_a_changed_english_page_puts_its_translation_behind_with_the_english_diff(
    tmp_path: Path,
) -> None:
    _git(tmp_path, "init", "-q")
    translation = _pair(tmp_path, TRANSLATED)
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pages")
    assert report(tmp_path) == ([], 1)
    page = english_page(translation)
    page.write_text(ENGLISH.replace("Some prose.", "Better prose."), encoding="utf-8")
    assert is_behind(translation, tmp_path)
    assert report(tmp_path) == (
        ["behind: docs/page.zh.md: docs/page.md changed since it was translated"],
        1,
    )
    diff = english_diff(translation, tmp_path)
    assert "-Some prose.\n+Better prose.\n" in diff
    record_source(translation)
    assert not is_behind(translation, tmp_path)
    assert blob_id(page.read_bytes()) in translation.read_text(encoding="utf-8")


def test_a_translation_behind_its_english_page_says_so_to_readers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    translation = DOCS / "tensors" / "creation.zh.md"
    markdown = translation.read_text(encoding="utf-8")
    current = page_header(markdown, translation, "zh/tensors/creation/", None, None)
    assert say("behind title", CHINESE) not in current
    monkeypatch.setattr("harness.page_features.is_behind", lambda page: True)
    behind = page_header(markdown, translation, "zh/tensors/creation/", None, None)
    note = behind_note(translation, "zh/tensors/creation/")
    assert note in behind
    assert '<a href="../../../tensors/creation/">' in note


# The built Chinese edition.


@pytest.mark.site
@pytest.mark.parametrize("translation", TRANSLATIONS, ids=_id)
def test_each_chinese_page_is_built_with_a_switch_to_its_english_page(
    site: Path, translation: Path
) -> None:
    english = built_page(site, english_page(translation))
    chinese = built_page(site, translation)
    html = chinese.read_text(encoding="utf-8")
    assert '<html lang="zh"' in html
    # Each page's language switch leads to the other language's page, by a relative link.
    assert _switch(chinese, "en") == english.parent
    assert _switch(english, LANGUAGE) == chinese.parent


def _switch(page: Path, language: str) -> Path:
    html = page.read_text(encoding="utf-8")
    match = re.search(rf'<a href="([^"]*)" hreflang="{language}"', html)
    assert match is not None, f"{page}: no link to its {language} page"
    assert not match.group(1).startswith("/"), match.group(1)
    return Path(os.path.normpath(page.parent / match.group(1)))


@pytest.mark.site
@pytest.mark.parametrize("translation", TRANSLATIONS, ids=_id)
def test_each_chinese_page_shows_its_english_pages_code(site: Path, translation: Path) -> None:
    english = built_page(site, english_page(translation))
    chinese = built_page(site, translation)

    def shown(page: Path) -> list[tuple[str | None, list[str]]]:
        return [
            (block.language, normalized_code(block.language, block.text.split("\n")))
            for block in code_blocks(page.read_text(encoding="utf-8"))
        ]

    assert shown(chinese) == shown(english)
    notes = [
        page.read_text(encoding="utf-8").count(f'<p class="admonition-title">{title}')
        for page, title in ((english, "Not checked"), (chinese, "未检查"))
    ]
    assert notes[0] == notes[1]


@pytest.mark.site
@pytest.mark.parametrize("translation", TRANSLATIONS, ids=_id)
def test_each_translations_downloads_hold_the_english_pages_code(
    site: Path, translation: Path
) -> None:
    english_script = script_path(english_page(translation))
    script = script_path(translation)
    if not english_script.is_file():
        assert not script.is_file()
        return
    code = [
        normalized_code("python", path.read_text(encoding="utf-8").split("\n"))
        for path in (english_script, script)
    ]
    assert code[0] == code[1]
    cells = []
    for path in (english_script, script):
        notebook = json.loads(path.with_suffix(".ipynb").read_text(encoding="utf-8"))
        cells.append(
            [
                (normalized_code("python", "".join(cell["source"]).split("\n")), cell["outputs"])
                for cell in notebook["cells"]
                if cell["cell_type"] == "code"
            ]
        )
    assert cells[0] == cells[1]


@pytest.mark.after_documents
def test_after_a_full_run_every_current_translation_is_stamped_verified(
    request: pytest.FixtureRequest,
) -> None:
    recorder = request.config.pluginmanager.get_plugin("verification-record")
    assert isinstance(recorder, VerificationRecorder)
    if set(TRANSLATIONS) - {ROOT / name for name in recorder.translations}:
        pytest.skip("this run did not check every translation")
    record = recorder.updated_record()
    unverified = []
    for translation in TRANSLATIONS:
        documents = page_documents(translation, translation.read_text(encoding="utf-8"))
        stamp = verified_stamp(documents, record, CHINESE) if documents else "no examples"
        if documents and "本页的示例与英文页面的逐行相同" not in stamp:
            unverified.append(f"{_id(translation)}: {stamp}")
    assert not unverified, "\n".join(unverified)
