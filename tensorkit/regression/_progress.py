"""The training loop's progress bar: drawn by tqdm when it is installed, else none.

tqdm is an optional dependency (``pip install "pytorch-fundamentals-tensorkit[progress]"``):
the loop must train the same without it, so only the bar depends on it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any, Protocol


class ProgressBar(Protocol):
    """What the training loop asks of a bar: the epochs to loop over, a postfix, close."""

    def __iter__(self) -> Iterator[int]: ...

    def set_postfix(self, *, refresh: bool = ..., **values: Any) -> None: ...

    def close(self) -> None: ...


class NoBar:
    """The epochs, with nothing drawn: what the loop uses when no bar is shown."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def __iter__(self) -> Iterator[int]:
        return iter(range(1, self.epochs + 1))

    def set_postfix(self, *, refresh: bool = True, **values: Any) -> None:
        del refresh, values  # nothing is drawn, so there is nothing to update

    def close(self) -> None:
        pass


def tqdm_installed() -> bool:
    return importlib.util.find_spec("tqdm") is not None


def epoch_bar(epochs: int, *, show: bool, delay: float) -> ProgressBar:
    """A bar over epochs 1..``epochs``; drawn only if ``show`` and tqdm is installed."""
    if not show or not tqdm_installed():
        return NoBar(epochs)
    from tqdm.auto import tqdm  # type: ignore[import-untyped]  # tqdm ships no type hints

    bar: ProgressBar = tqdm(
        range(1, epochs + 1), desc="train", unit="epoch", delay=delay, leave=False
    )
    return bar
