"""The test harness that runs every example of the site, on CPU and on CUDA.

It is tooling for this repository, not part of the ``tensorkit`` package: the pages
(`docs/`), the example programs (`snippets/`) and tensorkit's docstrings are collected by
:func:`harness.collect.sybils`, and the site build uses :mod:`harness.page_features`.
"""
