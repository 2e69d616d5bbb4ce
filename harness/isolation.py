"""Each document runs as in a fresh interpreter, and shows everything its code writes.

A reader pastes a page into a new Python session. So the examples of one document share
their state, as a reader's session does, and start from the state a fresh interpreter
has, whatever ran before: torch and NumPy print options, the random generators, the
default dtype and device, grad mode, warning filters and matplotlib's settings. This also
holds between the two passes of one file, which pytest runs back to back.

Around every example, :func:`run_example` also checks what a page cannot show:

* a warning a fresh interpreter would print, or anything written to stderr, fails the
  example, since the page shows only what its output says;
* a random draw made before the document seeded torch's generator fails, naming the
  file and line, every time: the generator starts from an unpredictable seed, and the
  draw is found from the generator's own state, not by luck of the numbers.
"""

from __future__ import annotations

import contextlib
import io
import random
import secrets
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from sybil import Document, Example

from harness import executed
from harness.paths import display_path

#: NumPy's print options as the harness found them, before any document ran.
_FRESH_NUMPY_PRINT = np.get_printoptions()


def _fresh_warning_filters() -> list[Any]:
    # The filters Python starts with (outside development mode): only DeprecationWarnings
    # raised by code in __main__ are shown, which is where a page's code runs.
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
            warnings.filterwarnings("ignore", category=category, append=True)
        warnings.filterwarnings("ignore", category=ResourceWarning, append=True)
        return list(warnings.filters)


_FRESH_WARNING_FILTERS = _fresh_warning_filters()


@dataclass
class DocumentState:
    """What one document carries from example to example, beyond its namespace."""

    #: The seed the document's generator started from, and the state it gave: a draw
    #: leaves the seed in place and moves the state; ``torch.manual_seed`` changes both.
    start_seed: int
    start_state: torch.Tensor
    warning_filters: list[Any] = field(default_factory=lambda: list(_FRESH_WARNING_FILTERS))
    #: An unseeded draw is reported once, at the example that made it.
    reported_unseeded: bool = False

    def drew_unseeded(self) -> bool:
        """Tell whether torch's generator was used without the document seeding it."""
        return torch.initial_seed() == self.start_seed and not torch.equal(
            torch.get_rng_state(), self.start_state
        )


_STATES: weakref.WeakKeyDictionary[Document, DocumentState] = weakref.WeakKeyDictionary()


def fresh_interpreter_state() -> DocumentState:
    """Reset what a document may change, as a new interpreter has it; start its generators.

    Returns the state the document then carries. The seeds are unpredictable, so an
    output that depends on an unseeded draw cannot match by luck either.
    """
    seed = secrets.randbits(63)
    torch.manual_seed(seed)
    np.random.seed(secrets.randbits(32))
    random.seed(secrets.randbits(64))
    torch.set_default_dtype(torch.float32)
    torch.set_default_device(None)
    torch.set_printoptions(profile="default")  # type: ignore[no-untyped-call]  # torch leaves it unannotated
    torch.set_grad_enabled(True)
    torch.autograd.set_detect_anomaly(False)
    if torch.are_deterministic_algorithms_enabled():
        # Only when set: the call imports torch._dynamo, seconds per process.
        torch.use_deterministic_algorithms(False)
    torch.set_warn_always(False)
    np.set_printoptions(**_FRESH_NUMPY_PRINT)
    plt.close("all")
    matplotlib.rc_file_defaults()
    return DocumentState(seed, torch.get_rng_state())


def state_of(document: Document) -> DocumentState:
    """The document's state; the first call, at its first example, resets the interpreter."""
    state = _STATES.get(document)
    if state is None:
        state = fresh_interpreter_state()
        document.namespace["__name__"] = "__main__"
        _STATES[document] = state
    return state


def _where(example: Example) -> str:
    return f"{display_path(example.path)}:{example.line}"


def unseeded_draw(document: Document, where: str) -> str | None:
    """The report of a draw made before ``document`` seeded torch, the first time; or None.

    Checked after each example, and after each statement of a session, so that the
    report names the line that drew.
    """
    state = state_of(document)
    if state.reported_unseeded or not state.drew_unseeded():
        return None
    state.reported_unseeded = True
    return (
        f"{where}: this example draws random numbers before the page seeds torch's "
        "generator, so what it prints changes from run to run. Call torch.manual_seed(0) "
        "(any seed) first, or pass generator=torch.Generator().manual_seed(0)."
    )


def run_example(
    example: Example, device: str, evaluate: Callable[[Example], str | None]
) -> str | None:
    """Evaluate one example in its document's state; report what the page cannot show.

    Returns the evaluator's report, with any warning, stderr output or unseeded draw
    added to it, or None when the example printed exactly what the page shows.
    """
    state = state_of(example.document)
    problems: list[str] = []
    stderr = io.StringIO()
    report: str | None = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            # The document's own filters, kept across its examples as a session keeps them.
            warnings.resetwarnings()
            filters: list[Any] = warnings.filters  # type: ignore[assignment]  # a list at run time
            filters.extend(state.warning_filters)
            try:
                with contextlib.redirect_stderr(stderr):
                    report = evaluate(example)
            finally:
                state.warning_filters = list(warnings.filters)
    except BaseException:
        executed.record(example, device, passed=False)
        raise
    where = _where(example)
    for warning in caught:
        problems.append(
            f"{where}: the code raised a warning the page does not show "
            f"({warning.filename}:{warning.lineno}): {warning.category.__name__}: "
            f"{warning.message}\nShow it (catch it with warnings.catch_warnings(record=True) "
            "and print it) or change the code so that it does not warn."
        )
    if stderr.getvalue():
        problems.append(
            f"{where}: the code wrote to stderr, which the page does not show:\n"
            f"{stderr.getvalue()}"
        )
    if unseeded := unseeded_draw(example.document, where):
        problems.append(unseeded)
    if problems:
        report = "\n".join([report, *problems] if report else problems)
    executed.record(example, device, passed=report is None)
    return report
