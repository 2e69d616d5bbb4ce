"""The verified-on record: written by the test run, trusted only for unchanged text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.collect import ROOT
from harness.mkdocs_hooks import verified_stamp
from harness.verification import content_hash, verified
from tests.harness.projects import harness_project


def make_project(tmp_path: Path) -> Path:
    return harness_project(
        tmp_path,
        {
            "docs/good.md": "```pycon\n>>> 1 + 1\n2\n```\n",
            "docs/bad.md": "```pycon\n>>> 1 + 1\n3\n```\n",
        },
    )


def run_pytest(project: Path, *options: str) -> None:
    subprocess.run([sys.executable, "-m", "pytest", "-q", *options], cwd=project, timeout=120)


def test_the_run_records_passing_documents_only(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run_pytest(project)
    record = json.loads((project / "verification.json").read_text())
    assert set(record["documents"]) == {"docs/good.md"}
    entry = record["documents"]["docs/good.md"]
    assert entry["sha256"] == content_hash(project / "docs" / "good.md")
    assert entry["cpu"]["torch"].startswith("2.13.0")
    assert "cuda" not in entry  # skipped without a GPU: nothing is claimed


def test_an_edited_page_is_no_longer_verified(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run_pytest(project)
    record = json.loads((project / "verification.json").read_text())
    assert set(verified(record, project, "docs/good.md")) == {"cpu"}
    (project / "docs" / "good.md").write_text("```pycon\n>>> 2 + 2\n4\n```\n")
    assert verified(record, project, "docs/good.md") == {}


def test_a_partial_run_does_not_count(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run_pytest(project, "-k", "line:999")  # deselects everything in good.md
    assert not (project / "verification.json").exists()


def test_one_example_run_by_node_id_does_not_verify_its_page(tmp_path: Path) -> None:
    project = harness_project(
        tmp_path, {"docs/two.md": "```pycon\n>>> 1\n1\n```\n\n```pycon\n>>> 2\n2\n```\n"}
    )
    run_pytest(project, "docs/two.md::sybil:cpu,line:1,column:1")
    assert not (project / "verification.json").exists()
    # Its companion: the whole page, run, is verified.
    run_pytest(project, "docs/two.md")
    record = json.loads((project / "verification.json").read_text())
    assert set(verified(record, project, "docs/two.md")) == {"cpu"}


def test_stamp_names_devices_versions_and_dates() -> None:
    page = "docs/autograd/basics.md"
    digest = content_hash(ROOT / page)
    record = {
        "documents": {
            page: {"sha256": digest, "cpu": {"date": "2026-11-20", "torch": "2.13.0+cpu"}}
        }
    }
    stamp = verified_stamp([page], record)
    assert "CPU with torch 2.13.0 on 2026-11-20. Not yet verified on CUDA." in stamp
    assert "not been verified" in verified_stamp([page], {"documents": {}})
