"""tensorkit.conversion: to_numpy says truly whether it copied; shares_memory is exact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorkit.conversion import NumpyConversion, shares_memory, to_numpy

numpy_dtypes = st.sampled_from(
    [
        torch.bool,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.float16,
        torch.float32,
        torch.float64,
        torch.complex64,
    ]
)
shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, dtype=numpy_dtypes, requires_grad=st.booleans(), transpose=st.booleans())
def test_to_numpy_equals_detach_numpy_and_shares_memory_on_cpu(
    shape: tuple[int, ...], dtype: torch.dtype, requires_grad: bool, transpose: bool
) -> None:
    tensor = torch.arange(int(np.prod(shape)), dtype=torch.int64).reshape(shape).to(dtype)
    if transpose and tensor.dim() >= 2:
        tensor = tensor.transpose(0, 1)
    if requires_grad and (dtype.is_floating_point or dtype.is_complex):
        tensor.requires_grad_()
    array, copied = to_numpy(tensor)
    expected = tensor.detach().numpy()
    assert copied is False
    assert array.dtype == expected.dtype and array.shape == tuple(tensor.shape)
    assert array.strides == expected.strides
    np.testing.assert_array_equal(array, expected)
    if tensor.numel():
        assert np.shares_memory(array, expected)


def test_writing_to_the_array_writes_to_the_tensor() -> None:
    w = torch.zeros(3, requires_grad=True)
    array, copied = to_numpy(w)
    array[0] = 5.0
    assert not copied and w[0].item() == 5.0


def test_conjugate_view_is_copied_with_its_values() -> None:
    z = torch.tensor([1 + 2j, 3 - 1j])
    result = to_numpy(z.conj())
    assert isinstance(result, NumpyConversion) and result.copied
    np.testing.assert_array_equal(result.array, np.array([1 - 2j, 3 + 1j], dtype=np.complex64))
    assert not np.shares_memory(result.array, z.numpy())


def test_negative_view_is_copied_with_its_values() -> None:
    z = torch.tensor([1 + 2j])
    negative = torch._neg_view(z)  # what autograd makes; .numpy() refuses it
    array, copied = to_numpy(negative)
    assert copied and array[0] == -1 - 2j


@pytest.mark.skipif(not torch.cuda.is_available(), reason="converts a CUDA tensor: needs a GPU")
def test_cuda_tensor_is_copied() -> None:
    x = torch.arange(4.0, device="cuda", requires_grad=True)
    array, copied = to_numpy(x)
    assert copied and array.tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("value", [[1, 2], np.zeros(2), 3.0])
def test_to_numpy_needs_a_tensor(value: Any) -> None:
    with pytest.raises(
        TypeError,
        match=rf"argument 'tensor' must be a torch.Tensor, got "
        rf"{type(value).__name__}",
    ):
        to_numpy(value)


def test_dtype_without_a_numpy_type_is_a_type_error() -> None:
    with pytest.raises(
        TypeError,
        match=r"argument 'tensor' has dtype torch.bfloat16, which "
        r"NumPy has no type for; .* to_numpy\(tensor.float\(\)\)",
    ):
        to_numpy(torch.ones(2, dtype=torch.bfloat16))


def test_sparse_and_meta_tensors_are_value_errors() -> None:
    with pytest.raises(ValueError, match=r"argument 'tensor' must be a dense \(strided\) tensor"):
        to_numpy(torch.eye(2).to_sparse())
    with pytest.raises(ValueError, match=r"argument 'tensor' is on the meta device"):
        to_numpy(torch.ones(2, device="meta"))


# Views of one base tensor: rows, columns, strided slices, transposes and reshapes.
@st.composite
def two_views(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    dtype = draw(st.sampled_from([torch.int8, torch.int32, torch.float64]))
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    base = torch.arange(rows * cols).to(dtype).reshape(rows, cols)

    def view() -> torch.Tensor:
        # Non-empty slices: an empty one shares nothing, which another test covers.
        r0 = draw(st.integers(0, rows - 1))
        r1 = draw(st.integers(r0 + 1, rows))
        c0 = draw(st.integers(0, cols - 1))
        c1 = draw(st.integers(c0 + 1, cols))
        step_r, step_c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        part = base[r0:r1:step_r, c0:c1:step_c]
        return part.t() if draw(st.booleans()) else part

    return base, view(), view()


@settings(max_examples=100, deadline=None)
@given(views=two_views(), as_array=st.booleans())
def test_shares_memory_agrees_with_numpy(
    views: tuple[torch.Tensor, torch.Tensor, torch.Tensor], as_array: bool
) -> None:
    _, first, second = views
    expected = np.shares_memory(first.numpy(), second.numpy())
    other: torch.Tensor | np.ndarray = second.numpy() if as_array else second
    assert shares_memory(first, other) is expected
    assert shares_memory(other, first) is expected


def test_shares_memory_cases_from_the_page() -> None:
    array = np.array([2, 3, 4])
    assert shares_memory(array, torch.from_numpy(array))
    assert not shares_memory(array, torch.tensor(array))
    x = torch.arange(6.0)
    assert shares_memory(x, x.view(2, 3).t())
    assert not shares_memory(x, x.clone())
    assert not shares_memory(x[:3], x[3:])
    assert shares_memory(x[:4], x[3:])
    assert shares_memory(x, x.numpy())
    assert shares_memory(array[::-1], array)  # NumPy strides may be negative
    assert not shares_memory(array[:0], array)  # nothing to share


def test_one_byte_overlap_between_dtypes_counts() -> None:
    x = torch.zeros(4, dtype=torch.int32)
    as_bytes = x.view(torch.uint8)
    assert shares_memory(x[1:2], as_bytes[7:8])
    assert not shares_memory(x[1:2], as_bytes[8:9])


def test_different_devices_never_share() -> None:
    x = torch.zeros(3)
    assert not shares_memory(x, torch.zeros(3, device="meta"))


@pytest.mark.parametrize(
    ("a", "b", "name"), [([1], torch.zeros(1), "a"), (torch.zeros(1), 2.0, "b")]
)
def test_shares_memory_needs_tensors_or_arrays(a: Any, b: Any, name: str) -> None:
    with pytest.raises(
        TypeError,
        match=rf"argument '{name}' must be a torch.Tensor or a "
        r"numpy.ndarray, got",
    ):
        shares_memory(a, b)


def test_shares_memory_rejects_sparse_tensors() -> None:
    with pytest.raises(ValueError, match=r"argument 'b' must be a dense \(strided\) tensor"):
        shares_memory(torch.zeros(2), torch.eye(2).to_sparse())
