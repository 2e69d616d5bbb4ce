"""Collect every example of the site, on CPU and on CUDA (see harness/collect.py), each
translation's check that it keeps its English page's examples (harness/translation_items.py),
and record which documents passed for the pages' verified-on stamps
(harness/verification.py)."""

import secrets
from pathlib import Path

import pytest

from harness.collect import ROOT, shuffle_documents, skip_cuda_pass_without_gpu, sybils
from harness.translation_items import collect_translation
from harness.verification import VerificationRecorder

_collect_examples = sybils().pytest()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    return _collect_examples(file_path, parent) or collect_translation(file_path, parent)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--document-order",
        type=int,
        default=None,
        metavar="SEED",
        help="seed of the shuffled order the documents run in (default: a new one each run)",
    )


def pytest_configure(config: pytest.Config) -> None:
    recorder = VerificationRecorder(ROOT, ROOT / "verification.json")
    config.pluginmanager.register(recorder, "verification-record")
    if config.getoption("document_order") is None:
        config.option.document_order = secrets.randbelow(2**32)


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.getoption("document_order")
    return f"documents run in shuffled order: --document-order={seed} repeats it"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_cuda_pass_without_gpu(items)
    shuffle_documents(items, config.getoption("document_order"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List every translation behind its English page: readers are told so on the page,
    and `make translations` shows translators what changed."""
    from harness.translations import TranslationError, is_behind, translations

    behind = []
    for translation in translations(ROOT):
        try:
            if is_behind(translation, ROOT):
                behind.append(str(translation.relative_to(ROOT)))
        except TranslationError:
            continue  # its own item fails, naming the file and line
    if behind:
        terminalreporter.section("translations behind their English page")
        for name in behind:
            terminalreporter.write_line(f"{name}: `make translations` shows the English diff")
