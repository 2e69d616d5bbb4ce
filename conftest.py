"""Collect every example of the site, on CPU and on CUDA (see harness/collect.py)."""

import pytest

from harness.collect import skip_cuda_pass_without_gpu, sybils

pytest_collect_file = sybils().pytest()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_cuda_pass_without_gpu(items)
