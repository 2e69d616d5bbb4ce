"""Code and docs in step: every public name documented and shown, nothing orphaned.

- every public tensorkit name is in the API reference and in a narrative page's example;
- every snippet program is included by a page;
- every page is in the navigation;
- every topic of the source tutorials (../shared/SEEDS.md) has a page that covers it,
  per the checklist seed_coverage.toml.
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
from harness.fences import SNIPPET_INCLUDE

DOCS = ROOT / "docs"
API = DOCS / "api"
NARRATIVE = [page for page in sorted(DOCS.rglob("*.md")) if API not in page.parents]
SEEDS = ROOT.parent / "shared" / "SEEDS.md"
CHECKLIST = ROOT / "seed_coverage.toml"
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
    on_disk = {str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md")}
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


def seed_topics() -> list[tuple[str, str]]:
    """(table, topic) for every row of SEEDS.md's topic tables."""
    return [(table, topic) for table, topic, _ in seed_rows()]


def checklist() -> list[dict[str, str]]:
    return list(tomllib.loads(CHECKLIST.read_text(encoding="utf-8"))["topic"])


def test_checklist_pages_exist_and_cover_something() -> None:
    for entry in checklist():
        page = DOCS / entry["page"]
        assert page.is_file(), f"{entry['topic']!r}: no page {entry['page']}"


@pytest.mark.skipif(not SEEDS.is_file(), reason=f"{SEEDS} is not beside this checkout")
def test_every_seed_topic_has_a_page_in_the_checklist() -> None:
    listed = {(entry["table"], entry["topic"]) for entry in checklist()}
    missing = [
        f"{table}: {topic}" for table, topic in seed_topics() if (table, topic) not in listed
    ]
    stale = sorted(listed - set(seed_topics()))
    assert not missing, "topics of SEEDS.md with no page:\n" + "\n".join(missing)
    assert not stale, f"checklist topics not in SEEDS.md: {stale}"


@pytest.mark.skipif(not SEEDS.is_file(), reason=f"{SEEDS} is not beside this checkout")
def test_every_claim_to_check_is_in_the_errata() -> None:
    errata = (DOCS / "errata.md").read_text(encoding="utf-8")
    pages_of = {(entry["table"], entry["topic"]): entry["page"] for entry in checklist()}
    unlinked = [
        f"{table}: {topic} ({claim}) -> {pages_of[(table, topic)]}"
        for table, topic, claim in seed_rows()
        if claim and f"]({pages_of[(table, topic)]}" not in errata
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
