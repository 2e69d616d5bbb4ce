"""The record of which documents' examples passed, on which devices, with which torch.

A pytest plugin writes ``verification.json`` at the end of each test run: for every
document (page, snippet program, tensorkit module) all of whose examples ran and passed
in a pass, the date, the torch version and a hash of the document's text. The site stamps
each page from this record (see :mod:`harness.page_features`), and only while the hash
still matches: a page edited since its last verified run says so instead.

A document is recorded as verified in a pass only when every one of its examples ran in
that run and none failed: a run that selected some of its examples (``-k``, a node id)
does not count for it. A pass whose examples were all skipped (the cuda pass without a
GPU) leaves the record as it was; a failure removes the document's entry for that pass.

A translation (``docs/<page>.zh.md``) is not run: it is recorded as verified in a pass
when its check that it keeps the English page's examples passed
(:mod:`harness.translation_items`) and the English page was verified in that pass, both
in the same run. A failed check removes its entry.
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

from harness.collect import PASSES, sybils
from harness.translation_items import ITEM_PREFIX


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


#: Example counts already taken, by document, pass and the hash of the document's text:
#: a site build asks for the same ones on every page, and parsing is the slow part.
_COUNTED: dict[tuple[str, str, str, str], int] = {}


def examples_in(root: Path, relative: str, device: str) -> int:
    """How many examples a document has in a pass (0 for one the passes do not read)."""
    path = root / relative
    if not path.is_file():
        return 0
    key = (str(root), relative, device, content_hash(path))
    if key not in _COUNTED:
        _COUNTED[key] = _count(root, path, device)
    return _COUNTED[key]


def _count(root: Path, path: Path, device: str) -> int:
    for sybil in sybils(root):
        if sybil.name == device and sybil.should_parse(path):
            return len(list(sybil.parse(path).examples()))
    return 0


class VerificationRecorder:
    """Collects each document's outcomes per pass and writes the record at the end."""

    def __init__(self, root: Path, record: Path) -> None:
        self.root = root
        self.record = record
        #: Per document and pass, each example's item and how it ended.
        self.outcomes: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        #: Per translation, its English page and whether its check passed.
        self.translations: dict[str, tuple[str, bool]] = {}

    @staticmethod
    def _key(nodeid: str) -> tuple[str, str] | None:
        # Sybil's items are named "<file>::sybil:<pass>,line:<n>,column:<n>".
        path, _, name = nodeid.partition("::")
        for device in PASSES:
            if name.startswith(f"sybil:{device},"):
                return path, device
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        path, _, name = report.nodeid.partition("::")
        if name.startswith(ITEM_PREFIX):
            english = name.removeprefix(ITEM_PREFIX)
            if report.failed:
                self.translations[path] = (english, False)
            elif report.when == "call":
                self.translations.setdefault(path, (english, True))
            return
        key = self._key(report.nodeid)
        if key is None:
            return
        seen = self.outcomes[key]
        if report.failed:
            seen[report.nodeid] = "failed"
        elif report.skipped:
            seen.setdefault(report.nodeid, "skipped")
        elif report.when == "call":
            seen.setdefault(report.nodeid, "passed")

    def documents_run(self, device: str) -> set[str]:
        """The documents all of whose examples ran in this run's ``device`` pass."""
        return {
            relative
            for (relative, pass_), by_item in self.outcomes.items()
            if pass_ == device and len(by_item) >= examples_in(self.root, relative, device)
        }

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.outcomes and not self.translations:
            return
        before = json.dumps(load(self.record), indent=2) + "\n"
        after = json.dumps(self.updated_record(), indent=2) + "\n"
        if after != before:
            _write_atomically(self.record, after)

    def updated_record(self) -> dict[str, Any]:
        """The record as this run leaves it: what the file holds, with this run's results."""
        data = load(self.record)
        documents: dict[str, Any] = data.setdefault("documents", {})
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        verified_now: set[tuple[str, str]] = set()  # every example ran, and passed or skipped
        for (relative, device), by_item in sorted(self.outcomes.items()):
            results = set(by_item.values())
            if results == {"skipped"}:
                continue
            if len(by_item) < examples_in(self.root, relative, device) and "failed" not in results:
                continue  # only some examples ran: this run says nothing of the others
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
                verified_now.add((relative, device))
            if any(device in entry for device in PASSES):
                documents[relative] = entry
            else:
                documents.pop(relative, None)
        for translation, (english, kept) in sorted(self.translations.items()):
            if not kept:
                documents.pop(translation, None)
                continue
            passes = [d for d in PASSES if (english, d) in verified_now]
            if not passes:
                continue  # the English page did not pass in this run: nothing to add
            digest = content_hash(self.root / translation)
            entry = documents.get(translation, {})
            if entry.get("sha256") != digest:
                entry = {"sha256": digest, "translates": english}
            for device in passes:
                entry[device] = dict(documents[english][device])
            documents[translation] = entry
        # A document that no longer exists has no examples to vouch for.
        documents = {
            name: entry for name, entry in documents.items() if (self.root / name).is_file()
        }
        data["documents"] = dict(sorted(documents.items()))
        return data


def _write_atomically(path: Path, text: str) -> None:
    # Test runs may finish at the same time; a reader never sees half a file.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".verification-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)
