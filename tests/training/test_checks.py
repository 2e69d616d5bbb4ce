"""tensorkit.regression._checks: the shared argument checks, and what their errors say."""

from __future__ import annotations

import pytest
import torch

from tensorkit.regression._checks import (
    check_features,
    check_finite,
    check_pair,
    check_positive_int,
    check_real,
    check_samples,
    describe,
)


def test_describe_names_shape_and_dtype_of_tensors() -> None:
    assert describe(torch.zeros(2, 3, dtype=torch.int64)) == (
        "a tensor of shape (2, 3) and dtype torch.int64"
    )
    assert describe([1, 2]) == "list ([1, 2])"


def test_finite_tensor_passes_even_when_its_sum_overflows() -> None:
    big = torch.tensor([3e38, 3e38, 3e38])  # finite, but the sum is inf in float32
    assert torch.isinf(big.sum())
    check_finite("X", big, "f")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_value_is_reported_with_its_index(bad: float) -> None:
    values = torch.zeros(3, 4)
    values[2, 1] = bad
    with pytest.raises(
        ValueError,
        match=r"f\(\) argument 'X' holds NaN or infinite values, "
        r"the first at index \(2, 1\)",
    ):
        check_finite("X", values, "f")


def test_inf_and_minus_inf_that_cancel_in_the_sum_are_found() -> None:
    with pytest.raises(ValueError, match="index 0"):
        check_finite("y", torch.tensor([float("inf"), -float("inf")]), "f")


def test_integer_tensors_are_always_finite() -> None:
    check_finite("y", torch.arange(5), "f")


def test_features_must_be_2d_floating_and_non_empty() -> None:
    with pytest.raises(TypeError, match=r"'X' must be a torch.Tensor, got list"):
        check_features([[1.0]], "f")
    with pytest.raises(TypeError, match=r"floating tensor, got dtype torch.int64; .*X.float\(\)"):
        check_features(torch.ones(2, 2, dtype=torch.int64), "f")
    with pytest.raises(ValueError, match=r"2-D .* got shape \(3,\); .*X.unsqueeze\(1\)"):
        check_features(torch.ones(3), "f")
    with pytest.raises(ValueError, match=r"'X' is empty \(shape \(0, 2\)\)"):
        check_features(torch.ones(0, 2), "f")


def test_samples_accept_any_rank_but_zero() -> None:
    assert check_samples(torch.ones(4), "f").shape == (4,)
    assert check_samples(torch.ones(4, 1, 2, 2), "f").shape == (4, 1, 2, 2)
    with pytest.raises(ValueError, match="0-d tensor"):
        check_samples(torch.tensor(1.0), "f")
    with pytest.raises(ValueError, match="empty"):
        check_samples(torch.ones(0, 3, 3), "f")


def test_pair_checks_length_device_and_dtype() -> None:
    X = torch.ones(4, 2)
    with pytest.raises(ValueError, match="X has 4, y has 3 samples"):
        check_pair(X, torch.ones(3), "f")
    with pytest.raises(ValueError, match="X has 4, y has a 0-d tensor"):
        check_pair(X, torch.tensor(1.0), "f")
    with pytest.raises(ValueError, match="same device: X is on cpu, y on meta"):
        check_pair(X, torch.ones(4, device="meta"), "f")
    with pytest.raises(TypeError, match=r"X's dtype torch.float32, got torch.float64"):
        check_pair(X, torch.ones(4, dtype=torch.float64), "f")
    assert check_pair(X, torch.ones(4, dtype=torch.int64), "f", floating=False).shape == (4,)


@pytest.mark.parametrize("value", [True, 2.0, "3", None])
def test_positive_int_rejects_non_ints(value: object) -> None:
    with pytest.raises(TypeError, match="'n' must be an int"):
        check_positive_int("n", value, "f")


def test_positive_int_rejects_zero_and_accepts_numpy_ints() -> None:
    import numpy as np

    with pytest.raises(ValueError, match="'n' must be at least 1, got 0"):
        check_positive_int("n", 0, "f")
    assert check_positive_int("n", np.int64(3), "f") == 3


def test_real_bounds() -> None:
    assert check_real("l2", 0, "f") == 0.0
    with pytest.raises(ValueError, match="at least 0"):
        check_real("l2", -1e-9, "f")
    with pytest.raises(ValueError, match="above 0"):
        check_real("tol", 0.0, "f", strict=True)
    with pytest.raises(ValueError, match="finite"):
        check_real("bias", float("nan"), "f", minimum=-float("inf"))
    with pytest.raises(TypeError, match="must be a number"):
        check_real("l2", "0.1", "f")
