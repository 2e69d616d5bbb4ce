"""Make random tensors that reproduce on every device, and describe a tensor in one line.

Pages: ``docs/tensors/creation.md``.

``torch.manual_seed(0)`` seeds the CPU generator and every CUDA generator, but the two
kinds use different algorithms, so ``torch.randn(3)`` and ``torch.randn(3, device="cuda")``
give different numbers after the same seed. The ``seeded_*`` functions here draw with a
CPU ``torch.Generator`` of their own, seeded explicitly, and then move the result to the
requested device: a given seed gives the same values on the CPU and on any GPU, and
drawing never disturbs the global generator that ``torch.manual_seed`` controls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from tensorkit._checks import (
    MAX_SIZE,
    check_bool,
    check_dense,
    check_device,
    check_dtype,
    check_int,
    check_shape,
    check_tensor,
    seeded_generator,
)

__all__ = ["TensorInfo", "describe", "seeded_rand", "seeded_randint", "seeded_randn"]


def _place(drawn: torch.Tensor, device: torch.device, requires_grad: bool) -> torch.Tensor:
    placed = drawn.to(device)
    # Set the flag after the move, so the result is a leaf on every device.
    return placed.requires_grad_(requires_grad)


def _seeded_float(
    draw: Callable[..., torch.Tensor],
    function: str,
    shape: Sequence[int],
    seed: int,
    dtype: torch.dtype,
    device: str | torch.device | None,
    requires_grad: bool,
) -> torch.Tensor:
    """Check the arguments of a seeded floating draw, draw on the CPU, then place it."""
    size = check_shape(shape, function)
    generator = seeded_generator(seed, function)
    dtype = check_dtype(dtype, function, floating=True)
    _check_storage(size, dtype, function)
    target = check_device(device, function)
    flag = check_bool("requires_grad", requires_grad, function)
    drawn = draw(size, generator=generator, dtype=dtype, device="cpu")
    return _place(drawn, target, flag)


def seeded_randn(
    shape: Sequence[int],
    *,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
    requires_grad: bool = False,
) -> torch.Tensor:
    """Draw from the standard normal distribution, the same values on every device.

    The values are those of ``torch.randn(shape, generator=g)`` with a CPU generator ``g``
    seeded with ``seed``; the tensor is then moved to ``device``.

    Args:
        shape: The tensor's shape, a tuple of sizes such as ``(2, 3)``.
        seed: The seed, an int from 0 to ``2**64 - 1`` (NumPy integers too).
        dtype: A floating dtype.
        device: Where to put the tensor; ``None`` means the default device.
        requires_grad: Whether the result is a leaf that requires grad.

    Returns:
        A new tensor of the given shape, dtype and device.

    Raises:
        TypeError: If an argument has the wrong type (``shape=3``, a float seed...).
        ValueError: If a size or the seed is out of range, the tensor's bytes would not fit
            in 64 bits, the dtype is not floating, or the device does not exist on this
            machine.

    Examples:
        >>> import torch
        >>> from tensorkit.creation import seeded_randn
        >>> seeded_randn((2, 3), seed=0)
        tensor([[ 1.5410, -0.2934, -2.1788],
                [ 0.5684, -1.0845, -1.3986]])
        >>> g = torch.Generator().manual_seed(0)
        >>> torch.equal(seeded_randn((2, 3), seed=0).cpu(), torch.randn(2, 3, generator=g))
        True
    """
    return _seeded_float(torch.randn, "seeded_randn", shape, seed, dtype, device, requires_grad)


def seeded_rand(
    shape: Sequence[int],
    *,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
    requires_grad: bool = False,
) -> torch.Tensor:
    """Draw uniformly from ``[0, 1)``, the same values on every device.

    The values are those of ``torch.rand(shape, generator=g)`` with a CPU generator ``g``
    seeded with ``seed``; the tensor is then moved to ``device``.

    Args:
        shape: The tensor's shape, a tuple of sizes such as ``(2, 3)``.
        seed: The seed, an int from 0 to ``2**64 - 1`` (NumPy integers too).
        dtype: A floating dtype.
        device: Where to put the tensor; ``None`` means the default device.
        requires_grad: Whether the result is a leaf that requires grad.

    Returns:
        A new tensor of the given shape, dtype and device.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a size or the seed is out of range, the tensor's bytes would not fit
            in 64 bits, the dtype is not floating, or the device does not exist on this
            machine.

    Examples:
        >>> from tensorkit.creation import seeded_rand
        >>> seeded_rand((2, 2), seed=0)
        tensor([[0.4963, 0.7682],
                [0.0885, 0.1320]])
    """
    return _seeded_float(torch.rand, "seeded_rand", shape, seed, dtype, device, requires_grad)


def _check_storage(size: tuple[int, ...], dtype: torch.dtype, function: str) -> None:
    """A ValueError when the tensor's bytes could not even be counted in 64 bits.

    Torch reports that as "Storage size calculation overflowed" without naming the
    argument; a shape that is merely too large for memory gets torch's allocator error,
    which already says how many bytes it tried to allocate.
    """
    nbytes = math.prod(size) * dtype.itemsize
    if nbytes > MAX_SIZE:
        raise ValueError(
            f"{function}() argument 'shape' {size} would need {nbytes:.3g} bytes of "
            f"{dtype}, more than any machine can address; use smaller sizes"
        )


def _integer_range(dtype: torch.dtype) -> tuple[int, int]:
    """The smallest and largest integers ``dtype`` holds exactly, each integer between too."""
    if dtype.is_floating_point:
        # A float holds every integer up to 2**digits, digits being its mantissa's bits
        # plus one (float16: 2**11 = 2048); beyond that, drawn integers would be rounded.
        digits = round(-math.log2(torch.finfo(dtype).eps)) + 1
        return -(2**digits), 2**digits
    info = torch.iinfo(dtype)
    return info.min, info.max


def _check_fits(low: int, high: int, dtype: torch.dtype, function: str) -> None:
    smallest, largest = _integer_range(dtype)
    if low < smallest or high - 1 > largest:
        raise ValueError(
            f"{function}() draws from [low, high) = [{low}, {high}), but {dtype} holds "
            f"integers from {smallest} to {largest} only; narrow the range or pick a wider "
            "dtype such as torch.int64"
        )


def seeded_randint(
    low: int,
    high: int,
    shape: Sequence[int],
    *,
    seed: int,
    dtype: torch.dtype = torch.int64,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Draw integers uniformly from ``[low, high)``, the same values on every device.

    The values are those of ``torch.randint(low, high, shape, generator=g)`` with a CPU
    generator ``g`` seeded with ``seed``; the tensor is then moved to ``device``.

    Args:
        low: The smallest value that can be drawn.
        high: One more than the largest value that can be drawn; greater than ``low``.
        shape: The tensor's shape, a tuple of sizes such as ``(2, 3)``.
        seed: The seed, an int from 0 to ``2**64 - 1`` (NumPy integers too).
        dtype: An integer or floating dtype; ``torch.int64`` by default, as in torch.
        device: Where to put the tensor; ``None`` means the default device.

    Returns:
        A new tensor of the given shape, dtype and device.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``high <= low``, ``[low, high)`` holds integers ``dtype`` cannot
            hold exactly (``high=1000`` for ``torch.uint8``), a size or the seed is out of
            range, the dtype is bool or complex, or the device does not exist on this
            machine.

    Examples:
        >>> from tensorkit.creation import seeded_randint
        >>> seeded_randint(0, 10, (2, 3), seed=0)
        tensor([[4, 9, 3],
                [0, 3, 9]])
    """
    function = "seeded_randint"
    low = check_int("low", low, function, minimum=-MAX_SIZE - 1, maximum=MAX_SIZE)
    high = check_int("high", high, function, minimum=-MAX_SIZE - 1, maximum=MAX_SIZE)
    if high <= low:
        raise ValueError(
            f"{function}() needs low < high (values are drawn from [low, high)), got "
            f"low={low}, high={high}; e.g. low=0, high=10 for the digits 0 to 9"
        )
    size = check_shape(shape, function)
    generator = seeded_generator(seed, function)
    dtype = check_dtype(dtype, function, floating=False)
    _check_storage(size, dtype, function)
    _check_fits(low, high, dtype, function)
    target = check_device(device, function)
    drawn = torch.randint(low, high, size, generator=generator, dtype=dtype, device="cpu")
    return drawn.to(target)


