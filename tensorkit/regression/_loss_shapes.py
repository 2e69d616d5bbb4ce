"""Which losses compare output and targets element by element, and the shape check for them.

An elementwise loss such as ``nn.MSELoss()`` broadcasts its two arguments to a common
shape first, so ``(N,)`` targets against an ``(N, 1)`` output compare every output with
every target and train quietly to a wrong answer: for these losses, another shape is
always a mistake. Only shapes are compared, which the host knows without asking the
device.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

#: Losses that compare output and target element by element, after broadcasting them
#: to a common shape: for these, targets of another shape are always a mistake. Class
#: losses (``nn.CrossEntropyLoss``, ``nn.NLLLoss``) take ``(N,)`` class indices for an
#: ``(N, C)`` output and check shapes themselves; a loss function of your own is
#: trusted to know what it compares.
ELEMENTWISE_LOSSES: tuple[type[nn.Module], ...] = (
    nn.MSELoss,
    nn.L1Loss,
    nn.SmoothL1Loss,
    nn.HuberLoss,
    nn.BCELoss,
    nn.BCEWithLogitsLoss,
    nn.SoftMarginLoss,
    nn.KLDivLoss,
    nn.PoissonNLLLoss,
    nn.HingeEmbeddingLoss,
    nn.MultiLabelSoftMarginLoss,
)
#: The ``torch.nn.functional`` forms of :data:`ELEMENTWISE_LOSSES`.
ELEMENTWISE_FUNCTIONS: frozenset[Callable[..., torch.Tensor]] = frozenset(
    {
        F.mse_loss,
        F.l1_loss,
        F.smooth_l1_loss,
        F.huber_loss,
        F.binary_cross_entropy,
        F.binary_cross_entropy_with_logits,
        F.soft_margin_loss,
        F.kl_div,
        F.poisson_nll_loss,
        F.hinge_embedding_loss,
        F.multilabel_soft_margin_loss,
    }
)


def class_name(cls: type) -> str:
    """How a reader writes the class: ``nn.MSELoss``, ``torch.optim.SGD``, ``MyLoss``."""
    module = cls.__module__
    if module.startswith("torch.nn."):
        return f"nn.{cls.__name__}"
    if module.startswith("torch.optim"):
        return f"torch.optim.{cls.__name__}"
    return cls.__qualname__


def is_elementwise(loss_fn: object) -> bool:
    """Whether ``loss_fn`` is one of torch's elementwise losses (or a partial of one)."""
    while isinstance(loss_fn, functools.partial):
        loss_fn = loss_fn.func
    if isinstance(loss_fn, ELEMENTWISE_LOSSES):
        return True
    try:
        return loss_fn in ELEMENTWISE_FUNCTIONS
    except TypeError:  # an unhashable callable is none of them
        return False


def loss_name(loss_fn: object) -> str:
    while isinstance(loss_fn, functools.partial):
        loss_fn = loss_fn.func
    if isinstance(loss_fn, nn.Module):
        return f"{class_name(type(loss_fn))}()"
    return f"torch.nn.functional.{getattr(loss_fn, '__name__', 'loss')}"


def reshape_hint(output: torch.Size, targets: torch.Size) -> str:
    """How to give the targets the output's shape, or say why they cannot have it."""
    if output.numel() != targets.numel():
        return (
            f"the model gives {output.numel()} values for {targets.numel()} targets: "
            f"give the model one output per target, or targets of shape {tuple(output)}"
        )
    if len(output) == 2 and output[1] == 1 and len(targets) == 1:
        return "reshape the targets before batching: y = y.reshape(-1, 1) (or y.unsqueeze(1))"
    if len(output) == 1 and len(targets) == 2 and targets[1] == 1:
        return "reshape the targets before batching: y = y.reshape(-1) (or y.squeeze(1))"
    sizes = ", ".join(["-1", *(str(size) for size in output[1:])])
    return f"reshape the targets before batching: y = y.reshape({sizes})"


def check_shapes(
    output: object, targets: torch.Tensor, loss_fn: object, epoch: int, batch: int
) -> None:
    """A ValueError if an elementwise loss would broadcast ``output`` against ``targets``.

    Only shapes are compared, which the host knows without asking the device.
    """
    if not isinstance(output, torch.Tensor) or output.shape == targets.shape:
        return
    name = loss_name(loss_fn)
    try:
        common = torch.Size(
            torch.broadcast_shapes(output.shape, targets.shape)  # type: ignore[no-untyped-call]
        )
    except RuntimeError:
        consequence = f"which {name} cannot pair element by element"
    else:
        # (N, 1) against (N,) gives (N, N): more pairs than either has values.
        outer = common.numel() > max(output.numel(), targets.numel())
        pairs = "comparing every output with every target" if outer else "repeating values"
        consequence = f"which {name} would broadcast to {tuple(common)}, {pairs}"
    raise ValueError(
        f"train() argument 'data' must yield targets of the model output's shape for "
        f"{name}, which compares them element by element; in epoch {epoch}, batch {batch} "
        f"the output has shape {tuple(output.shape)} and the targets "
        f"{tuple(targets.shape)}, {consequence}; "
        f"{reshape_hint(output.shape, targets.shape)}"
    )
