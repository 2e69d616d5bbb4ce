"""The record of which documents' examples passed, on which devices, with which torch.

A pytest plugin writes ``verification.json`` at the end of each test run: for every
document (page, snippet program, tensorkit module) all of whose examples ran and passed
in a pass, the date, the torch version and a hash of the document's text. The site stamps
each page from this record (see :mod:`harness.mkdocs_hooks`), and only while the hash
still matches: a page edited since its last verified run says so instead.

A pass whose examples were all skipped (the cuda pass without a GPU) leaves the record
as it was; a failure removes the document's entry for that pass. A run that deselected
some of a document's examples (``-k``) does not count for it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import torch

from harness.collect import PASSES


def content_hash(path: Path) -> str:
    """The hash that ties a record to one version of a document's text."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def load(record: Path) -> dict[str, Any]:
    if not record.is_file():
        return {"documents": {}}
    data: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    return data


def verified(record: dict[str, Any], root: Path, relative: str) -> dict[str, dict[str, str]]:
    """The passes a document is verified in, if its text has not changed since."""
    entry = record["documents"].get(relative)
    path = root / relative
    if entry is None or not path.is_file() or entry["sha256"] != content_hash(path):
        return {}
    return {device: entry[device] for device in PASSES if device in entry}


class VerificationRecorder:
    """Collects each document's outcomes per pass and writes the record at the end."""

    def __init__(self, root: Path, record: Path) -> None:
        self.root = root
        self.record = record
        self.outcomes: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.deselected: set[tuple[str, str]] = set()

    @staticmethod
    def _key(nodeid: str) -> tuple[str, str] | None:
        # Sybil's items are named "<file>::sybil:<pass>,line:<n>,column:<n>".
        path, _, name = nodeid.partition("::")
        for device in PASSES:
            if name.startswith(f"sybil:{device},"):
                return path, device
        return None

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        # A document only partly run is not verified by this run.
        for item in items:
            key = self._key(item.nodeid)
            if key is not None:
                self.deselected.add(key)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = self._key(report.nodeid)
        if key is None:
            return
        if report.failed:
            self.outcomes[key].append("failed")
        elif report.skipped:
            self.outcomes[key].append("skipped")
        elif report.when == "call":
            self.outcomes[key].append("passed")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.outcomes:
            return
        data = load(self.record)
        documents: dict[str, Any] = data.setdefault("documents", {})
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        for (relative, device), results in sorted(self.outcomes.items()):
            if (relative, device) in self.deselected or set(results) == {"skipped"}:
                continue
            path = self.root / relative
            digest = content_hash(path)
            entry = documents.get(relative, {})
            if entry.get("sha256") != digest:
                entry = {"sha256": digest}  # other passes verified an older text
            # Skips among passes are the page's own, shown to readers with their reason.
            if "failed" in results:
                entry.pop(device, None)
            else:
                entry[device] = {"date": today, "torch": torch.__version__}
            if any(device in entry for device in PASSES):
                documents[relative] = entry
            else:
                documents.pop(relative, None)
        data["documents"] = dict(sorted(documents.items()))
        _write_atomically(self.record, json.dumps(data, indent=2) + "\n")


def _write_atomically(path: Path, text: str) -> None:
    # Test runs may finish at the same time; a reader never sees half a file.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".verification-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)
