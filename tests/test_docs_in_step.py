"""Code and docs in step: every public name documented and shown, nothing orphaned.

- every public tensorkit name is in the API reference and in a narrative page's example;
- every snippet program is included by a page;
- every page is in the navigation;
- every one of the 158 items of the source tutorials (the coverage table of
  ../shared/reviews/CONTENT.md) is in the checklist seed_coverage.toml, with the seed the
  review gives it, and is taught where the checklist says: its page exists, has the
  heading named, and contains the strings listed (in its text or an included snippet);
  an item still marked pending fails;
- every claim to check of ../shared/SEEDS.md has an errata entry linking its page.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

import tensorkit
from harness.collect import ROOT, pages
from harness.evaluators import Parsed
from harness.fences import SNIPPET_INCLUDE, fence_spans, inside
from harness.translations import is_translation

DOCS = ROOT / "docs"
API = DOCS / "api"
NARRATIVE = [page for page in sorted(DOCS.rglob("*.md")) if API not in page.parents]
SNIPPETS = ROOT / "snippets"
SEEDS = ROOT.parent / "shared" / "SEEDS.md"
REVIEW = ROOT.parent / "shared" / "reviews" / "CONTENT.md"
CHECKLIST = ROOT / "seed_coverage.toml"
#: The keys every ``[[item]]`` of the checklist has; it may also have ``status = "pending"``
#: and ``seeds_md``, the SEEDS.md topic it belongs to.
CHECKLIST_KEYS = {"id", "seed", "item", "page", "section", "contains"}
#: How many numbered rows the review's coverage table has, one per seed item.
ITEM_COUNT = 158
#: A row of that table: ``| # | seed item | seed | site location: quote | status |``.
_REVIEW_ROW = re.compile(r"^\| (?P<id>\d+) \| .*? \| (?P<seed>\d{3}) \| ", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<text>.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_ATTRIBUTES = re.compile(r"\s*\{[^{}]*\}\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_DIRECTIVE = re.compile(r"^:::[ \t]+(?P<object>[\w.]+)", re.MULTILINE)


def public_names() -> dict[str, str]:
    """Every name in a tensorkit module's ``__all__``, by its dotted path."""
    names: dict[str, str] = {}
    for info in pkgutil.walk_packages(tensorkit.__path__, "tensorkit."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if not hasattr(value, "__module__") or isinstance(value, type(tensorkit)):
                continue  # a submodule re-exported by its package
            names.setdefault(name, f"{value.__module__}.{name}")
    return names


def api_objects() -> set[str]:
    """What the API pages document: each ``::: object`` and, for modules, their names."""
    documented: set[str] = set()
    for page in API.rglob("*.md"):
        for match in _DIRECTIVE.finditer(page.read_text(encoding="utf-8")):
            target = match.group("object")
            documented.add(target.rsplit(".", 1)[-1])
            try:
                module = importlib.import_module(target)
            except ModuleNotFoundError:
                continue
            documented.update(getattr(module, "__all__", []))
    return documented


def example_text(page: Path) -> str:
    """Everything a page's examples show, code and output: its fences as written and
    the snippet programs it includes."""
    shown: list[str] = []
    for example in pages("cpu").parse(page).examples():
        parsed = example.parsed
        if not isinstance(parsed, Parsed):
            continue
        if parsed.body.kind == "include":
            shown += [(ROOT / "snippets" / path).read_text() for path in parsed.body.includes]
        else:
            shown.append(parsed.body.source)
    return "\n".join(shown)


@pytest.fixture(scope="module")
def narrative_examples() -> dict[Path, str]:
    return {page: example_text(page) for page in NARRATIVE}


def test_every_public_name_is_in_the_api_reference() -> None:
    missing = sorted(set(public_names()) - api_objects())
    assert not missing, f"public tensorkit names with no API entry: {missing}"


def test_every_public_name_is_shown_in_a_page_example(
    narrative_examples: dict[Path, str],
) -> None:
    # Shown means in an example's code, or in its output, as a dataclass's repr shows it.
    unused = [
        dotted
        for name, dotted in sorted(public_names().items())
        if not any(re.search(rf"\b{name}\b", text) for text in narrative_examples.values())
    ]
    assert not unused, f"public names no page example shows: {unused}"


def test_every_snippet_is_included_by_a_page() -> None:
    included = {
        match.group("path")
        for page in DOCS.rglob("*.md")
        for line in page.read_text(encoding="utf-8").splitlines()
        if (match := SNIPPET_INCLUDE.match(line))
    }
    snippets = {str(p.relative_to(ROOT / "snippets")) for p in (ROOT / "snippets").rglob("*.py")}
    assert not snippets - included, f"snippets no page includes: {sorted(snippets - included)}"


def nav_pages(entries: Any) -> set[str]:
    if isinstance(entries, str):
        return {entries}
    if isinstance(entries, list):
        return set().union(*(nav_pages(entry) for entry in entries))
    if isinstance(entries, dict):
        return set().union(*(nav_pages(value) for value in entries.values()))
    return set()


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    in_nav = nav_pages(config["nav"])
    # A translation is reached through its English page's entry, in its own language.
    on_disk = {
        str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md") if not is_translation(page)
    }
    assert not on_disk - in_nav, f"pages missing from nav: {sorted(on_disk - in_nav)}"
    assert not in_nav - on_disk, f"nav entries with no page: {sorted(in_nav - on_disk)}"


def seed_rows() -> list[tuple[str, str, str]]:
    """(table, topic, claim to check) for every row of SEEDS.md's topic tables."""
    rows: list[tuple[str, str, str]] = []
    table = ""
    for line in SEEDS.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            table = line[3:].strip()
        elif line.startswith("| ") and not line.startswith(("| topic", "|---")):
            cells = [cell.strip() for cell in line.split("|")[1:-1]]
            rows.append((table, cells[0], cells[-1]))
    return rows


def checklist() -> list[dict[str, Any]]:
    """The ``[[item]]`` tables of seed_coverage.toml, in the file's order."""
    return list(tomllib.loads(CHECKLIST.read_text(encoding="utf-8"))["item"])


def review_seeds() -> dict[int, str]:
    """The seed of every numbered row of the review's coverage table, by row number."""
    text = REVIEW.read_text(encoding="utf-8")
    return {int(match["id"]): match["seed"] for match in _REVIEW_ROW.finditer(text)}


def plain_heading(text: str) -> str:
    """A heading's text without its ``{ #id }`` attributes, links, code and emphasis marks."""
    text = _LINK.sub(r"\1", _ATTRIBUTES.sub("", text))
    return " ".join(text.replace("`", "").replace("*", "").split())


def headings(markdown: str) -> set[str]:
    """The plain text of every ATX heading of a page, outside its code fences."""
    fences = fence_spans(markdown)
    return {
        plain_heading(match["text"])
        for match in _HEADING.finditer(markdown)
        if not inside(match.start(), fences)
    }


def page_text(markdown: str, snippets: Path) -> str:
    """A page's Markdown and the text of every snippet program it includes."""
    texts = [markdown]
    for line in markdown.splitlines():
        if (match := SNIPPET_INCLUDE.match(line)) and (snippets / match["path"]).is_file():
            texts.append((snippets / match["path"]).read_text(encoding="utf-8"))
    return "\n".join(texts)


def squeezed(text: str) -> str:
    """``text`` with every run of whitespace made one space: prose wraps, admonitions
    indent, and neither changes what a page says."""
    return " ".join(text.split())


def missing_content(
    item: dict[str, Any], docs: Path = DOCS, snippets: Path = SNIPPETS
) -> list[str]:
    """What the checklist promises for ``item`` and its page does not hold: the page, the
    heading, each string it must contain (in its text or an included snippet). A pending
    item is reported too: it is not covered yet, even where its strings are there."""
    name = f"item {item['id']} ({item['item']})"
    page = docs / item["page"]
    if not page.is_file():
        return [f"{name}: no page {item['page']}"]
    markdown = page.read_text(encoding="utf-8")
    problems = []
    if plain_heading(item["section"]) not in headings(markdown):
        problems.append(f"{name}: {item['page']} has no heading {item['section']!r}")
    for line in markdown.splitlines():
        if (match := SNIPPET_INCLUDE.match(line)) and not (snippets / match["path"]).is_file():
            problems.append(f"{name}: {item['page']} includes a missing snippet {match['path']}")
    shown = squeezed(page_text(markdown, snippets))
    problems += [
        f"{name}: {item['page']} (with its snippets) does not contain {needed!r}"
        for needed in item["contains"]
        if squeezed(needed) not in shown
    ]
    if item.get("status") == "pending":
        now = "; every string it needs is there now: check it, then drop the status"
        problems.append(f"{name}: pending, not yet taught on {item['page']}{now * (not problems)}")
    return problems


def test_checklist_holds_items_1_to_158_once_each() -> None:
    ids = [entry.get("id") for entry in checklist()]
    expected = list(range(1, ITEM_COUNT + 1))
    assert ids == expected, (
        f"seed_coverage.toml must list items 1 to {ITEM_COUNT} in order, once each; "
        f"missing {[i for i in expected if i not in ids]}, "
        f"repeated {sorted({i for i in expected if ids.count(i) > 1})}, "
        f"unknown {[i for i in ids if i not in expected]}"
    )


def test_checklist_items_are_well_formed() -> None:
    wrong = []
    for entry in checklist():
        keys = set(entry)
        if not CHECKLIST_KEYS <= keys:
            wrong.append(f"item {entry.get('id')}: lacks {sorted(CHECKLIST_KEYS - keys)}")
        elif unknown := keys - CHECKLIST_KEYS - {"status", "seeds_md"}:
            wrong.append(f"item {entry['id']}: unknown keys {sorted(unknown)}")
        elif not (
            isinstance(entry["contains"], list)
            and 1 <= len(entry["contains"]) <= 3
            and all(isinstance(s, str) and s.strip() for s in entry["contains"])
        ):
            wrong.append(f"item {entry['id']}: contains must be 1 to 3 non-empty strings")
        elif entry.get("status", "pending") != "pending":
            wrong.append(f"item {entry['id']}: status {entry['status']!r} is not 'pending'")
    assert not wrong, "\n".join(wrong)


@pytest.mark.skipif(not REVIEW.is_file(), reason=f"{REVIEW} is not beside this checkout")
def test_checklist_seeds_match_the_review() -> None:
    seeds = review_seeds()
    assert sorted(seeds) == list(range(1, ITEM_COUNT + 1)), "the review's table has changed"
    wrong = [
        f"item {entry['id']}: seed {entry['seed']}, the review says {seeds.get(entry['id'])}"
        for entry in checklist()
        if seeds.get(entry["id"]) != entry["seed"]
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("item", checklist(), ids=lambda item: f"item-{item['id']:03d}")
def test_seed_item_is_taught_where_the_checklist_says(item: dict[str, Any]) -> None:
    problems = missing_content(item)
    assert not problems, "\n".join(problems)


def test_missing_content_reports_what_a_page_lacks(tmp_path: Path) -> None:
    docs, snippets = tmp_path / "docs", tmp_path / "snippets"
    docs.mkdir()
    snippets.mkdir()
    (snippets / "demo.py").write_text('print("from the snippet")\n', encoding="utf-8")
    (docs / "demo.md").write_text(
        "# Demo\n\n## `cat`: join { #cat }\n\nThe shape is\n`torch.Size([4, 3])`.\n\n"
        '```python\n# inside a fence\n--8<-- "demo.py"\n```\n',
        encoding="utf-8",
    )
    item = {
        "id": 999,
        "item": "cat of two (2, 3) tensors",
        "page": "demo.md",
        "section": "`cat`: join",
        "contains": ["The shape is `torch.Size([4, 3])`.", 'print("from the snippet")'],
    }
    assert missing_content(item, docs, snippets) == []

    name = "item 999 (cat of two (2, 3) tensors)"
    lacking = {**item, "contains": ["torch.Size([4, 3])", "torch.Size([2, 2, 3])"]}
    assert missing_content(lacking, docs, snippets) == [
        f"{name}: demo.md (with its snippets) does not contain 'torch.Size([2, 2, 3])'"
    ]
    for section in ("`stack`: join", "inside a fence"):  # the second is fenced code
        wrong_heading = {**item, "section": section}
        assert missing_content(wrong_heading, docs, snippets) == [
            f"{name}: demo.md has no heading {section!r}"
        ]
    assert missing_content({**item, "page": "gone.md"}, docs, snippets) == [
        f"{name}: no page gone.md"
    ]
    (pending,) = missing_content({**item, "status": "pending"}, docs, snippets)
    assert pending.startswith(f"{name}: pending, not yet taught on demo.md")


@pytest.mark.skipif(not SEEDS.is_file(), reason=f"{SEEDS} is not beside this checkout")
def test_every_claim_to_check_is_in_the_errata() -> None:
    # A checklist item names the SEEDS.md topic it belongs to in `seeds_md`.
    errata = (DOCS / "errata.md").read_text(encoding="utf-8")
    pages_of = {entry["seeds_md"]: entry["page"] for entry in checklist() if "seeds_md" in entry}
    unlinked = [
        f"{table}: {topic} ({claim}) -> {pages_of.get(topic, 'no item names it in seeds_md')}"
        for table, topic, claim in seed_rows()
        if claim and (topic not in pages_of or f"]({pages_of[topic]}" not in errata)
    ]
    assert not unlinked, "claims with no errata entry linking their page:\n" + "\n".join(unlinked)


#: Words of the test machinery. Readers meet the site's checks only in plain words
#: ("run and checked"); the maintainers' guide, docs/contributing.md, may name them.
MACHINERY = re.compile(
    r"\b(?:cuda pass|cpu pass|test suite|make test|pytest|harness|sybil|doctests?|"
    r"GPU test run|the tests)\b",
    re.IGNORECASE,
)
MAINTAINER_PAGES = {DOCS / "contributing.md"}


def machinery_words(text: str) -> list[tuple[int, str]]:
    """(line, word) for each test-machinery word in ``text``."""
    return [
        (number, match.group(0))
        for number, line in enumerate(text.splitlines(), start=1)
        for match in MACHINERY.finditer(line)
    ]


@pytest.mark.parametrize(
    "page",
    sorted(p for p in DOCS.rglob("*.md") if p not in MAINTAINER_PAGES),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_reader_pages_speak_to_readers_not_of_test_machinery(page: Path) -> None:
    found = machinery_words(page.read_text(encoding="utf-8"))
    assert not found, "\n".join(
        f"{page.relative_to(ROOT)}:{line}: '{word}' is a word of the test machinery; "
        "say what was checked in a reader's words"
        for line, word in found
    )


def test_machinery_words_are_found_with_their_line() -> None:
    text = "Tensors.\nNot run by the tests in the cuda pass.\nA train/test split.\n"
    assert machinery_words(text) == [(2, "the tests"), (2, "cuda pass")]


def nav_in_order() -> list[str]:
    """The pages of mkdocs.yml's nav, in reading order."""

    def walk(entries: Any) -> list[str]:
        found: list[str] = []
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            found += walk(value) if isinstance(value, list) else [value]
        return found

    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    return walk(config["nav"])


def unlisted_or_out_of_order(path_text: str, pages_in_order: list[str]) -> list[str]:
    """Pages the learning path does not link, and the first one linked out of order."""
    positions = {page: path_text.find(f"]({page}") for page in pages_in_order}
    problems = [f"{page}: not linked" for page, at in positions.items() if at < 0]
    linked = [page for page in pages_in_order if positions[page] >= 0]
    for before, after in zip(linked, linked[1:], strict=False):
        if positions[after] < positions[before]:
            problems.append(f"{after}: linked before {before}, against the navigation's order")
            break
    return problems


def test_the_start_page_links_every_page_in_reading_order() -> None:
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    path = text[text.index("## The learning path") :]
    pages_in_order = [page for page in nav_in_order() if page != "index.md"]
    assert unlisted_or_out_of_order(path, pages_in_order) == []


def test_a_learning_path_that_skips_or_reorders_a_page_is_caught() -> None:
    pages_in_order = ["a.md", "b.md", "c.md"]
    assert unlisted_or_out_of_order("[A](a.md) [B](b.md) [C](c.md)", pages_in_order) == []
    assert unlisted_or_out_of_order("[A](a.md) [C](c.md)", pages_in_order) == ["b.md: not linked"]
    assert unlisted_or_out_of_order("[B](b.md) [A](a.md) [C](c.md)", pages_in_order) == [
        "b.md: linked before a.md, against the navigation's order"
    ]
