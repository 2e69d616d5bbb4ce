"""The verified-on record: written by the test run, trusted only for unchanged text."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.collect import ROOT
from harness.page_features import verified_stamp
from harness.translations import blob_id
from harness.verification import content_hash, verified
from tests.harness.projects import harness_project


@dataclass(frozen=True)
class Runs:
    """One throwaway project, run three ways in turn (each pytest run costs seconds)."""

    project: Path
    after_one_example: bool  # whether a record existed after running one example by id
    after_deselecting: bool  # ... after a run that deselected every example
    record: dict[str, Any]  # the record after a full run


def run_pytest(project: Path, *options: str) -> None:
    subprocess.run([sys.executable, "-m", "pytest", "-q", *options], cwd=project, timeout=120)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    english = {
        "docs/good.md": "```pycon\n>>> 1 + 1\n2\n```\n",
        "docs/bad.md": "```pycon\n>>> 1 + 1\n3\n```\n",
        "docs/two.md": "```pycon\n>>> 1\n1\n```\n\n```pycon\n>>> 2\n2\n```\n",
    }
    # Translations: of a passing page; of a failing one; and one whose output differs.
    translated = {
        "docs/good.zh.md": ("docs/good.md", "一加一：\n\n```pycon\n>>> 1 + 1\n2\n```\n"),
        "docs/bad.zh.md": ("docs/bad.md", english["docs/bad.md"]),
        "docs/two.zh.md": ("docs/two.md", english["docs/two.md"].replace("\n2\n```", "\n3\n```")),
    }
    project = harness_project(
        tmp_path_factory.mktemp("record"),
        english
        | {
            name: f"---\ntranslates: {blob_id(english[page].encode())}\n---\n\n{text}"
            for name, (page, text) in translated.items()
        },
    )
    record = project / "verification.json"
    run_pytest(project, "docs/two.md::sybil:cpu,line:1,column:1")
    after_one_example = record.exists()
    run_pytest(project, "-k", "line:999")  # deselects every example
    after_deselecting = record.exists()
    # A document deleted since an earlier run: the full run must drop its entry.
    gone = {"sha256": "0" * 16, "cpu": {"date": "2026-11-01", "torch": "2.13.0"}}
    record.write_text(json.dumps({"documents": {"docs/gone.md": gone}}), encoding="utf-8")
    run_pytest(project)
    return Runs(project, after_one_example, after_deselecting, json.loads(record.read_text()))


def test_the_run_records_passing_documents_only(runs: Runs) -> None:
    # docs/gone.md, in the record before the run but deleted, is dropped with bad.md.
    assert set(runs.record["documents"]) == {"docs/good.md", "docs/two.md", "docs/good.zh.md"}
    entry = runs.record["documents"]["docs/good.md"]
    assert entry["sha256"] == content_hash(runs.project / "docs" / "good.md")
    assert entry["cpu"]["torch"].startswith("2.13.0")
    assert "cuda" not in entry  # skipped without a GPU: nothing is claimed


def test_a_translation_is_recorded_only_with_its_examples_kept_and_its_english_page_passing(
    runs: Runs,
) -> None:
    documents = runs.record["documents"]
    translation = documents["docs/good.zh.md"]
    assert translation["translates"] == "docs/good.md"
    assert translation["cpu"] == documents["docs/good.md"]["cpu"]
    assert translation["sha256"] == content_hash(runs.project / "docs" / "good.zh.md")
    # bad.zh.md keeps the examples of a page that failed; two.zh.md changed an output.
    assert "docs/bad.zh.md" not in documents and "docs/two.zh.md" not in documents


def test_an_edited_page_is_no_longer_verified(runs: Runs, tmp_path: Path) -> None:
    assert set(verified(runs.record, runs.project, "docs/good.md")) == {"cpu"}
    edited = tmp_path / "docs" / "good.md"
    edited.parent.mkdir()
    edited.write_text("```pycon\n>>> 2 + 2\n4\n```\n")
    assert verified(runs.record, tmp_path, "docs/good.md") == {}


def test_a_partial_run_does_not_count(runs: Runs) -> None:
    assert not runs.after_deselecting


def test_one_example_run_by_node_id_does_not_verify_its_page(runs: Runs) -> None:
    assert not runs.after_one_example
    # Its companion: the whole page, run, is verified.
    assert set(verified(runs.record, runs.project, "docs/two.md")) == {"cpu"}


def test_stamp_names_devices_versions_and_dates() -> None:
    page = "docs/autograd/basics.md"
    digest = content_hash(ROOT / page)
    record = {
        "documents": {
            page: {"sha256": digest, "cpu": {"date": "2026-11-20", "torch": "2.13.0+cpu"}}
        }
    }
    stamp = verified_stamp([page], record)
    assert "on CPU with torch 2.13.0 on 2026-11-20. Not yet checked on CUDA." in stamp
    assert "have changed since they were last run" in verified_stamp([page], {"documents": {}})
