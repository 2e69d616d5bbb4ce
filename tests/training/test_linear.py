"""tensorkit.regression.linear: exact least squares, accurate far from zero, inputs checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorkit.regression import LinearFit, fit_linear, linear, synthetic_linear


def exact(X: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Least squares by NumPy's SVD-based solver in float64, with an intercept column."""
    A = np.hstack([X.double().numpy(), np.ones((X.shape[0], 1))])
    solution = np.linalg.lstsq(A, y.double().numpy(), rcond=None)[0]
    return solution[:-1], solution[-1]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(12, 300),
    d=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    bias=st.floats(-50, 50),
)
def test_noiseless_data_give_back_the_true_parameters(
    n: int, d: int, seed: int, bias: float
) -> None:
    weight = torch.linspace(-2, 3, d, dtype=torch.float64)
    X, y = synthetic_linear(n, weight, bias, noise=0.0, seed=seed, dtype=torch.float64)
    fit = fit_linear(X, y)
    torch.testing.assert_close(fit.weight, weight[None], rtol=0, atol=1e-9)
    torch.testing.assert_close(
        fit.bias, torch.tensor([bias], dtype=torch.float64), rtol=0, atol=1e-9
    )


def test_matches_numpy_least_squares_in_float64() -> None:
    X, y = synthetic_linear(500, [1.0, -2.0, 0.5], 3.0, noise=1.0, dtype=torch.float64)
    fit = fit_linear(X, y[:, 0])
    weight, bias = exact(X, y[:, 0])
    np.testing.assert_allclose(fit.weight.numpy(), weight, rtol=0, atol=1e-12)
    assert abs(fit.bias.item() - bias) < 1e-12


@pytest.mark.parametrize("shift", [0.0, 100.0, 1e4])
def test_float32_stays_accurate_far_from_zero(shift: float) -> None:
    X, y = synthetic_linear(20_000, [1.0, -2.0, 0.5, 3.0], 1.5, noise=0.1, seed=1)
    X = X + shift
    y = y + shift * 2.5  # the same true bias for the shifted features
    fit = fit_linear(X, y[:, 0])
    weight, bias = exact(X, y[:, 0])
    # float32 data: a few units of float32 rounding; the bias also carries the shift
    # times the weights' rounding.
    np.testing.assert_allclose(fit.weight.numpy(), weight, rtol=0, atol=2e-6)
    assert abs(fit.bias.item() - bias) < 1e-6 * max(1.0, shift)


def test_many_blocks_give_the_same_answer_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = synthetic_linear(1000, [1.0, -2.0], 0.5, noise=0.3, dtype=torch.float64)
    whole = fit_linear(X, y)
    monkeypatch.setattr(linear, "BLOCK_ROWS", 70)  # 15 blocks, the last one of 20 rows
    monkeypatch.setattr(linear, "SUM_ROWS", 16)  # 4 partial sums and 6 rows left per block
    blocked = fit_linear(X, y)
    torch.testing.assert_close(blocked.weight, whole.weight, rtol=0, atol=1e-12)
    torch.testing.assert_close(blocked.bias, whole.bias, rtol=0, atol=1e-12)


def test_shapes_follow_the_targets() -> None:
    X, y = synthetic_linear(100, [1.0, 2.0, 3.0], 0.5)
    one = fit_linear(X, y[:, 0])
    assert one.weight.shape == (3,) and one.bias.shape == ()
    column = fit_linear(X, y)
    assert column.weight.shape == (1, 3) and column.bias.shape == (1,)
    Y = torch.cat([y, 2 * y, -y], dim=1)
    several = fit_linear(X, Y)
    assert several.weight.shape == (3, 3) and several.bias.shape == (3,)
    for k, factor in enumerate([1.0, 2.0, -1.0]):
        torch.testing.assert_close(several.weight[k], factor * one.weight, rtol=1e-5, atol=1e-5)
    assert one.predict(X).shape == (100,) and several.predict(X).shape == (100, 3)
    torch.testing.assert_close(column.predict(X)[:, 0], one.predict(X))


