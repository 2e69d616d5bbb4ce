"""The training loop every page writes by hand, once, with its mistakes taken out.

Each step zeroes the gradients before ``backward()`` (forgetting it adds every old
gradient to the new one), and each epoch's loss is averaged over that epoch's samples
only (a running total that is never reset mixes in every earlier epoch).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable

import torch
from torch import nn

from tensorkit._checks import check_positive_int, describe_value
from tensorkit.regression._progress import epoch_bar, tqdm_installed

#: A progress bar appears only when an automatic one would be shown at all (a terminal)
#: and the run has already taken this many seconds: short runs print nothing.
PROGRESS_DELAY_S = 2.0


def _pair(batch: object, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
    if (
        not isinstance(batch, (tuple, list))
        or len(batch) != 2
        or not all(isinstance(part, torch.Tensor) for part in batch)
    ):
        raise TypeError(
            "train() argument 'data' must yield (inputs, targets) pairs of tensors, as "
            f"batches(X, y, ...) and DataLoader(TensorDataset(X, y)) do; in epoch {epoch} "
            f"it yielded {describe_value(batch)}"
        )
    return batch[0], batch[1]


def _not_finite(batch: tuple[torch.Tensor, torch.Tensor]) -> bool:
    return any(part.is_floating_point() and not bool(torch.isfinite(part).all()) for part in batch)


def train(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    data: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    epochs: int = 1,
    progress: bool | None = None,
) -> list[float]:
    """Train ``model`` for ``epochs`` passes over ``data``; return the loss of each epoch.

    One step is the five lines every training loop has: ``optimizer.zero_grad()``, the
    forward pass, ``loss = loss_fn(model(inputs), targets)``, ``loss.backward()`` and
    ``optimizer.step()``. An epoch's loss is the mean of its batches' losses, weighted
    by their sizes, as measured while the epoch ran.

    Args:
        model: The model to train; it is put in training mode.
        loss_fn: Takes the model's output and the targets, returns the mean loss of the
            batch as a 0-d tensor, as ``nn.MSELoss()`` does.
        optimizer: Updates some of the model's parameters. Optimizers that need a
            closure, such as ``LBFGS``, are not supported.
        data: The batches: an iterable of ``(inputs, targets)`` that can be looped over
            once per epoch, such as [`batches`][tensorkit.regression.batches] or a
            ``DataLoader``.
        epochs: Passes over ``data``, at least 1.
        progress: Show a progress bar: ``True`` always, ``False`` never, ``None`` (the
            default) only when the standard error is a terminal and the run has taken
            more than two seconds, so short runs, doctests and logs stay clean. The bar
            is drawn by tqdm, an optional dependency: without it ``None`` shows none.

    Returns:
        The mean training loss of each epoch, as floats.

    Raises:
        TypeError: If an argument has the wrong type, ``data`` yields something other
            than pairs of tensors, or ``loss_fn`` returns something other than a 0-d
            tensor.
        ValueError: If ``epochs`` is below 1, the optimizer updates none of the model's
            parameters, an epoch has no batches, or a batch holds NaN or infinite values.
        FloatingPointError: If the loss becomes NaN or infinite on finite data: the run
            diverged, typically because the learning rate is too large.
        ModuleNotFoundError: If ``progress`` is ``True`` and tqdm is not installed.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from tensorkit.regression import batches, synthetic_linear, train
        >>> X, y = synthetic_linear(1000, [2.0, -3.4], 4.2, seed=0)
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Linear(2, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.03)
        >>> history = train(model, nn.MSELoss(), optimizer, batches(X, y, 10), epochs=3)
        >>> [f"{loss:.3g}" for loss in history]
        ['3.57', '0.000115', '0.000102']
    """
    function = "train"
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"{function}() argument 'model' must be a torch.nn.Module, got {describe_value(model)}"
        )
    if not callable(loss_fn):
        raise TypeError(
            f"{function}() argument 'loss_fn' must be callable, such as nn.MSELoss(), got "
            f"{describe_value(loss_fn)}"
        )
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"{function}() argument 'optimizer' must be a torch.optim.Optimizer, got "
            f"{describe_value(optimizer)}"
        )
    if isinstance(optimizer, torch.optim.LBFGS):
        raise TypeError(
            f"{function}() argument 'optimizer' is LBFGS, whose step() needs a closure; "
            "write that loop by hand, or use fit_logistic or fit_linear"
        )
    if isinstance(data, torch.Tensor) or not isinstance(data, Iterable):
        raise TypeError(
            f"{function}() argument 'data' must be an iterable of (inputs, targets) "
            f"batches, such as batches(X, y, 64), got {describe_value(data)}"
        )
    epochs = check_positive_int("epochs", epochs, function)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(
            f"{function}() argument 'progress' must be True, False or None, got "
            f"{describe_value(progress)}"
        )
    owned = {id(parameter) for parameter in model.parameters()}
    updated = [p for group in optimizer.param_groups for p in group["params"]]
    if not any(id(parameter) in owned for parameter in updated):
        raise ValueError(
            f"{function}() argument 'optimizer' updates none of the model's parameters; "
            "create it from this model, e.g. torch.optim.SGD(model.parameters(), lr=0.03)"
        )

    if progress is True and not tqdm_installed():
        raise ModuleNotFoundError(
            f"{function}() argument 'progress' is True, but tqdm, which draws the bar, is "
            "not installed: pip install tqdm, or pass progress=None to train without a bar"
        )
    automatic = progress is None
    show = sys.stderr.isatty() if progress is None else progress
    bar = epoch_bar(epochs, show=show, delay=PROGRESS_DELAY_S if automatic else 0.0)
    model.train()
    history: list[float] = []
    try:
        for epoch in bar:
            total, count = 0.0, 0
            for batch in data:
                inputs, targets = _pair(batch, epoch)
                optimizer.zero_grad()
                loss = loss_fn(model(inputs), targets)
                if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
                    raise TypeError(
                        f"{function}() argument 'loss_fn' must return a 0-d tensor (the "
                        f"batch's mean loss), got {describe_value(loss)}"
                    )
                loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
                optimizer.step()
                value = loss.item()
                if not math.isfinite(value):
                    if _not_finite((inputs, targets)):
                        raise ValueError(
                            f"{function}() argument 'data' yielded a batch holding NaN or "
                            f"infinite values in epoch {epoch}; clean the data first"
                        )
                    raise FloatingPointError(
                        f"{function}(): the loss became {value} in epoch {epoch}: training "
                        "diverged; lower the optimizer's learning rate"
                    )
                size = len(inputs)
                total += value * size
                count += size
            if count == 0:
                raise ValueError(
                    f"{function}() argument 'data' gave no batches in epoch {epoch}; pass "
                    "something that can be iterated once per epoch, such as batches(X, y, "
                    "64) or a DataLoader, not a generator"
                )
            history.append(total / count)
            bar.set_postfix(loss=f"{history[-1]:.4g}", refresh=False)
    finally:
        bar.close()
    return history
