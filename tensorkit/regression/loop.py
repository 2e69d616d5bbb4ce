"""The training loop every page writes by hand, once, with its mistakes taken out.

Each step zeroes the gradients before ``backward()`` (forgetting it adds every old
gradient to the new one), and each epoch's loss is averaged over that epoch's samples
only (a running total that is never reset mixes in every earlier epoch). Three more
mistakes are caught rather than trained through:

* targets of another shape than the output, which an elementwise loss such as
  ``nn.MSELoss()`` would broadcast (``(N,)`` targets against an ``(N, 1)`` output
  compare every output with every target) are refused before the first step;
* a batch holding NaN or infinite values, and a loss that becomes NaN or infinite (the
  run diverged), raise an error naming the epoch and the batch;
* whenever ``train`` raises, it first puts the model and the optimizer back as they
  were when it was called, so no error leaves NaN or half-trained weights behind.

How the second is checked without slowing a GPU down: reading a loss on the host
(``loss.item()``) makes the host wait until the device has finished every step queued
so far, and doing that after every step would stall the GPU once per step. So each step
only *records* its loss, still on the device, and, for data not already checked by
``batches()``, a 0-d "probe" of its inputs and targets that is finite exactly when they
are: nothing waits. The end of each epoch, which needs the epoch's loss on the host
anyway, copies all of the epoch's records to the host in one transfer and looks for
the first bad one. A bad step has by then been followed by the rest of the epoch's
steps, all of them spoiled too, which costs nothing but time: the model and the
optimizer are put back as they were before the call, and the error names the first
bad batch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from tensorkit._checks import check_positive_int, describe_value
from tensorkit.regression._epoch_log import EpochLog, close_epoch, diagnose
from tensorkit.regression._loss_shapes import check_shapes, class_name, is_elementwise
from tensorkit.regression._progress import ProgressBar, epoch_bar, tqdm_installed
from tensorkit.regression._snapshot import Snapshot, updated_tensors
from tensorkit.regression.minibatch import Batches

#: A progress bar appears only when an automatic one would be shown at all (a terminal)
#: and the run has already taken this many seconds: short runs print nothing.
PROGRESS_DELAY_S = 2.0
LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --- Arguments -------------------------------------------------------------------------


def _refuse_classes(model: object, loss_fn: object, optimizer: object) -> None:
    """A TypeError for a class passed where an instance belongs: ``nn.MSELoss`` for
    ``nn.MSELoss()``. A loss class is callable, so it would get through the callable
    check and fail deep inside torch."""
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise TypeError(
            f"train() argument 'model' must be a torch.nn.Module instance, got the class "
            f"{class_name(model)} itself; create the model first, e.g. "
            f"model = {class_name(model)}(...), and pass model"
        )
    if isinstance(loss_fn, type):
        raise TypeError(
            f"train() argument 'loss_fn' must be a loss function or an instance of a loss "
            f"class, got the class {class_name(loss_fn)} itself; write "
            f"{class_name(loss_fn)}(), with the parentheses"
        )
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"train() argument 'optimizer' must be a torch.optim.Optimizer instance, got "
            f"the class {class_name(optimizer)} itself; create it from the model's "
            f"parameters, e.g. {class_name(optimizer)}(model.parameters(), lr=0.03)"
        )


def _check_arguments(
    model: object, loss_fn: object, optimizer: object, data: object, progress: object
) -> None:
    function = "train"
    _refuse_classes(model, loss_fn, optimizer)
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
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(
            f"{function}() argument 'progress' must be True, False or None, got "
            f"{describe_value(progress)}"
        )
    if any(is_lazy(t) for t in [*model.parameters(), *model.buffers()]):
        raise ValueError(
            f"{function}() argument 'model' has parameters that are not initialised yet "
            "(a lazy module such as nn.LazyLinear), which train() cannot copy to put back "
            "on an error; pass one batch through it first, e.g. model(X[:1])"
        )
    owned = {id(parameter) for parameter in model.parameters()}
    if not any(id(parameter) in owned for parameter in updated_tensors(optimizer)):
        raise ValueError(
            f"{function}() argument 'optimizer' updates none of the model's parameters; "
            "create it from this model, e.g. torch.optim.SGD(model.parameters(), lr=0.03)"
        )
    if progress is True and not tqdm_installed():
        raise ModuleNotFoundError(
            f"{function}() argument 'progress' is True, but tqdm, which draws the bar, is "
            "not installed: pip install tqdm, or pass progress=None to train without a bar"
        )


# --- One step --------------------------------------------------------------------------


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
    if batch[0].ndim == 0:
        raise TypeError(
            "train() argument 'data' must yield inputs with samples along their first "
            f"dimension; in epoch {epoch} it yielded 0-d inputs"
        )
    return batch[0], batch[1]


def _check_loss(loss: object) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise TypeError(
            "train() argument 'loss_fn' must return a 0-d tensor (the batch's mean loss), "
            f"got {describe_value(loss)}"
        )
    return loss


def _run_epoch(
    model: nn.Module,
    loss_fn: LossFunction,
    optimizer: torch.optim.Optimizer,
    data: Iterable[tuple[torch.Tensor, torch.Tensor]],
    epoch: int,
) -> float:
    elementwise = is_elementwise(loss_fn)
    log = EpochLog(probes=not isinstance(data, Batches))
    try:
        for batch in data:
            inputs, targets = _pair(batch, epoch)
            optimizer.zero_grad()
            output = model(inputs)
            if elementwise:
                check_shapes(output, targets, loss_fn, epoch, len(log.sizes) + 1)
            loss = _check_loss(loss_fn(output, targets))
            # Recorded before the step, read at the epoch's end (see the module's notes).
            log.record(loss, inputs, targets)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
            optimizer.step()
    except Exception as error:
        # A model that fails on the NaN weights an earlier bad step left would hide the
        # cause: name that step instead, if there is one.
        if log.sizes:
            records, _ = log.read([])
            cause = diagnose(log, records, data, epoch)
            if cause is not None:
                raise cause from error
        raise
    return close_epoch(log, updated_tensors(optimizer), data, epoch)


def train(
    model: nn.Module,
    loss_fn: LossFunction,
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

    Mistakes are caught, not trained through:

    * With one of torch's elementwise losses (``nn.MSELoss``, ``nn.L1Loss``,
      ``nn.BCELoss``, ``nn.BCEWithLogitsLoss`` and the like, or their
      ``torch.nn.functional`` forms), targets must have the output's shape: ``(N,)``
      targets for an ``(N, 1)`` output would broadcast to ``(N, N)``. This is checked
      before the first step. Class losses (``nn.CrossEntropyLoss`` with ``(N, C)``
      output and ``(N,)`` labels) and loss functions of your own are not.
    * A batch holding NaN or infinite values, or a loss that becomes NaN or infinite,
      is an error naming the epoch and the batch. The check runs on the device and is
      read once an epoch, so a GPU is never made to wait at each step; a bad step is
      therefore found at the end of its epoch. Data from
      [`batches`][tensorkit.regression.batches] were checked when it was made, so
      its steps check only the loss.
    * Whenever ``train`` raises, it first puts the model (parameters, buffers,
      gradients, training modes) and the optimizer's state back as they were when it
      was called; the error carries a note saying so. For that it keeps a copy of
      them, as much memory again as the model's parameters, buffers and optimizer
      state. Interrupting it (Ctrl-C, ``KeyboardInterrupt``) keeps what was trained
      so far.

    Args:
        model: The model to train, an instance (``nn.Linear(2, 1)``, not ``nn.Linear``);
            it is put in training mode.
        loss_fn: Takes the model's output and the targets, returns the mean loss of the
            batch as a 0-d tensor, as ``nn.MSELoss()`` does (an instance, not the class).
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
        TypeError: If an argument has the wrong type (a class such as ``nn.MSELoss``
            where an instance belongs, too), ``data`` yields something other than pairs
            of tensors, or ``loss_fn`` returns something other than a 0-d tensor.
        ValueError: If ``epochs`` is below 1, the optimizer updates none of the model's
            parameters, an epoch has no batches, the targets' shape differs from the
            output's for an elementwise loss, or a batch holds NaN or infinite values.
        FloatingPointError: If the loss (or a parameter) becomes NaN or infinite on
            finite data: the run diverged, typically because the learning rate is too
            large.
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

        Targets of shape ``(N,)`` for an output of shape ``(N, 1)`` are refused before
        the first step, and the model is left as it was:

        >>> before = model.weight.clone()
        >>> try:
        ...     train(model, nn.MSELoss(), optimizer, batches(X, y[:, 0], 10))
        ... except ValueError as error:
        ...     print(str(error).split(";")[-1])
         reshape the targets before batching: y = y.reshape(-1, 1) (or y.unsqueeze(1))
        >>> torch.equal(model.weight, before)
        True
    """
    _check_arguments(model, loss_fn, optimizer, data, progress)
    epochs = check_positive_int("epochs", epochs, "train")
    snapshot = Snapshot(model, optimizer)
    automatic = progress is None
    show = sys.stderr.isatty() if progress is None else progress
    bar = epoch_bar(epochs, show=show, delay=PROGRESS_DELAY_S if automatic else 0.0)
    try:
        return _train(model, loss_fn, optimizer, data, bar)
    except Exception as error:
        snapshot.restore()
        error.add_note("train() put the model and the optimizer back as they were before the call")
        raise
    finally:
        bar.close()


def _train(
    model: nn.Module,
    loss_fn: LossFunction,
    optimizer: torch.optim.Optimizer,
    data: Iterable[tuple[torch.Tensor, torch.Tensor]],
    bar: ProgressBar,
) -> list[float]:
    model.train()
    history: list[float] = []
    for epoch in bar:
        history.append(_run_epoch(model, loss_fn, optimizer, data, epoch))
        bar.set_postfix(loss=f"{history[-1]:.4g}", refresh=False)
    return history
