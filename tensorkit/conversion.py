"""Hand tensors to NumPy, and tell when two tensors or arrays share memory.

Pages: ``docs/tensors/conversion.md``.

``tensor.numpy()`` refuses a tensor that requires grad and a tensor on a GPU, and when
it works the array shares the tensor's memory: writing to one changes the other.
`to_numpy` works for any dense tensor and says whether the array is a copy;
`shares_memory` answers the question for any two tensors or arrays.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import torch

from tensorkit._checks import check_dense, check_has_values, check_tensor, describe_value

__all__ = ["NumpyConversion", "shares_memory", "to_numpy"]


class NumpyConversion(NamedTuple):
    """What [`to_numpy`][tensorkit.conversion.to_numpy] returns; unpacks as a pair.

    Attributes:
        array: The tensor's values as a NumPy array.
        copied: ``False`` when ``array`` shares the tensor's memory (writing to one
            changes the other), ``True`` when it is a copy.
    """

    array: npt.NDArray[Any]
    copied: bool


def to_numpy(tensor: torch.Tensor) -> NumpyConversion:
    """Convert a tensor to a NumPy array, whatever its device or ``requires_grad``.

    This is ``tensor.detach().cpu().numpy()`` that also says whether it copied. A CPU
    tensor's array shares its memory: nothing is copied, and writing to the array writes
    to the tensor, bypassing autograd. A tensor on another device is copied to the CPU
    first. A tensor whose conjugate or negative bit is set (``x.conj()`` of a complex
    tensor) is copied too, because NumPy has no such lazy views.

    Args:
        tensor: The dense tensor to convert.

    Returns:
        The array and whether it is a copy.

    Raises:
        TypeError: If ``tensor`` is not a ``torch.Tensor``, or NumPy has no type for its
            dtype (``torch.bfloat16``, the float8 types): convert it with ``.float()``
            first, and say so in the code.
        ValueError: If ``tensor`` is sparse, or on the ``meta`` device, which holds no
            values.

    Examples:
        >>> import torch
        >>> from tensorkit.conversion import to_numpy
        >>> w = torch.tensor([1.0, 2.0], device="cpu", requires_grad=True)
        >>> array, copied = to_numpy(w)
        >>> array, copied
        (array([1., 2.], dtype=float32), False)
        >>> x = torch.tensor([1.0, 2.0])  # on the default device, maybe a GPU
        >>> to_numpy(x).copied == (x.device.type != "cpu")
        True
    """
    function = "to_numpy"
    check_tensor("tensor", tensor, function)
    check_dense("tensor", tensor, function)
    check_has_values("tensor", tensor, function)
    source = tensor.detach()  # the same memory, without autograd's record
    copied = False
    if source.device.type != "cpu":
        source, copied = source.cpu(), True
    if source.is_conj() or source.is_neg():
        source, copied = source.resolve_conj().resolve_neg(), True
    try:
        array = source.numpy()
    except TypeError:
        raise TypeError(
            f"{function}() argument 'tensor' has dtype {tensor.dtype}, which NumPy has no "
            "type for; convert it first, e.g. to_numpy(tensor.float())"
        ) from None
    return NumpyConversion(array, copied)


class _Extent(NamedTuple):
    """Where the bytes of a tensor or an array are: a device and a strided byte layout."""

    device: torch.device
    address: int  # the first element's address
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # in bytes; NumPy's may be negative
    itemsize: int


def _extent(value: object, name: str) -> _Extent:
    if isinstance(value, torch.Tensor):
        check_dense(name, value, "shares_memory")
        size = value.element_size()
        return _Extent(
            value.device,
            value.data_ptr(),
            tuple(value.shape),
            tuple(stride * size for stride in value.stride()),
            size,
        )
    if isinstance(value, np.ndarray):
        address = value.__array_interface__["data"][0]
        return _Extent(torch.device("cpu"), address, value.shape, value.strides, value.itemsize)
    raise TypeError(
        f"shares_memory() argument {name!r} must be a torch.Tensor or a numpy.ndarray, "
        f"got {describe_value(value)}"
    )


class _BytesAt:
    """An ``__array_interface__`` that describes an extent's bytes as a uint8 array.

    NumPy builds an array on it without reading or copying memory, and
    ``numpy.shares_memory`` only does arithmetic on addresses and strides: so the same
    exact test works for GPU memory, whose addresses NumPy could not read.
    """

    def __init__(self, extent: _Extent) -> None:
        self.__array_interface__ = {
            "version": 3,
            "typestr": "|u1",
            "data": (extent.address, True),  # read-only: nothing may write through it
            # A last axis of one-byte steps covers every byte of each element.
            "shape": (*extent.shape, extent.itemsize),
            "strides": (*extent.strides, 1),
        }


def shares_memory(a: torch.Tensor | npt.NDArray[Any], b: torch.Tensor | npt.NDArray[Any]) -> bool:
    """Tell whether two tensors or arrays use some of the same memory.

    Two values share memory when writing an element of one can change an element of the
    other: a tensor and its views (``x[0]``, ``x.t()``, ``x.view(...)``), a NumPy array
    and ``torch.from_numpy`` of it, a CPU tensor and its ``.numpy()``. The test is exact,
    as ``numpy.shares_memory``: ``x[0::2]`` and ``x[1::2]`` interleave but share nothing.
    Values on different devices, and empty ones, never share memory.

    Args:
        a: A dense tensor or a NumPy array.
        b: A dense tensor or a NumPy array.

    Returns:
        Whether some byte of ``a`` is also a byte of ``b``.

    Raises:
        TypeError: If ``a`` or ``b`` is neither a ``torch.Tensor`` nor a
            ``numpy.ndarray``.
        ValueError: If ``a`` or ``b`` is a sparse tensor.

    Examples:
        >>> import numpy as np
        >>> import torch
        >>> from tensorkit.conversion import shares_memory
        >>> array = np.zeros(3)
        >>> shares_memory(array, torch.from_numpy(array))
        True
        >>> shares_memory(array, torch.tensor(array))
        False
        >>> x = torch.arange(6)
        >>> shares_memory(x, x.view(2, 3)), shares_memory(x, x.clone())
        (True, False)
        >>> shares_memory(x[0::2], x[1::2])
        False
    """
    first, second = _extent(a, "a"), _extent(b, "b")
    if first.device != second.device or first.device.type == "meta":
        return False
    if 0 in first.shape or 0 in second.shape:
        return False  # no elements, so no memory
    return bool(np.shares_memory(np.asarray(_BytesAt(first)), np.asarray(_BytesAt(second))))
