"""tensorkit.shape: explain_view agrees with Tensor.view; view_or_copy with Tensor.reshape."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorkit.conversion import shares_memory
from tensorkit.shape import Reshaped, explain_view, view_or_copy


def factorisations(n: int, dims: int) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes with ``dims`` sizes whose product is ``n`` (sizes of 1 included)."""
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    if dims == 1:
        return st.just((n,))
    return st.sampled_from(divisors).flatmap(
        lambda d: factorisations(n // d, dims - 1).map(lambda rest: (d, *rest))
    )


@st.composite
def tensors_and_shapes(draw: st.DrawFn) -> tuple[torch.Tensor, tuple[int, ...]]:
    """A strided tensor (permuted, sliced, expanded or not) and a shape of its size."""
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=4)))
    dtype = draw(st.sampled_from([torch.float32, torch.int64, torch.bool, torch.float16]))
    tensor = torch.zeros(shape, dtype=dtype)
    if tensor.dim():
        order = draw(st.permutations(range(tensor.dim())))
        tensor = tensor.permute(*order)
        dim = draw(st.integers(0, tensor.dim() - 1))
        step = draw(st.integers(1, 2))
        if draw(st.booleans()) and tensor.shape[dim]:
            # A dim of size 1 made by slicing keeps its parent's stride.
            tensor = tensor.narrow(dim, 0, 1)
        index = [slice(None)] * tensor.dim()
        index[dim] = slice(None, None, step)
        tensor = tensor[tuple(index)]
        if draw(st.booleans()) and 1 in tensor.shape:
            # An expanded dim has stride 0.
            sizes = [draw(st.integers(1, 3)) if s == 1 else s for s in tensor.shape]
            tensor = tensor.expand(*sizes)
    numel = tensor.numel()
    if numel == 0:
        new = tuple(draw(st.lists(st.integers(0, 3), min_size=1, max_size=3)))
        new = new if 0 in new else (*new, 0)
    else:
        new = draw(factorisations(numel, draw(st.integers(1, 4))))
    return tensor, new


@settings(max_examples=300, deadline=None)
@given(case=tensors_and_shapes())
def test_explain_view_agrees_with_view(case: tuple[torch.Tensor, tuple[int, ...]]) -> None:
    tensor, shape = case
    explanation = explain_view(tensor, shape)
    try:
        view = tensor.view(shape)
    except RuntimeError:
        assert not explanation.possible, explanation
        assert explanation.strides is None
        assert explanation.reason.startswith("not a view: new dim")
    else:
        assert explanation.possible, (tuple(tensor.shape), tensor.stride(), shape)
        assert explanation.strides == view.stride()
        assert explanation.reason.startswith("a view")
    assert explanation.shape == shape


@settings(max_examples=150, deadline=None)
@given(case=tensors_and_shapes())
def test_view_or_copy_equals_reshape_and_tells_the_truth(
    case: tuple[torch.Tensor, tuple[int, ...]],
) -> None:
    tensor, shape = case
    result = view_or_copy(tensor, shape)
    assert isinstance(result, Reshaped)
    assert torch.equal(result.tensor, tensor.reshape(shape))
    assert result.copied is not explain_view(tensor, shape).possible
    if tensor.numel():
        assert shares_memory(result.tensor, tensor) is not result.copied


def test_the_transpose_example() -> None:
    x = torch.arange(6).reshape(2, 3)
    assert str(explain_view(x, (3, 2))) == (
        "a view: the tensor is contiguous, so any shape of 6 elements views it"
    )
    explanation = explain_view(x.t(), (6,))
    assert not explanation.possible
    assert (
        str(explanation)
        == repr(explanation)
        == (
            "not a view: new dim 0 (size 6) would span dims 0 and 1 of the tensor,\n"
            "but dim 0 has stride 1, not the 6 that one evenly spaced run needs"
        )
    )
    # Splitting a dim, or adding dims of size 1, keeps a transposed tensor a view.
    assert explain_view(x.t(), (3, 1, 2)).strides == (1, 6, 3)
    flat, copied = view_or_copy(x.t(), -1)
    assert copied and flat.tolist() == [0, 3, 1, 4, 2, 5]


def test_minus_one_is_resolved() -> None:
    x = torch.zeros(4, 6)
    assert explain_view(x, (-1, 3)).shape == (8, 3)
    assert explain_view(x, [2, -1, 2]).shape == (2, 6, 2)
    assert explain_view(torch.tensor(5.0), ()).possible


def test_view_or_copy_keeps_autograd() -> None:
    w = torch.ones(2, 3, requires_grad=True)
    flat, copied = view_or_copy(w.t(), (6,))
    flat.sum().backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
    assert copied and w.grad is not None and torch.equal(w.grad, torch.ones(2, 3))


@pytest.mark.parametrize("function", [explain_view, view_or_copy])
@pytest.mark.parametrize(
    ("shape", "error", "message"),
    [
        (
            (4, 2),
            ValueError,
            r"argument 'shape' \(4, 2\) has 8 elements, but the tensor of "
            r"shape \(2, 3\) has 6; use a shape whose sizes multiply to 6",
        ),
        (
            (-1, 4),
            ValueError,
            r"argument 'shape' \(-1, 4\) does not fit a tensor of shape "
            r"\(2, 3\) \(6 elements\): 6 is not a multiple of 4",
        ),
        ((-1, -1), ValueError, r"at most one -1, got \(-1, -1\)"),
        ((-2, -3), ValueError, r"sizes >= 0 and at most one -1"),
        ((3, 2.0), TypeError, r"argument 'shape' must be a tuple of ints .* got tuple"),
        ("3, 2", TypeError, r"argument 'shape' must be a tuple of ints .* got str"),
        ((True, 6), TypeError, r"argument 'shape' must be a tuple of ints"),
    ],
)
def test_bad_shapes(function: Any, shape: Any, error: type[Exception], message: str) -> None:
    # Each error names the function the reader called, not the one it is built on.
    with pytest.raises(error, match=rf"^{function.__name__}\(\) .*{message}"):
        function(torch.zeros(2, 3), shape)


def test_the_name_check_above_would_catch_a_borrowed_name() -> None:
    message = "explain_view() argument 'shape' (4, 2) has 8 elements"
    assert not re.match(rf"^{view_or_copy.__name__}\(\) ", message)


def test_numpy_integers_are_sizes_as_in_view() -> None:
    x = torch.arange(6)
    assert view_or_copy(x, (np.int64(2), 3)).tensor.shape == (2, 3)
    assert explain_view(x, np.int64(6)).possible


def test_minus_one_beside_zero_is_ambiguous() -> None:
    with pytest.raises(ValueError, match=r"has a -1 next to a size 0, so the -1 could stand"):
        explain_view(torch.zeros(0, 3), (-1, 0))


@pytest.mark.parametrize("function", [explain_view, view_or_copy])
@pytest.mark.parametrize("value", [[1, 2], None, 2.0])
def test_needs_a_tensor(function: Any, value: Any) -> None:
    with pytest.raises(
        TypeError,
        match=rf"argument 'tensor' must be a torch.Tensor, got "
        rf"{type(value).__name__}",
    ):
        function(value, (2,))


def test_sparse_tensor_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"argument 'tensor' must be a dense \(strided\)"):
        explain_view(torch.eye(2).to_sparse(), (4,))


def test_input_is_not_changed() -> None:
    x = torch.arange(6).reshape(2, 3).t()
    before = (x.clone(), x.stride())
    view_or_copy(x, (6,))
    assert torch.equal(x, before[0]) and x.stride() == before[1]
    assert math.prod(x.shape) == 6
