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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

__all__ = ["TensorInfo", "describe", "seeded_rand", "seeded_randint", "seeded_randn"]

#: The largest seed ``torch.Generator.manual_seed`` accepts: seeds are unsigned 64-bit.
MAX_SEED = 2**64 - 1


def _check_shape(shape: object, function: str) -> tuple[int, ...]:
    if isinstance(shape, int) and not isinstance(shape, bool):
        raise TypeError(
            f"{function}() argument 'shape' must be a tuple of ints, got the int {shape}; "
            f"write shape=({shape},) for a 1-D tensor"
        )
    if not isinstance(shape, (tuple, list, torch.Size)):
        raise TypeError(
            f"{function}() argument 'shape' must be a tuple of ints such as (2, 3), "
            f"got {type(shape).__name__} ({shape!r})"
        )
    for size in shape:
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(
                f"{function}() argument 'shape' must hold ints, got {shape!r} with "
                f"{type(size).__name__} {size!r}; write sizes as ints, e.g. (2, 3)"
            )
        if size < 0:
            raise ValueError(
                f"{function}() argument 'shape' must hold sizes >= 0, got {tuple(shape)}"
            )
    return tuple(shape)


def _check_seed(seed: object, function: str) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(
            f"{function}() argument 'seed' must be an int, got {type(seed).__name__} "
            f"({seed!r}); pass e.g. seed=0"
        )
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(
            f"{function}() argument 'seed' must be between 0 and 2**64 - 1, got {seed}"
        )
    return seed


def _check_device(device: object, function: str) -> torch.device:
    if device is None:
        # Follows `with torch.device(...)` and torch.set_default_device, as torch.randn does.
        return torch.get_default_device()
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"{function}() argument 'device' must be a str or torch.device such as "
            f"'cpu' or 'cuda', got {type(device).__name__} ({device!r})"
        )
    try:
        target = torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"{function}() argument 'device' is not a device name: {device!r}; "
            "use e.g. 'cpu', 'cuda' or 'cuda:0'"
        ) from None
    if target.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(
                f"{function}() argument 'device' is {str(target)!r}, but CUDA is not "
                "available on this machine; use device='cpu'"
            )
        if target.index is not None and target.index >= count:
            raise ValueError(
                f"{function}() argument 'device' is {str(target)!r}, but this machine has "
                f"{count} CUDA device(s); use an index below {count}"
            )
    return target


def _check_dtype(dtype: object, function: str, *, floating: bool) -> torch.dtype:
    if not isinstance(dtype, torch.dtype):
        raise TypeError(
            f"{function}() argument 'dtype' must be a torch.dtype such as torch.float32, "
            f"got {type(dtype).__name__} ({dtype!r})"
        )
    if floating and not dtype.is_floating_point:
        raise ValueError(
            f"{function}() argument 'dtype' must be a floating dtype, got {dtype}; "
            "use torch.float32 or torch.float64"
        )
    if not floating and (dtype.is_complex or dtype == torch.bool):
        raise ValueError(
            f"{function}() argument 'dtype' must be an integer or floating dtype, got "
            f"{dtype}; use torch.int64 (the default) or torch.float32"
        )
    return dtype


def _generator(seed: int) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


def _check_flag(requires_grad: object, function: str) -> bool:
    if not isinstance(requires_grad, bool):
        raise TypeError(
            f"{function}() argument 'requires_grad' must be True or False, got "
            f"{type(requires_grad).__name__} ({requires_grad!r})"
        )
    return requires_grad


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
    size = _check_shape(shape, function)
    generator = _generator(_check_seed(seed, function))
    dtype = _check_dtype(dtype, function, floating=True)
    target = _check_device(device, function)
    flag = _check_flag(requires_grad, function)
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
        seed: The seed, an int from 0 to ``2**64 - 1``.
        dtype: A floating dtype.
        device: Where to put the tensor; ``None`` means the default device.
        requires_grad: Whether the result is a leaf that requires grad.

    Returns:
        A new tensor of the given shape, dtype and device.

    Raises:
        TypeError: If an argument has the wrong type (``shape=3``, a float seed...).
        ValueError: If a size or the seed is negative, the dtype is not floating, or the
            device does not exist on this machine.

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
        seed: The seed, an int from 0 to ``2**64 - 1``.
        dtype: A floating dtype.
        device: Where to put the tensor; ``None`` means the default device.
        requires_grad: Whether the result is a leaf that requires grad.

    Returns:
        A new tensor of the given shape, dtype and device.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a size or the seed is negative, the dtype is not floating, or the
            device does not exist on this machine.

    Examples:
        >>> from tensorkit.creation import seeded_rand
        >>> seeded_rand((2, 2), seed=0)
        tensor([[0.4963, 0.7682],
                [0.0885, 0.1320]])
    """
    return _seeded_float(torch.rand, "seeded_rand", shape, seed, dtype, device, requires_grad)


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
        seed: The seed, an int from 0 to ``2**64 - 1``.
        dtype: An integer or floating dtype; ``torch.int64`` by default, as in torch.
        device: Where to put the tensor; ``None`` means the default device.

    Returns:
        A new tensor of the given shape, dtype and device.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``high <= low``, a size or the seed is negative, the dtype is bool
            or complex, or the device does not exist on this machine.

    Examples:
        >>> from tensorkit.creation import seeded_randint
        >>> seeded_randint(0, 10, (2, 3), seed=0)
        tensor([[4, 9, 3],
                [0, 3, 9]])
    """
    function = "seeded_randint"
    for name, bound in (("low", low), ("high", high)):
        if not isinstance(bound, int) or isinstance(bound, bool):
            raise TypeError(
                f"{function}() argument {name!r} must be an int, got "
                f"{type(bound).__name__} ({bound!r})"
            )
    if high <= low:
        raise ValueError(
            f"{function}() needs low < high (values are drawn from [low, high)), got "
            f"low={low}, high={high}; e.g. low=0, high=10 for the digits 0 to 9"
        )
    size = _check_shape(shape, function)
    generator = _generator(_check_seed(seed, function))
    dtype = _check_dtype(dtype, function, floating=False)
    target = _check_device(device, function)
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
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(
            f"describe() argument 'tensor' must be a torch.Tensor, got "
            f"{type(tensor).__name__} ({tensor!r}); convert it first, e.g. "
            "describe(torch.tensor(...))"
        )
    if tensor.layout != torch.strided:
        # Sparse layouts have no strides, so contiguity means nothing for them.
        raise ValueError(
            f"describe() argument 'tensor' must be a dense (strided) tensor, got layout "
            f"{tensor.layout}; describe tensor.to_dense() instead"
        )
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
