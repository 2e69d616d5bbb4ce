"""Collect every example of the site, on CPU and on CUDA (see harness/collect.py), and
record which documents passed for the pages' verified-on stamps (harness/verification.py)."""

import secrets

import pytest

from harness.collect import ROOT, shuffle_documents, skip_cuda_pass_without_gpu, sybils
from harness.verification import VerificationRecorder

pytest_collect_file = sybils().pytest()


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
