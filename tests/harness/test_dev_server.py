"""`make serve` with MkDocs rebuilds a page when anything it is built from changes."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import dev_server
from harness.dev_server import _DropDirtyWarning, included_snippets, merged_index, stale
from harness.site_markdown import serving


def _aged(path: Path, text: str, seconds_ago: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    then = path.stat().st_mtime - seconds_ago
    os.utime(path, (then, then))
    return path


def test_a_page_includes_the_snippets_its_snippet_lines_name() -> None:
    page = 'Text.\n\n```python\n--8<-- "training/d2l_concise.py"\n```\n\n-8<- not a snippet\n'
    assert included_snippets(page) == [dev_server._SNIPPETS / "training/d2l_concise.py"]


@pytest.fixture
def snippet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(dev_server, "_SNIPPETS", tmp_path / "snippets")
    return tmp_path / "snippets" / "topic" / "example.py"


def test_html_older_than_an_included_snippet_is_stale(snippet: Path, tmp_path: Path) -> None:
    page = _aged(tmp_path / "page.md", '--8<-- "topic/example.py"\n', 100)
    html = _aged(tmp_path / "site" / "page" / "index.html", "<html>", 50)
    _aged(snippet, "print(1)\n", 10)  # edited after the page was built
    assert stale(page, html, every_page=0)
    _aged(snippet, "print(1)\n", 60)  # edited before it
    assert not stale(page, html, every_page=0)
    assert stale(page, html, every_page=html.stat().st_mtime + 1)  # tensorkit, harness...
    html.unlink()
    assert not stale(page, html, every_page=0)  # MkDocs builds a missing page anyway


def test_on_files_removes_only_the_stale_pages_html(
    snippet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dev_server, "ROOT", tmp_path)  # no tensorkit/, harness/... there
    files = []
    for name, include in (("uses", '--8<-- "topic/example.py"\n'), ("other", "Prose.\n")):
        page = _aged(tmp_path / f"{name}.md", include, 100)
        html = _aged(tmp_path / "site" / name / "index.html", "<html>", 50)
        files.append(SimpleNamespace(abs_src_path=str(page), abs_dest_path=str(html)))
    _aged(snippet, "print(2)\n", 10)
    dev_server.on_files(SimpleNamespace(documentation_pages=lambda: files), config={})
    assert not Path(files[0].abs_dest_path).exists()
    assert Path(files[1].abs_dest_path).exists()


def test_the_search_index_keeps_the_pages_a_dirty_build_did_not_rebuild() -> None:
    before = {
        "config": {"lang": ["en"]},
        "docs": [
            {"location": "a/", "text": "old a"},
            {"location": "a/#part", "text": "old part"},
            {"location": "b/", "text": "b"},
        ],
    }
    rebuilt = {"config": {"lang": ["en"]}, "docs": [{"location": "a/", "text": "new a"}]}
    merged = merged_index(before, rebuilt)
    assert merged["docs"] == [{"location": "b/", "text": "b"}, {"location": "a/", "text": "new a"}]


def test_only_the_dirty_build_warning_is_dropped() -> None:
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord(
            "mkdocs.commands.build", logging.WARNING, "", 0, message, (), None
        )

    dropped = _DropDirtyWarning()
    assert not dropped.filter(record("A 'dirty' build is being performed, this will likely"))
    assert dropped.filter(record("Doc file 'a.md' contains a link 'b.md', not found"))


@pytest.mark.parametrize(
    ("argv", "serves"),
    [
        (["/v/bin/mkdocs", "serve", "--dev-addr", "a"], True),
        (["/v/bin/zensical", "serve"], True),
        (["/w/harness/dev_server.py", "--dev-addr", "127.0.0.1:8000"], True),
        (["/v/bin/mkdocs", "build", "--strict"], False),
        (["/v/bin/zensical", "build", "--clean"], False),
    ],
)
def test_the_servers_and_only_they_show_failures_on_the_page(
    argv: list[str], serves: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", argv)
    assert serving() is serves