def test_result_is_in_the_dtype_and_on_the_device_of_x() -> None:
    for dtype in (torch.float32, torch.float64):
        X, y = synthetic_linear(30, [1.0], 0.0, dtype=dtype)
        fit = fit_linear(X, y)
        assert isinstance(fit, LinearFit)
        assert fit.weight.dtype == fit.bias.dtype == dtype
        assert fit.weight.device == X.device


def test_inputs_are_not_modified() -> None:
    X, y = synthetic_linear(100, [1.0, 2.0], 0.5)
    X_before, y_before = X.clone(), y.clone()
    fit_linear(X + 0, y)  # a non-contiguous or temporary X must work too
    fit_linear(X, y)
    assert torch.equal(X, X_before) and torch.equal(y, y_before)


def test_fewer_samples_than_needed_is_an_error() -> None:
    X, y = synthetic_linear(2, [1.0, 2.0], 0.5)  # 2 samples, 2 features and a bias
    with pytest.raises(ValueError, match="nearly linearly dependent"):
        fit_linear(X, y)


def test_near_collinear_float32_is_refused_but_float64_works() -> None:
    X, y = synthetic_linear(1000, [1.0, 1.0], 0.0, noise=0.1, dtype=torch.float64)
    X[:, 1] = X[:, 0] + 1e-4 * X[:, 1]  # condition number about 3e4
    with pytest.raises(
        ValueError,
        match=r"less than one correct digit in torch.float32.*"
        r"convert X to torch.float64",
    ):
        fit_linear(X.float(), y.float())
    fit = fit_linear(X, y)
    weight, _ = exact(X, y[:, 0])
    np.testing.assert_allclose(fit.weight[0].numpy(), weight, rtol=1e-6)


@pytest.mark.parametrize(
    ("X", "y", "error", "message"),
    [
        ([[1.0], [2.0]], torch.ones(2), TypeError, "'X' must be a torch.Tensor, got list"),
        (torch.ones(3, 1), (1.0, 2.0, 3.0), TypeError, "'y' must be a torch.Tensor, got tuple"),
        (
            torch.arange(6).reshape(3, 2),
            torch.ones(3),
            TypeError,
            "'X' must be a floating tensor, got dtype torch.int64",
        ),
        (torch.ones(3), torch.ones(3), ValueError, r"X.unsqueeze\(1\)"),
        (torch.ones(0, 2), torch.ones(0), ValueError, "'X' has no samples"),
        (torch.ones(3, 2), torch.ones(4), ValueError, "X has 3, y has 4 samples"),
        (
            torch.ones(3, 2),
            torch.ones(3, dtype=torch.float64),
            TypeError,
            "'y' must have X's dtype torch.float32, got torch.float64",
        ),
        (torch.ones(3, 2), torch.ones(3, 1, 1), ValueError, "'y' must be 1-D"),
        (torch.ones(3, 2), torch.ones(3, 0), ValueError, "'y' has no outputs"),
        (
            torch.tensor([[1.0], [float("nan")], [3.0]]),
            torch.ones(3),
            ValueError,
            r"'X' holds NaN or infinite values, the first at index \(1, 0\)",
        ),
        (
            torch.tensor([[1.0], [2.0], [3.0]]),
            torch.tensor([1.0, 2.0, float("inf")]),
            ValueError,
            "'y' holds NaN or infinite values, the first at index 2",
        ),
        (
            torch.tensor([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]]),
            torch.ones(3),
            ValueError,
            r"constant feature columns \[1\]",
        ),
        (
            torch.tensor([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]),
            torch.ones(3),
            ValueError,
            "nearly linearly dependent columns",
        ),
        (
            torch.tensor([[1e20], [-1e20], [3e20]]),
            torch.ones(3),
            ValueError,
            "too large for torch.float32",
        ),
    ],
)
def test_bad_input(X: object, y: object, error: type[Exception], message: str) -> None:
    keep = [t.clone() for t in (X, y) if isinstance(t, torch.Tensor)]
    with pytest.raises(error, match=rf"fit_linear\(\) .*{message}"):
        fit_linear(X, y)  # type: ignore[arg-type]
    after = [t for t in (X, y) if isinstance(t, torch.Tensor)]
    for before, now in zip(keep, after, strict=True):  # nothing was changed in place
        torch.testing.assert_close(now, before, rtol=0, atol=0, equal_nan=True)
