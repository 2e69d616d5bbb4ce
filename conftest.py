"""Collect every example of the site, on CPU and on CUDA (see harness/collect.py), and
record which documents passed for the pages' verified-on stamps (harness/verification.py)."""

import pytest

from harness.collect import ROOT, skip_cuda_pass_without_gpu, sybils
from harness.verification import VerificationRecorder

pytest_collect_file = sybils().pytest()


def pytest_configure(config: pytest.Config) -> None:
    recorder = VerificationRecorder(ROOT, ROOT / "verification.json")
    config.pluginmanager.register(recorder, "verification-record")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_cuda_pass_without_gpu(items)
