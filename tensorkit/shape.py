"""Say whether ``view`` can give a tensor a new shape without copying, and why.

Pages: ``docs/tensors/shape.md``.

A view reuses a tensor's memory and only changes how it is read: one stride per
dimension, the step in memory from one index to the next. A new shape is a view only if
each of its dimensions can be read with one stride. That fails when a new dimension would
run across two of the tensor's dimensions whose elements are not one evenly spaced run in
memory, as after ``transpose``. `explain_view` says which case applies and why;
`view_or_copy` gives the new shape either way and says whether it had to copy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from tensorkit._checks import check_dense, check_tensor, describe_value

__all__ = ["Reshaped", "ViewExplanation", "explain_view", "view_or_copy"]


@dataclass(frozen=True)
class ViewExplanation:
    """What [`explain_view`][tensorkit.shape.explain_view] found.

    Printing it, or its repr in a session, gives ``reason``.

    Attributes:
        possible: Whether ``tensor.view(shape)`` works, sharing the tensor's memory.
        shape: The requested shape, with a ``-1`` replaced by the size it stands for.
        strides: The strides the view has, or ``None`` when no view is possible.
        reason: Why, in one or two sentences.
    """

    possible: bool
    shape: tuple[int, ...]
    strides: tuple[int, ...] | None
    reason: str

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        return self.reason


class Reshaped(NamedTuple):
    """What [`view_or_copy`][tensorkit.shape.view_or_copy] returns; unpacks as a pair.

    Attributes:
        tensor: The tensor with its new shape.
        copied: ``False`` when ``tensor`` is a view sharing the input's memory, ``True``
            when it is a copy.
    """

    tensor: torch.Tensor
    copied: bool


def _resolve_shape(
    shape: object, numel: int, old: tuple[int, ...], function: str
) -> tuple[int, ...]:
    """Check a requested shape as ``view`` would, and replace a ``-1`` by its size."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list, torch.Size)) or not all(
        isinstance(size, numbers.Integral) and not isinstance(size, bool) for size in shape
    ):
        raise TypeError(
            f"{function}() argument 'shape' must be a tuple of ints such as (3, 2) or "
            f"(-1,), got {describe_value(shape)}"
        )
    sizes = tuple(int(size) for size in shape)
    unknown = [i for i, size in enumerate(sizes) if size == -1]
    if len(unknown) > 1 or any(size < -1 for size in sizes):
        raise ValueError(
            f"{function}() argument 'shape' may hold sizes >= 0 and at most one -1, got {sizes}"
        )
    known = math.prod(size for size in sizes if size != -1)
    if unknown:
        if known == 0:
            raise ValueError(
                f"{function}() argument 'shape' {sizes} has a -1 next to a size 0, so the "
                "-1 could stand for any size; write the size instead of -1"
            )
        if numel % known:
            raise ValueError(
                f"{function}() argument 'shape' {sizes} does not fit a tensor of shape "
                f"{old} ({numel} elements): {numel} is not a multiple of {known}"
            )
        sizes = tuple(numel // known if size == -1 else size for size in sizes)
    elif known != numel:
        raise ValueError(
            f"{function}() argument 'shape' {sizes} has {known} elements, but the tensor "
            f"of shape {old} has {numel}; use a shape whose sizes multiply to {numel}"
        )
    return sizes


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides: list[int] = []
    step = 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


class _Failure(NamedTuple):
    """Where a view fails: new dim ``new_d`` would span tensor dims ``first`` and ``first + 1``."""

    new_d: int
    first: int
    needed_stride: int  # the stride dim ``first`` would need for the two to be one run


def _plan(
    old: tuple[int, ...], old_strides: tuple[int, ...], new: tuple[int, ...]
) -> tuple[int, ...] | _Failure:
    """PyTorch's rule for a view (``computeStride`` in ATen's TensorUtils.cpp).

    Returns the view's strides, or where the view fails.
    """
    if not old:
        return tuple(1 for _ in new)  # a scalar: one element, any layout reads it
    if math.prod(old) == 0:
        # No elements: nothing in memory constrains the layout.
        return old_strides if new == old else _contiguous_strides(new)
    strides = [0] * len(new)
    view_d = len(new) - 1
    # The tensor's dims form chunks whose elements are one evenly spaced run; walk them
    # from the last, giving each a run of new dims with the same number of elements.
    base = old_strides[-1]
    tensor_numel = view_numel = 1
    for tensor_d in range(len(old) - 1, -1, -1):
        tensor_numel *= old[tensor_d]
        chunk_ends = tensor_d == 0 or (
            old[tensor_d - 1] != 1 and old_strides[tensor_d - 1] != tensor_numel * base
        )
        if not chunk_ends:
            continue
        while view_d >= 0 and (view_numel < tensor_numel or new[view_d] == 1):
            strides[view_d] = view_numel * base
            view_numel *= new[view_d]
            view_d -= 1
        if view_numel != tensor_numel:
            # The last new dim taken runs on into tensor dim tensor_d - 1.
            return _Failure(view_d + 1, tensor_d - 1, tensor_numel * base)
        if tensor_d > 0:
            base = old_strides[tensor_d - 1]
            tensor_numel = view_numel = 1
    return tuple(strides)


def explain_view(tensor: torch.Tensor, shape: Sequence[int] | int) -> ViewExplanation:
    """Say whether ``tensor.view(shape)`` is possible without copying, and why.

    Follows PyTorch's own rule, so ``possible`` is exactly whether ``view`` succeeds, and
    ``strides`` are the strides the view gets.

    Args:
        tensor: A dense tensor.
        shape: The new shape, as ``view`` takes it: a tuple of sizes, one of which may be
            ``-1``; its sizes must multiply to ``tensor.numel()``.

    Returns:
        Whether a view is possible, its strides, and the reason.

    Raises:
        TypeError: If ``tensor`` is not a tensor, or ``shape`` is not a tuple of ints.
        ValueError: If ``tensor`` is sparse, or ``shape`` does not fit the tensor's number
            of elements.

    Examples:
        >>> import torch
        >>> from tensorkit.shape import explain_view
        >>> x = torch.arange(6).reshape(2, 3)
        >>> explain_view(x, (3, 2))
        a view: the tensor is contiguous, so any shape of 6 elements views it
        >>> explain_view(x.t(), (6,))
        not a view: new dim 0 (size 6) would span dims 0 and 1 of the tensor,
        but dim 0 has stride 1, not the 6 that one evenly spaced run needs
    """
    return _explain(tensor, shape, "explain_view")


def _explain(tensor: object, shape: object, function: str) -> ViewExplanation:
    """explain_view's work, with errors that name ``function``, the one the reader called."""
    tensor = check_tensor("tensor", tensor, function)
    check_dense("tensor", tensor, function, why="sparse tensors have no strides to view")
    old = tuple(tensor.shape)
    new = _resolve_shape(shape, tensor.numel(), old, function)
    old_strides = tuple(tensor.stride())
    plan = _plan(old, old_strides, new)
    if isinstance(plan, _Failure):
        first = plan.first
        reason = (
            f"not a view: new dim {plan.new_d} (size {new[plan.new_d]}) would span dims "
            f"{first} and {first + 1} of the tensor,\nbut dim {first} has stride "
            f"{old_strides[first]}, not the {plan.needed_stride} that one evenly spaced "
            "run needs"
        )
        return ViewExplanation(False, new, None, reason)
    if tensor.is_contiguous():
        reason = (
            f"a view: the tensor is contiguous, so any shape of {tensor.numel()} elements views it"
        )
    else:
        reason = (
            f"a view with strides {plan}: each new dim lies within dims of the tensor\n"
            "whose elements are evenly spaced in memory"
        )
    return ViewExplanation(True, new, plan, reason)


def view_or_copy(tensor: torch.Tensor, shape: Sequence[int] | int) -> Reshaped:
    """Give a tensor a new shape: a view when possible, else a copy, and say which.

    This is what ``tensor.reshape(shape)`` does, except that it tells you whether the
    result shares the input's memory; with ``reshape`` you cannot know whether writing
    to the result changes the input.

    Args:
        tensor: A dense tensor.
        shape: The new shape, as ``view`` and ``reshape`` take it; one size may be ``-1``.

    Returns:
        The reshaped tensor and whether it is a copy.

    Raises:
        TypeError: If ``tensor`` is not a tensor, or ``shape`` is not a tuple of ints.
        ValueError: If ``tensor`` is sparse, or ``shape`` does not fit the tensor's number
            of elements.

    Examples:
        >>> import torch
        >>> from tensorkit.shape import view_or_copy
        >>> x = torch.arange(6).reshape(2, 3)
        >>> view_or_copy(x, (3, 2)).copied
        False
        >>> flat, copied = view_or_copy(x.t(), (-1,))
        >>> flat, copied
        (tensor([0, 3, 1, 4, 2, 5]), True)
    """
    explanation = _explain(tensor, shape, "view_or_copy")
    if explanation.possible:
        return Reshaped(tensor.view(explanation.shape), False)
    # contiguous() copies into row-major order, which any shape can then view.
    return Reshaped(tensor.contiguous().view(explanation.shape), True)