@dataclass(frozen=True)
class TensorInfo:
    """What [`describe`][tensorkit.creation.describe] reports about a tensor.

    Printing it, or its repr in a session, gives one line, such as
    ``(2, 3) float32 on cpu, requires_grad=False, contiguous=True, leaf=True``.

    Attributes:
        shape: The sizes of the tensor's dimensions; ``()`` for a scalar tensor.
        dtype: The type of its elements.
        device: Where its elements are stored.
        requires_grad: Whether autograd records operations on it.
        contiguous: Whether its elements lie in memory in row-major order, with no gaps:
            the layout that ``view`` can reshape freely.
        leaf: Whether it is a leaf of the autograd graph (not made by an operation on
            tensors that require grad).
        grad_fn: The name of the node that made it, such as ``"MulBackward0"``, or
            ``None`` for a leaf.
    """

    shape: tuple[int, ...]
    dtype: torch.dtype
    device: torch.device
    requires_grad: bool
    contiguous: bool
    leaf: bool
    grad_fn: str | None = None

    def __str__(self) -> str:
        dtype = str(self.dtype).removeprefix("torch.")
        line = (
            f"{self.shape} {dtype} on {self.device}, requires_grad={self.requires_grad}, "
            f"contiguous={self.contiguous}, leaf={self.leaf}"
        )
        return line if self.grad_fn is None else f"{line} ({self.grad_fn})"

    def __repr__(self) -> str:
        return str(self)


def describe(tensor: torch.Tensor) -> TensorInfo:
    """Describe a tensor in one line: shape, dtype, device, autograd and memory layout.

    Only reads the tensor: nothing is copied, moved or changed.

    Args:
        tensor: The tensor to describe.

    Returns:
        The tensor's attributes; they print as one line.

    Raises:
        TypeError: If ``tensor`` is not a ``torch.Tensor``.

    Examples:
        >>> import torch
        >>> from tensorkit.creation import describe
        >>> x = torch.zeros(2, 3)
        >>> describe(x)
        (2, 3) float32 on cpu, requires_grad=False, contiguous=True, leaf=True
        >>> describe(x.t())
        (3, 2) float32 on cpu, requires_grad=False, contiguous=False, leaf=True
        >>> w = torch.ones(3, requires_grad=True)
        >>> describe(w * 2)
        (3,) float32 on cpu, requires_grad=True, contiguous=True, leaf=False (MulBackward0)
    """
    check_tensor("tensor", tensor, "describe")
    # Sparse layouts have no strides, so contiguity means nothing for them.
    check_dense("tensor", tensor, "describe", why="sparse tensors have no strides")
    node = tensor.grad_fn
    return TensorInfo(
        shape=tuple(tensor.shape),
        dtype=tensor.dtype,
        device=tensor.device,
        requires_grad=tensor.requires_grad,
        contiguous=tensor.is_contiguous(),
        leaf=tensor.is_leaf,
        grad_fn=None if node is None else node.name(),
    )
