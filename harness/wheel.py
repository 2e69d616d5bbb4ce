"""The tensorkit wheel the site offers for download, built from this checkout.

The install page links ``downloads/<wheel>``; the build adds that file to the site, so
mkdocs' strict link check fails a page that links a wheel of another name or version.
The wheel is built offline (no build isolation: setuptools comes from the docs extras)
from a copy of its sources, so the checkout gains no ``build/lib`` or ``egg-info``, with
the last commit's time as every file's date, and kept in ``build/site-wheel`` under a
hash of what goes into it, so that rebuilding the site reuses it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.paths import ROOT

#: What the wheel is made of: a change to any of these builds a new one.
SOURCES = ("pyproject.toml", "README.md", "tensorkit")
CACHE = ROOT / "build" / "site-wheel"
#: The folder of the built site that holds downloads other than the pages' own.
DOWNLOADS = "downloads"


def _source_files(root: Path) -> list[Path]:
    files = []
    for name in SOURCES:
        path = root / name
        found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        files += [f for f in found if "__pycache__" not in f.parts and f.suffix != ".pyc"]
    return files


def sources_hash(root: Path = ROOT) -> str:
    """A hash of what goes into the wheel: its cache key."""
    digest = hashlib.sha256()
    for file in _source_files(root):
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def _commit_time(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%ct"], cwd=root, capture_output=True, text=True
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def build_wheel(root: Path = ROOT, cache: Path = CACHE) -> Path:
    """The wheel of the checkout at ``root``: built unless the cache has this version."""
    folder = cache / sources_hash(root)
    built = sorted(folder.glob("*.whl"))
    if len(built) == 1:
        return built[0]
    # Every file dated the last commit (outside git, the newest source file), so that
    # the same sources give the same bytes.
    epoch = _commit_time(root) or str(int(max(f.stat().st_mtime for f in _source_files(root))))
    environment = {**os.environ, "SOURCE_DATE_EPOCH": epoch}
    with tempfile.TemporaryDirectory() as work:
        source, out = Path(work, "source"), Path(work, "wheel")
        for name in SOURCES:
            if (root / name).is_dir():
                shutil.copytree(root / name, source / name, ignore=_BYTECODE)
            else:
                source.mkdir(exist_ok=True)
                shutil.copy2(root / name, source / name)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
            + ["--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(source)],
            cwd=source,
            capture_output=True,
            text=True,
            env=environment,
        )
        wheels = sorted(out.glob("*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            raise RuntimeError(f"building the tensorkit wheel failed:\n{result.stderr}")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return Path(shutil.move(wheels[0], folder / wheels[0].name))


_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")
