"""Each edition's search index holds its own pages, and a Chinese page searches its own."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from harness import search_languages
from harness.search_languages import split_index, with_search_base

MERGED = {
    "config": {"lang": ["en", "zh"], "separator": "[\\s\\u200b\\-]+"},
    "docs": [
        {"location": "", "title": "Home", "text": "Tensors"},
        {"location": "autograd/jacobian/", "title": "Jacobian", "text": "jacobian"},
        {"location": "zh/", "title": "首页", "text": "张量"},
        {"location": "zh/autograd/jacobian/#vjp", "title": "雅可比矩阵", "text": "雅可比矩阵"},
    ],
}

PAGE = (
    '<html><body><script id="__config" type="application/json">'
    '{"base": "../../..", "features": ["search.highlight"], "search": "w.js"}'
    "</script></body></html>"
)


def test_the_english_index_keeps_english_pages_with_english_word_handling() -> None:
    english, _ = split_index(MERGED)
    assert [doc["location"] for doc in english["docs"]] == ["", "autograd/jacobian/"]
    assert english["config"] == {"lang": ["en"], "separator": "[\\s\\u200b\\-]+"}


def test_the_chinese_index_holds_the_chinese_pages_relative_to_their_folder() -> None:
    _, chinese = split_index(MERGED)
    assert [doc["location"] for doc in chinese["docs"]] == ["", "autograd/jacobian/#vjp"]
    assert chinese["config"]["lang"] == ["en", "zh"]
    assert MERGED["docs"][2]["location"] == "zh/"  # the merged index is left as it was


def test_a_chinese_page_searches_from_the_chinese_edition_folder() -> None:
    page = SimpleNamespace(url="zh/autograd/jacobian/")
    config = json.loads(
        search_languages.on_post_page(PAGE, page, {}).split('json">')[1].split("</script>")[0]
    )
    assert config == {"base": "../..", "features": ["search.highlight"], "search": "w.js"}
    home = search_languages.on_post_page(PAGE, SimpleNamespace(url="zh/"), {})
    assert '"base": "."' in home


def test_an_english_page_is_left_as_built() -> None:
    assert search_languages.on_post_page(PAGE, SimpleNamespace(url="autograd/"), {}) == PAGE
    assert with_search_base("<p>no config</p>", "..") == "<p>no config</p>"


def test_the_build_writes_one_index_per_edition(tmp_path: Path) -> None:
    (tmp_path / "search").mkdir()
    (tmp_path / "zh").mkdir()
    (tmp_path / "search" / "search_index.json").write_text(json.dumps(MERGED), "utf-8")
    search_languages.on_post_build({"site_dir": str(tmp_path)})
    english = json.loads((tmp_path / "search" / "search_index.json").read_text("utf-8"))
    chinese = json.loads((tmp_path / "zh" / "search" / "search_index.json").read_text("utf-8"))
    assert (english, chinese) == split_index(MERGED)


def test_a_build_with_no_chinese_pages_keeps_its_index(tmp_path: Path) -> None:
    (tmp_path / "search").mkdir()
    english_only = {**MERGED, "docs": MERGED["docs"][:2]}
    written = json.dumps(english_only)
    (tmp_path / "search" / "search_index.json").write_text(written, "utf-8")
    search_languages.on_post_build({"site_dir": str(tmp_path)})
    assert (tmp_path / "search" / "search_index.json").read_text("utf-8") == written
    assert not (tmp_path / "zh" / "search").exists()
