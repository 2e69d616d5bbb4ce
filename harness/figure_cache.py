"""The site build's figures, kept under a hash of everything that draws them.

Drawing a page's figures means running the page's examples (:func:`harness.collect.
draw_page_figures`), which takes seconds, and every rebuild under ``make serve`` would
take them again for a changed sentence. The pictures are stored instead in
``build/figures/<key>.json``, where the key is a hash of:

* the text of every example region of the page, as the tests parse it (code fences,
  sessions, skip directives, snippet includes), up to its last figure fence: what runs
  before a figure can change it, the prose between cannot;
* every file under ``snippets/``, ``tensorkit/`` and ``harness/`` (what the examples
  include and import, and the code that runs them);
* the versions of Python, torch, NumPy and matplotlib.

The key is computed from the bytes themselves, never from dates, so an entry cannot
outlive a change to what it was drawn from. Only the site build reads the cache: the
tests always run the code.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import matplotlib
import numpy
import torch

from harness.paths import ROOT

CACHE = ROOT / "build" / "figures"
#: The folders whose every file a page's examples may run, include or be run by.
DEPENDENCIES = ("snippets", "tensorkit", "harness")

#: What a page's figures are: each figure fence's line and its SVGs, in page order.
Figures = list[tuple[int, list[str]]]


def source_files(root: Path = ROOT, folders: Iterable[str] = DEPENDENCIES) -> Iterable[Path]:
    """The files under ``folders`` of ``root``, bar the bytecode that running them writes."""
    for name in folders:
        for path in sorted((root / name).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def figure_key(regions: list[str], root: Path = ROOT) -> str:
    """The cache key of a page whose example regions, up to its last figure, are ``regions``."""
    digest = hashlib.sha256()
    versions = (platform.python_version(), torch.__version__, numpy.__version__)
    for part in (*versions, matplotlib.__version__):
        digest.update(part.encode() + b"\0")
    for text in regions:
        digest.update(b"region\0" + text.encode() + b"\0")
    for path in source_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def is_cached(key: str, cache: Path | None = None) -> bool:
    """Whether ``cache`` (default `CACHE`) holds figures under ``key``."""
    return ((CACHE if cache is None else cache) / f"{key}.json").is_file()


def cached_figures(key: str, draw: Callable[[], Figures], cache: Path | None = None) -> Figures:
    """The figures stored under ``key`` in ``cache`` (default `CACHE`), or those ``draw()``
    returns, then stored. A ``draw()`` that raises stores nothing."""
    cache = CACHE if cache is None else cache
    entry = cache / f"{key}.json"
    if entry.is_file():
        return [(line, svgs) for line, svgs in json.loads(entry.read_text(encoding="utf-8"))]
    figures = draw()
    cache.mkdir(parents=True, exist_ok=True)
    # Written whole, then renamed: a build stopped half-way leaves no half entry behind.
    handle, temporary = tempfile.mkstemp(dir=cache, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(figures, file)
    os.replace(temporary, entry)
    return figures
