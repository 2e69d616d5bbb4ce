"""The wheel the site offers: built offline from the checkout, the same bytes each time."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

from harness.paths import ROOT
from harness.wheel import SOURCES, build_wheel, sources_hash


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            project.mkdir(exist_ok=True)
            shutil.copy2(source, project / name)
    return project


def test_the_wheel_holds_tensorkit_under_its_own_distribution_name(tmp_path: Path) -> None:
    wheel = build_wheel(_project(tmp_path), cache=tmp_path / "cache")
    assert wheel.name == "pytorch_fundamentals_tensorkit-0.1.0-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    assert "tensorkit/regression/loop.py" in names and "tensorkit/py.typed" in names
    assert not any(name.startswith(("tests/", "harness/", "docs/")) for name in names)
    metadata = (
        zipfile.ZipFile(wheel)
        .read("pytorch_fundamentals_tensorkit-0.1.0.dist-info/METADATA")
        .decode()
    )
    # Ranges, as a library asks; tqdm only for the progress bar.
    assert "Requires-Dist: torch>=2.11" in metadata and "Requires-Dist: numpy>=2.0" in metadata
    assert 'Requires-Dist: tqdm>=4.66; extra == "progress"' in metadata


def test_a_rebuild_gives_the_same_bytes_and_a_changed_module_a_new_wheel(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = build_wheel(project, cache=tmp_path / "one")
    again = build_wheel(project, cache=tmp_path / "two")
    assert (
        hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(again.read_bytes()).digest()
    )
    before = sources_hash(project)
    (project / "tensorkit" / "shape.py").write_text("# changed\n", encoding="utf-8")
    assert sources_hash(project) != before
    assert build_wheel(project, cache=tmp_path / "one") != first  # a new cache entry
