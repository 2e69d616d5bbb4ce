"""Each translation as a test item: ``docs/<page>.zh.md::same examples as docs/<page>.md``.

A translation is verified without running it, by keeping its English page's examples
line for line (:func:`harness.translations.check`). The item runs that check in the same
test run as the English page's examples, and :mod:`harness.verification` records the
translation as verified in a pass only when both passed in the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from harness.paths import ROOT
from harness.translations import TranslationError, check, english_page, is_translation

#: The name of a translation's item, after ``<file>::``.
ITEM_PREFIX = "same examples as "


class TranslationItem(pytest.Item):
    """Checks that one translation keeps its English page's examples and anchors."""

    def runtest(self) -> None:
        check(self.path, ROOT)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, TranslationError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


class TranslationFile(pytest.File):
    """A translation under ``docs/``: one item."""

    def collect(self) -> Iterable[TranslationItem]:
        english = english_page(self.path).relative_to(ROOT).as_posix()
        yield TranslationItem.from_parent(self, name=f"{ITEM_PREFIX}{english}")


def collect_translation(file_path: Path, parent: pytest.Collector) -> TranslationFile | None:
    """A ``pytest_collect_file`` hook: a translation under ``docs/`` is a file to check."""
    if is_translation(file_path) and ROOT / "docs" in file_path.parents:
        return TranslationFile.from_parent(parent, path=file_path)
    return None
