"""The Sybil configuration: which files hold examples, and the cpu and cuda passes.

Every document runs twice, once per pass, in a namespace of its own. The cuda pass is
collected everywhere, so that the counts are the same on every machine, and skipped with
its reason where no GPU is present.
"""

from __future__ import annotations

import unittest
from pathlib import Path
from typing import Any

import pytest
import torch
from sybil import Document, Example, Sybil
from sybil.sybil import SybilCollection

from harness.devices import cuda_available
from harness.evaluators import FigureEvaluator
from harness.parsers import (
    DocstringSessionParser,
    ProgramParser,
    PythonFenceParser,
    ReasonedSkipParser,
)

ROOT = Path(__file__).resolve().parent.parent
PASSES = ("cpu", "cuda")

#: Why the cuda pass did not run, shown in pytest's summary of skips.
NO_CUDA_REASON = (
    "cuda pass: torch.cuda.is_available() is False on this machine; "
    "it runs on any machine with a CUDA GPU"
)


def reset_state(namespace: dict[str, Any]) -> None:
    """Start each document as a fresh interpreter would, whatever ran before it.

    The random generators get an unpredictable seed: an example that prints random numbers
    without seeding them itself then fails every time, instead of passing by luck of the
    order in which documents ran.
    """
    torch.seed()
    torch.set_default_dtype(torch.float32)
    torch.set_printoptions(profile="default")  # type: ignore[no-untyped-call]  # torch leaves it unannotated
    torch.set_grad_enabled(True)
    torch.set_warn_always(False)
    namespace["__name__"] = "__main__"


def pages(device: str, root: Path = ROOT, render_figures: bool = False) -> Sybil:
    """Python fences in ``docs/**/*.md``; ``render_figures`` keeps figures as SVG."""
    fences = PythonFenceParser(device, root / "snippets", render_figures)
    return Sybil(
        parsers=[ReasonedSkipParser(device), fences],
        path=str(root / "docs"),
        pattern="*.md",
        setup=reset_state,
        name=device,
    )


def docstrings(device: str, root: Path = ROOT) -> Sybil:
    """``>>>`` sessions in tensorkit's docstrings."""
    return Sybil(
        parsers=[DocstringSessionParser(device)],
        path=str(root / "tensorkit"),
        pattern="*.py",
        setup=reset_state,
        name=device,
    )


def snippets(device: str, root: Path = ROOT) -> Sybil:
    """Whole programs in ``snippets/**/*.py``."""
    return Sybil(
        parsers=[ProgramParser(device)],
        path=str(root / "snippets"),
        pattern="*.py",
        setup=reset_state,
        # A snippet is a program, not a module whose docstrings hold the examples.
        document_types={".py": Document},
        name=device,
    )


def sybils() -> SybilCollection:
    """Every example source, once per pass."""
    collection = SybilCollection()
    for device in PASSES:
        collection.extend([pages(device), docstrings(device), snippets(device)])
    return collection


def device_of(item: pytest.Item) -> str | None:
    """The pass a collected Sybil example belongs to, or None for an ordinary test."""
    for device in PASSES:
        if item.name.startswith(f"sybil:{device},"):
            return device
    return None


def skip_cuda_pass_without_gpu(items: list[pytest.Item]) -> None:
    """Mark the cuda pass skipped, with its reason, when there is no GPU to run it on."""
    if cuda_available():
        return
    for item in items:
        if device_of(item) == "cuda":
            item.add_marker(pytest.mark.skip(reason=NO_CUDA_REASON))


def run_document(sybil: Sybil, path: Path) -> list[tuple[Example, BaseException | None]]:
    """Run every example of one file as pytest would, without pytest.

    Returns each example with the exception it raised (a failure, an error or a skip),
    or None when it passed. Used by the tests that prove the harness catches mistakes.
    """
    document = sybil.parse(path)
    if sybil.setup is not None:
        sybil.setup(document.namespace)
    outcomes: list[tuple[Example, BaseException | None]] = []
    for example in document.examples():
        try:
            example.evaluate()
        except (Exception, unittest.SkipTest) as error:
            outcomes.append((example, error))
        else:
            outcomes.append((example, None))
    return outcomes


def draw_page_figures(path: Path) -> list[tuple[int, list[str]]]:
    """Run a page's examples as the cpu pass does; return each figure fence's pictures.

    The result lists, in page order, each figure fence's line and its figures as SVG.
    Any example that fails raises, so a page whose code is broken does not build.
    """
    sybil = pages("cpu", render_figures=True)
    fences = next(parser for parser in sybil.parsers if isinstance(parser, PythonFenceParser))
    figure_evaluator = fences.evaluators["figure"]
    assert isinstance(figure_evaluator, FigureEvaluator)
    for example, error in run_document(sybil, path):
        if error is not None and not isinstance(error, unittest.SkipTest):
            raise RuntimeError(f"{example.path}:{example.line}: {error}") from error
    return sorted(
        (line, figures)
        for (drawn_path, line), figures in figure_evaluator.drawn.items()
        if drawn_path == str(path)
    )
