"""tensorkit.regression.linear: exact least squares, accurate far from zero, inputs checked."""

from __future__ import annotations

import warnings

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


def centred_reference(X: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The minimum-norm least squares with an unpenalised bias, by NumPy in float64.

    NumPy's SVD-based lstsq on the centred data gives the weights of least norm, as
    scikit-learn's LinearRegression does; the bias then follows from the means.
    """
    A, b = X.double().numpy(), y.double().numpy()
    mean_x, mean_y = A.mean(axis=0), b.mean(axis=0)
    weight = np.linalg.lstsq(A - mean_x, b - mean_y, rcond=None)[0]
    return weight, mean_y - mean_x @ weight


def relative_error(got: torch.Tensor, want: np.ndarray) -> float:
    scale = max(float(np.abs(want).max()), 1e-300)
    return float(np.abs(got.double().numpy() - want).max()) / scale


def noisy(n: int, d: int, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Normal features and targets with noise, in float64."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    weight = torch.linspace(-1.0, 2.0, d, dtype=torch.float64)
    y = X @ weight + 0.5 + 0.1 * torch.randn(n, generator=generator, dtype=torch.float64)
    return X, y


def dyadic(X: torch.Tensor) -> torch.Tensor:
    """X rounded to multiples of 1/1024: their sums are exact in float32 and float64."""
    return torch.round(X * 1024) / 1024


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("case", "rank"),
    [("duplicated", 4), ("collinear", 4), ("constant", 4), ("wide", 4), ("two constant", 3)],
)
def test_rank_deficient_data_give_the_minimum_norm_fit(
    dtype: torch.dtype, case: str, rank: int
) -> None:
    from sklearn.linear_model import LinearRegression  # type: ignore[import-untyped]

    X, y = noisy(5 if case == "wide" else 500, 10 if case == "wide" else 5)
    X = dyadic(X)
    if case == "duplicated":
        X[:, 4] = X[:, 1]
    elif case == "collinear":
        X[:, 4] = X[:, 0] - 2 * X[:, 2]  # exact: the values are multiples of 1/1024
    elif case == "constant":
        X[:, 3] = 3.0
    elif case == "two constant":
        X[:, 1], X[:, 3] = 3.0, -0.5
    X, y = X.to(dtype), y.to(dtype)
    with pytest.warns(RuntimeWarning, match=rf"'X' has rank {rank} with \d+ features"):
        fit = fit_linear(X, y)
    assert fit.rank == rank
    weight, bias = centred_reference(X, y)
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    assert relative_error(fit.weight, weight) < tolerance
    assert abs(fit.bias.item() - bias) < tolerance * max(1.0, abs(bias))
    model = LinearRegression().fit(X.numpy(), y.numpy())
    assert model.rank_ == rank  # scikit-learn agrees on the rank, and on the fit
    assert relative_error(fit.weight, model.coef_.astype(np.float64)) < 10 * tolerance


def test_the_warning_names_the_cause() -> None:
    X, y = noisy(500, 3)
    X[:, 1] = 2.0
    with pytest.warns(RuntimeWarning, match=r"remove the constant columns \[1\]$"):
        fit_linear(X, y)
    X[:, 2] = X[:, 0]
    with pytest.warns(RuntimeWarning, match=r"constant columns \[1\] and columns that combine"):
        fit_linear(X, y)
    with pytest.warns(RuntimeWarning, match=r"5 samples determine at most 4 weights besides"):
        fit_linear(*noisy(5, 8))
    with pytest.warns(RuntimeWarning, match=r"all-zero columns \[1\]"):
        fit_linear(torch.cat([X[:, :1], torch.zeros(500, 1)], dim=1), y, fit_intercept=False)


def test_a_full_rank_fit_does_not_warn() -> None:
    # The companion of the tests above: without a rank deficiency, no warning at all.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_linear(*noisy(500, 5))
    assert fit.rank == 5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_one_sample_gives_what_scikit_learn_gives(dtype: torch.dtype) -> None:
    from sklearn.linear_model import LinearRegression

    X = torch.tensor([[1.0, 2.0, 3.0]], dtype=dtype)
    y = torch.tensor([4.5], dtype=dtype)
    with pytest.warns(RuntimeWarning, match="a single sample determines only the bias"):
        fit = fit_linear(X, y)
    model = LinearRegression().fit(X.numpy(), y.numpy())
    np.testing.assert_array_equal(fit.weight.numpy(), model.coef_)
    assert fit.bias.item() == model.intercept_ == 4.5
    assert fit.rank == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float32_rounding_counts_as_dependence_in_float32_only(dtype: torch.dtype) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = noisy(2000, 3)
    X, y = X.float(), y.float()
    X[:, 2] = X[:, 0] - 2 * X[:, 1]  # rounded to float32: dependent up to its rounding
    X, y = X.to(dtype), y.to(dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_linear(X, y)
    if dtype == torch.float32:
        # Judged at float32's precision, as scikit-learn's float32 solver judges it.
        model = LinearRegression().fit(X.numpy(), y.numpy())
        assert fit.rank == model.rank_ == 2 and len(caught) == 1
        assert relative_error(fit.weight, model.coef_.astype(np.float64)) < 1e-5
    else:
        # In float64 the rounding is data, far above float64's own: full rank, and the
        # exact fit of that data (condition number about 1e8: both solvers keep 8 digits).
        weight, _ = centred_reference(X, y)
        assert fit.rank == 3 and not caught
        assert relative_error(fit.weight, weight) < 1e-6


@pytest.mark.parametrize(
    ("dtype", "delta", "tolerance"),
    [(torch.float32, 1e-3, 1e-6), (torch.float64, 1e-3, 1e-12), (torch.float64, 1e-6, 1e-8)],
)
def test_near_collinear_data_keep_their_accuracy(
    dtype: torch.dtype, delta: float, tolerance: float
) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = noisy(2000, 5, seed=3)
    X[:, 1] = X[:, 0] + delta * X[:, 1]  # condition number about 1 / delta
    X, y = X.to(dtype), y.to(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # full rank: no warning
        fit = fit_linear(X, y)
    weight, bias = centred_reference(X, y)
    # NumPy's SVD in float64 is accurate to about delta^-1 * 1e-16 itself: 1e-10 at 1e-6.
    error = relative_error(fit.weight, weight)
    assert error < tolerance
    assert abs(fit.bias.item() - bias) < 1e3 * tolerance
    if dtype == torch.float32:  # in float64 the reference is scikit-learn's own method
        model = LinearRegression().fit(X.numpy(), y.numpy())
        assert error <= relative_error(torch.from_numpy(model.coef_), weight)


def test_well_conditioned_data_take_the_one_pass_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_qr(*args: object) -> None:
        raise AssertionError("the QR fallback ran")

    monkeypatch.setattr(linear, "_qr_solution", no_qr)
    for dtype in (torch.float32, torch.float64):
        X, y = noisy(1000, 5)
        fit_linear((X + 100).to(dtype), y.to(dtype))  # shifted: centring keeps it cheap
    # The companion: near-collinear data do reach the fallback.
    X[:, 1] = X[:, 0] + 1e-3 * X[:, 1]
    with pytest.raises(AssertionError, match="the QR fallback ran"):
        fit_linear(X, y)


def test_many_blocks_give_the_same_answer_in_the_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = noisy(1000, 4)
    X[:, 3] = X[:, 0] + X[:, 1]  # rank 3: the QR path
    with pytest.warns(RuntimeWarning):
        whole = fit_linear(X, y)
    monkeypatch.setattr(linear, "BLOCK_ROWS", 70)  # 15 blocks, the last one of 20 rows
    with pytest.warns(RuntimeWarning):
        blocked = fit_linear(X, y)
    assert whole.rank == blocked.rank == 3
    torch.testing.assert_close(blocked.weight, whole.weight, rtol=0, atol=1e-12)
    torch.testing.assert_close(blocked.bias, whole.bias, rtol=0, atol=1e-12)


@pytest.mark.parametrize("factor", [1e20, 1e-22])
def test_float32_features_whose_squares_overflow_or_underflow_still_fit(factor: float) -> None:
    X, y = noisy(500, 3)
    X, y = X.float(), y.float()
    fit = fit_linear(X * factor, y)
    weight, bias = centred_reference(X * factor, y)
    assert relative_error(fit.weight, weight) < 1e-6
    assert abs(fit.bias.item() - bias) < 1e-6


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_without_intercept_matches_scikit_learn(dtype: torch.dtype) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = noisy(500, 3)
    X, y = (X + 10).to(dtype), y.to(dtype)
    fit = fit_linear(X, y, fit_intercept=False)
    weight = np.linalg.lstsq(X.double().numpy(), y.double().numpy(), rcond=None)[0]
    model = LinearRegression(fit_intercept=False).fit(X.numpy(), y.numpy())
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    assert relative_error(fit.weight, weight) < tolerance
    assert relative_error(fit.weight, model.coef_.astype(np.float64)) < 10 * tolerance
    assert fit.bias.item() == model.intercept_ == 0.0
    assert fit_linear(X, y[:, None], fit_intercept=False).bias.shape == (1,)


def model_output(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Features that a model computed, and targets that require grad."""
    generator = torch.Generator().manual_seed(0)
    layer = torch.nn.Linear(4, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(3, 4, generator=generator))
    X = layer(torch.randn(n, 4, generator=generator))
    y = (X.detach() @ torch.tensor([1.0, -1.0, 0.5])).requires_grad_()
    return X, y


def assert_unchanged(before: list[torch.Tensor], after: list[torch.Tensor]) -> None:
    for old, new in zip(before, after, strict=True):
        torch.testing.assert_close(new, old, rtol=0, atol=0, equal_nan=True)


def test_assert_unchanged_notices_a_change() -> None:
    # The companion of the tests that use it: one changed element is caught.
    X = torch.ones(3, 2)
    before = [X.clone()]
    X[1, 0] = 2.0
    with pytest.raises(AssertionError):
        assert_unchanged(before, [X])


def test_inputs_that_require_grad_are_read_and_left_alone() -> None:
    X, y = model_output(100)
    parameter = torch.nn.Parameter(X.detach().clone())
    before = [X.detach().clone(), y.detach().clone()]
    want = fit_linear(X.detach(), y.detach())
    for features, targets in ((X, y), (parameter, y), (X.detach(), y), (parameter, y[:, None])):
        fit = fit_linear(features, targets)
        assert not fit.weight.requires_grad and not fit.bias.requires_grad
        torch.testing.assert_close(fit.weight.reshape(-1), want.weight, rtol=0, atol=0)
    assert parameter.grad is None and y.grad is None
    assert_unchanged(before, [X.detach(), y.detach()])


def test_predict_checks_what_it_is_given() -> None:
    fit = fit_linear(*synthetic_linear(30, [1.0, 2.0], 0.5))
    good = torch.ones(4, 2)
    assert fit.predict(good).shape == (4, 1)
    assert fit.predict(torch.ones(0, 2)).shape == (0, 1)  # nothing to predict, no error
    cases: list[tuple[object, type[Exception], str]] = [
        (None, TypeError, "'X' must be a torch.Tensor, got NoneType"),
        ([[1.0, 2.0]], TypeError, "'X' must be a torch.Tensor, got list"),
        (torch.ones(4, 3), ValueError, r"must have 2 columns, one per feature of the fit, got "
         r"shape \(4, 3\)"),
        (torch.ones(2), ValueError, r"must be 2-D .* for one sample use X.unsqueeze\(0\)"),
        (good.double(), TypeError, "must have the fit's dtype torch.float32, got torch.float64"),
        (torch.ones(4, 2, dtype=torch.int64), TypeError, "must be a floating tensor"),
    ]  # fmt: skip
    for X, error, message in cases:
        with pytest.raises(error, match=rf"^LinearFit\.predict\(\) argument .*{message}"):
            fit.predict(X)  # type: ignore[arg-type]
    elsewhere = LinearFit(fit.weight.to("meta"), fit.bias.to("meta"), fit.rank)
    with pytest.raises(ValueError, match=r"must be on the fit's device meta, got cpu"):
        elsewhere.predict(good)


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
        (torch.ones(0, 2), torch.ones(0, 1), ValueError, "'X' has no samples"),
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
            torch.tensor([[1e-30], [-1e-30], [3e-30]]),
            torch.tensor([1e10, -1e10, 3e10]),
            ValueError,
            "the fitted weights or bias overflow torch.float32",
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


def test_fit_intercept_must_be_a_bool() -> None:
    X, y = synthetic_linear(10, [1.0], 0.0)
    for value in (1, "no", None):
        with pytest.raises(TypeError, match=r"fit_linear\(\) argument 'fit_intercept' must be"):
            fit_linear(X, y, fit_intercept=value)  # type: ignore[arg-type]
