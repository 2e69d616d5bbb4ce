"""The Sybil configuration: which files hold examples, and the cpu and cuda passes.

Every document runs twice, once per pass, in a namespace of its own. The cuda pass is
collected everywhere, so that the counts are the same on every machine, and skipped with
its reason where no GPU is present.
"""

from __future__ import annotations

import random
import unittest
from pathlib import Path

import pytest
from sybil import Document, Example, Sybil
from sybil.sybil import SybilCollection

from harness.devices import cuda_available
from harness.docstrings import DocstringsWithAttributes
from harness.evaluators import FigureEvaluator
from harness.parsers import DocstringSessionParser, ProgramParser, PythonFenceParser
from harness.paths import ROOT as ROOT  # where other modules have always found it
from harness.paths import display_path
from harness.skips import SkipDirectiveParser

PASSES = ("cpu", "cuda")

#: Every file extension mkdocs builds as a page (mkdocs.utils.markdown_extensions).
PAGE_EXTENSIONS = (".md", ".markdown", ".mdown", ".mkdn", ".mkd")

#: Why the cuda pass did not run, shown in pytest's summary of skips.
NO_CUDA_REASON = (
    "cuda pass: torch.cuda.is_available() is False on this machine; "
    "it runs on any machine with a CUDA GPU"
)


#: Translations (``creation.zh.md``) hold their English page's examples, which
#: harness.translations checks line for line: running them again would prove nothing new.
TRANSLATION_PATTERNS = tuple(f"*.zh{extension}" for extension in PAGE_EXTENSIONS)


def pages(device: str, root: Path = ROOT, render_figures: bool = False) -> Sybil:
    """Python fences in every English page under ``docs/``; ``render_figures`` keeps
    figures as SVG."""
    fences = PythonFenceParser(device, root / "snippets", render_figures)
    return Sybil(
        parsers=[SkipDirectiveParser(device), fences],
        path=str(root / "docs"),
        patterns=[f"*{extension}" for extension in PAGE_EXTENSIONS],
        excludes=TRANSLATION_PATTERNS,
        name=device,
    )


def docstrings(device: str, root: Path = ROOT) -> Sybil:
    """``>>>`` sessions in tensorkit's docstrings, attribute docstrings included."""
    return Sybil(
        parsers=[DocstringSessionParser(device)],
        path=str(root / "tensorkit"),
        pattern="*.py",
        document_types={".py": DocstringsWithAttributes},
        name=device,
    )


def snippets(device: str, root: Path = ROOT) -> Sybil:
    """Whole programs in ``snippets/**/*.py``."""
    return Sybil(
        parsers=[ProgramParser(device)],
        path=str(root / "snippets"),
        pattern="*.py",
        # A snippet is a program, not a module whose docstrings hold the examples.
        document_types={".py": Document},
        name=device,
    )


def sybils(root: Path = ROOT) -> SybilCollection:
    """Every example source, once per pass."""
    collection = SybilCollection()
    for device in PASSES:
        collection.extend([pages(device, root), docstrings(device, root), snippets(device, root)])
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
    Any example that fails raises, so a page whose code is broken does not build; the
    error begins with the failing example's ``file:line``.
    """
    sybil = pages("cpu", render_figures=True)
    figure_evaluator = _figure_evaluator(sybil)
    _run_or_raise(sybil, path)
    return sorted(
        (line, figures)
        for (drawn_path, line), figures in figure_evaluator.drawn.items()
        if drawn_path == str(path)
    )


class ExampleFailed(RuntimeError):
    """An example of a page failed while the site built it (its figures, or under
    ``mkdocs serve`` an edit)."""


def example_regions(path: Path, *, up_to_last_figure: bool = False) -> list[str]:
    """The text of each example region of a page (code fences, sessions, skip directives,
    snippet includes), in page order; with ``up_to_last_figure``, up to its last figure
    fence only, or none for a page without one.

    What running the page can depend on within it: the prose between cannot change it.
    """
    sybil = pages("cpu", render_figures=True)
    figure_evaluator = _figure_evaluator(sybil)
    document = sybil.parse(path)
    regions = [region for _, region in document.regions]
    if up_to_last_figure:
        figures = [i for i, region in enumerate(regions) if region.evaluator is figure_evaluator]
        regions = regions[: figures[-1] + 1] if figures else []
    return [document.text[region.start : region.end] for region in regions]


def check_page(path: Path) -> None:
    """Run a page's examples as the cpu pass does; raise `ExampleFailed` at the first failure."""
    _run_or_raise(pages("cpu"), path)


def _run_or_raise(sybil: Sybil, path: Path) -> None:
    """Run every example of ``path``; raise the first failure (not a skip) as `ExampleFailed`,
    its message beginning with the example's ``file:line``."""
    for example, error in run_document(sybil, path):
        if error is not None and not isinstance(error, unittest.SkipTest):
            raise ExampleFailed(f"{display_path(example.path)}:{example.line}: {error}") from error


def _figure_evaluator(sybil: Sybil) -> FigureEvaluator:
    fences = next(parser for parser in sybil.parsers if isinstance(parser, PythonFenceParser))
    figure_evaluator = fences.evaluators["figure"]
    assert isinstance(figure_evaluator, FigureEvaluator)
    return figure_evaluator


def shuffle_documents(items: list[pytest.Item], seed: int) -> None:
    """Run the documents in an order drawn from ``seed``, each one's examples in order.

    Each document starts from a fresh interpreter's state (:mod:`harness.isolation`), so
    any order must pass; a shuffled one proves it. Other tests keep their place before the
    documents, except those marked ``after_documents``, which check what the documents'
    run recorded and so come last.
    """
    documents: dict[pytest.Collector, list[pytest.Item]] = {}
    before: list[pytest.Item] = []
    after: list[pytest.Item] = []
    for item in items:
        if device_of(item) is not None and item.parent is not None:
            documents.setdefault(item.parent, []).append(item)
        elif item.get_closest_marker("after_documents") is not None:
            after.append(item)
        else:
            before.append(item)
    order = list(documents)
    random.Random(seed).shuffle(order)
    items[:] = before + [item for document in order for item in documents[document]] + after
