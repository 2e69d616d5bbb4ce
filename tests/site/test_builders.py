"""MkDocs and Zensical build the same site: every reader feature, counted page by page.

The features come from one Markdown extension (harness/site_markdown.py) and the
downloads from one step before the build (harness/site_files.py), so both builders must
give each page the same number of each. Only the article is counted: Zensical also
renders formulas in the navigation's headings. Zensical builds the English edition only
(zensical.yml): it has no i18n plugin yet, so the Chinese edition (``zh/``) is MkDocs'.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from harness.translations import LANGUAGE
from tests.site.test_build import _FETCHED, is_remote

pytestmark = pytest.mark.site

#: Each feature a reader sees, as the HTML of a built page shows it.
FEATURES = {
    "copy text": re.compile(r"data-copy="),
    "MathML": re.compile(r"<math\b"),
    "figures": re.compile(r'<figure class="tensorkit-figure"'),
    "stamps": re.compile(r'class="tensorkit-verified"'),
    "download links": re.compile(r'class="tensorkit-downloads"'),
    "skip notes": re.compile(r"Not checked"),
}
_ARTICLE = re.compile(r"<article\b.*?</article>", re.DOTALL)


def page_features(site: Path) -> dict[str, Counter[str]]:
    """Per built page of the English edition, how often each feature occurs in its article."""
    counts: dict[str, Counter[str]] = {}
    for page in sorted(site.rglob("index.html")):
        if page.is_relative_to(site / LANGUAGE):
            continue
        article = _ARTICLE.search(page.read_text(encoding="utf-8"))
        text = article.group(0) if article else ""
        counts[str(page.relative_to(site))] = Counter(
            {name: len(pattern.findall(text)) for name, pattern in FEATURES.items()}
        )
    return counts


def differences(first: dict[str, Counter[str]], second: dict[str, Counter[str]]) -> list[str]:
    """Each page and feature whose count differs between two builds."""
    found = []
    for page in sorted(set(first) | set(second)):
        a, b = first.get(page), second.get(page)
        if a is None or b is None:
            found.append(f"{page}: built by only one builder")
            continue
        found += [
            f"{page}: {name} {a[name]} != {b[name]}" for name in FEATURES if a[name] != b[name]
        ]
    return found


def downloads(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in (site / "downloads").rglob("*") if p.is_file())


def test_both_builders_give_every_page_the_same_features(site: Path, zensical_site: Path) -> None:
    mkdocs, zensical = page_features(site), page_features(zensical_site)
    assert differences(mkdocs, zensical) == []
    totals = sum(mkdocs.values(), Counter())
    # Every feature is on the site at all, so equal counts are not equal zeros.
    assert all(totals[name] > 0 for name in FEATURES), totals


def test_both_builders_offer_the_same_downloads(site: Path, zensical_site: Path) -> None:
    assert downloads(site) == downloads(zensical_site)
    assert any(name.endswith(".whl") for name in downloads(zensical_site))


def test_zensical_site_has_a_search_index_and_fetches_nothing(zensical_site: Path) -> None:
    index = (zensical_site / "search.json").read_text(encoding="utf-8")
    assert "retain_grad" in index and "grad_table" in index
    for page in zensical_site.rglob("*.html"):
        for match in _FETCHED.finditer(page.read_text(encoding="utf-8")):
            assert not is_remote(match.group("src") or match.group("href")), page


def test_a_feature_missing_from_one_page_is_reported(site: Path) -> None:
    counts = page_features(site)
    page = "autograd/basics/index.html"
    assert counts[page]["copy text"] > 0
    broken = {name: Counter(c) for name, c in counts.items()}
    broken[page]["copy text"] -= 1
    assert differences(counts, broken) == [
        f"{page}: copy text {counts[page]['copy text']} != {counts[page]['copy text'] - 1}"
    ]
    del broken[page]
    assert f"{page}: built by only one builder" in differences(counts, broken)
