"""tensorkit.regression.logistic: the exact minimum of the penalised cross-entropy, checked."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

from tensorkit.regression import LogisticFit, _fitting, fit_logistic, logistic, two_blobs


def logistic_data(
    n: int, d: int = 3, *, seed: int = 0, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    weight = torch.linspace(-1.5, 1.0, d, dtype=torch.float64)
    p = torch.sigmoid(X @ weight + 0.3)
    y = (torch.rand(n, generator=generator, dtype=torch.float64) < p).double()
    return X.to(dtype), y.to(dtype)


def objective_gradient(
    X: torch.Tensor, y: torch.Tensor, fit: LogisticFit, l2: float
) -> torch.Tensor:
    """The gradient of the penalised mean cross-entropy at the fit, by autograd in float64."""
    weight = fit.weight.reshape(-1).double().requires_grad_()
    bias = fit.bias.reshape(()).double().requires_grad_()
    z = X.double() @ weight + bias
    loss = F.binary_cross_entropy_with_logits(z, y.reshape(-1).double())
    (loss + 0.5 * l2 * weight @ weight).backward()  # type: ignore[no-untyped-call]
    assert weight.grad is not None and bias.grad is not None
    return torch.cat([weight.grad, bias.grad.reshape(1)])


@pytest.mark.parametrize("n", [200, 40_000])  # the second starts from a subsample's fit
@pytest.mark.parametrize("l2", [0.0, 1e-2])
@pytest.mark.parametrize("shift", [0.0, 100.0])
def test_float64_fit_is_a_stationary_point(n: int, l2: float, shift: float) -> None:
    # On 40 000 samples the steps on all the data run in float32 first, then in float64:
    # the float32 steps alone leave a gradient 30 times the bound (the companion below).
    # The gradient's entries are means of x times a residual, so with x near 100 their
    # rounding, and the bound, are 100 times as large.
    X, y = logistic_data(n)
    X = X + shift
    fit = fit_logistic(X, y, l2=l2)
    assert objective_gradient(X, y, fit, l2).abs().max() < 1e-10 * max(1.0, shift)


@pytest.mark.parametrize("shift", [0.0, 100.0])
def test_without_the_float64_steps_the_gradient_stays_large(
    monkeypatch: pytest.MonkeyPatch, shift: float
) -> None:
    # The companion of the test above: what it would see if the float64 steps were lost.
    monkeypatch.setattr(logistic, "_polish", lambda features, fitted, tol: fitted)
    X, y = logistic_data(40_000)
    fit = fit_logistic(X + shift, y)
    assert objective_gradient(X + shift, y, fit, 0.0).abs().max() > 1e-10 * max(1.0, shift)


@pytest.mark.parametrize("shift", [0.0, 100.0])
def test_float32_fit_matches_the_float64_fit_of_the_same_data(shift: float) -> None:
    X, y = logistic_data(40_000, d=5, dtype=torch.float32)
    X = X + shift
    single = fit_logistic(X, y, l2=1e-4)
    exact = fit_logistic(X.double(), y.double(), l2=1e-4)
    torch.testing.assert_close(single.weight.double(), exact.weight, rtol=0, atol=1e-5)
    # The bias is about 100 times the weights here: float32 keeps it to about 1e-5.
    assert abs(single.bias.item() - exact.bias.item()) < 1e-5 * max(1.0, shift)
    assert abs(single.loss - exact.loss) < 1e-6


def test_matches_scikit_learn_with_the_same_penalty() -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = logistic_data(2000, d=4)
    C = 0.5
    fit = fit_logistic(X, y, l2=1 / (C * len(X)))
    model = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X.numpy(), y.numpy())
    torch.testing.assert_close(fit.weight, torch.from_numpy(model.coef_[0]), rtol=0, atol=1e-6)
    assert abs(fit.bias.item() - model.intercept_[0]) < 1e-6


def test_loss_is_the_mean_cross_entropy_without_the_penalty() -> None:
    X, y = logistic_data(300)
    fit = fit_logistic(X, y, l2=0.1)
    expected = F.binary_cross_entropy(fit.probability(X), y).item()
    assert abs(fit.loss - expected) < 1e-12
    assert 1 <= fit.iterations < 20


def test_shapes_follow_the_labels() -> None:
    X, y = logistic_data(100, d=3, dtype=torch.float32)
    flat = fit_logistic(X, y)
    assert flat.weight.shape == (3,) and flat.bias.shape == ()
    column = fit_logistic(X, y[:, None])
    assert column.weight.shape == (1, 3) and column.bias.shape == (1,)
    torch.testing.assert_close(column.weight[0], flat.weight)
    assert column.probability(X).shape == (100, 1) and flat.probability(X).shape == (100,)
    assert flat.weight.dtype == flat.bias.dtype == torch.float32


def test_inputs_are_not_modified() -> None:
    X, y = logistic_data(30_000, dtype=torch.float32)
    X_before, y_before = X.clone(), y.clone()
    fit_logistic(X, y)
    fit_logistic(X.double(), y.double())
    assert torch.equal(X, X_before) and torch.equal(y, y_before)


def test_separable_data_need_a_penalty() -> None:
    X, y = two_blobs(100, center=4.0, seed=0)
    with pytest.raises(ValueError, match=r"a plane separates the two classes.*pass l2 > 0"):
        fit_logistic(X, y)
    fit = fit_logistic(X, y, l2=1e-3)
    assert ((fit.probability(X) > 0.5).float() == y).all()


def test_collinear_features_need_a_penalty() -> None:
    X, y = logistic_data(200, d=2)
    X = torch.cat([X, X[:, :1] - 2 * X[:, 1:]], dim=1)
    with pytest.raises(ValueError, match=r"argument 'X' has linearly dependent columns, so"):
        fit_logistic(X, y)
    fit_logistic(X, y, l2=1e-3)


def test_a_constant_column_is_named() -> None:
    X, y = logistic_data(200, d=3)
    X[:, 1] = 3.0
    with pytest.raises(ValueError, match=r"'X' has constant columns \[1\], which the bias"):
        fit_logistic(X, y)
    fit_logistic(X, y, l2=1e-3)


def test_near_separation_is_named_as_the_cause() -> None:
    generator = torch.Generator().manual_seed(15)
    X = torch.randn(50, 2, generator=generator, dtype=torch.float64)
    y = (X[:, 0] > 0).double()
    # Five ties on the boundary: no plane separates the classes, yet the weights grow
    # until float32's curvature p (1 - p) is 0 for every other sample.
    X[:5, 0] = 0.0
    y[:5] = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0], dtype=torch.float64)
    for dtype in (torch.float32, torch.float64):
        with pytest.raises(ValueError, match=r"the logits reached .* all but separated"):
            fit_logistic(X.to(dtype), y.to(dtype))


def sklearn_fit(X: torch.Tensor, y: torch.Tensor, C: float) -> tuple[torch.Tensor, float]:
    """scikit-learn's Newton solver, run to its tightest tolerance, in float64."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    model = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=100)
    model.fit(X.double().numpy(), y.double().numpy())
    return torch.from_numpy(model.coef_[0]), float(model.intercept_[0])


@pytest.mark.parametrize(
    ("dtype", "factor"),
    [
        (torch.float64, 1e20),
        (torch.float64, 1e40),
        (torch.float64, 1e-30),
        (torch.float32, 1e20),
        (torch.float32, 1e-20),
    ],
)
def test_features_of_any_size_fit(dtype: torch.dtype, factor: float) -> None:
    X, y = logistic_data(2000, d=4)
    C = 0.5
    weight, bias = sklearn_fit(X, y, C)  # on the features as drawn, near 1
    # The same data in other units, and the same penalty in those units.
    fit = fit_logistic((X * factor).to(dtype), y.to(dtype), l2=factor**2 / (C * len(X)))
    tolerance = 1e-6 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(fit.weight.double() * factor, weight, rtol=0, atol=tolerance)
    assert abs(fit.bias.item() - bias) < tolerance


def test_values_too_large_to_centre_are_named() -> None:
    X = torch.tensor([[1.7e308], [1.7e308], [0.0], [1.0]], dtype=torch.float64)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"too large to centre in float64 in column 0 .* "
                       r"overflow; scale X down"):  # fmt: skip
        fit_logistic(X, y)


def test_the_centring_sample_does_not_change_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = logistic_data(3000, d=3)
    X = X + 50.0
    usual = fit_logistic(X, y)
    # One row: the centre is that row, and the sample shows no spread at all, so every
    # row sets the scale.
    monkeypatch.setattr(_fitting, "CENTRE_SAMPLE", 1)
    single = fit_logistic(X, y)
    torch.testing.assert_close(single.weight, usual.weight, rtol=0, atol=1e-10)
    assert abs(single.bias.item() - usual.bias.item()) < 1e-8


def model_output(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Features that a model computed, and labels that require grad."""
    generator = torch.Generator().manual_seed(0)
    layer = torch.nn.Linear(4, 3)
    X = layer(torch.randn(n, 4, generator=generator))
    p = torch.sigmoid(X.detach() @ torch.tensor([1.0, -1.0, 0.5]))
    y = (torch.rand(n, generator=generator) < p).float().requires_grad_()
    return X, y


def test_inputs_that_require_grad_are_read_and_left_alone() -> None:
    X, y = model_output(300)
    parameter = torch.nn.Parameter(X.detach().clone())
    before = [X.detach().clone(), y.detach().clone()]
    want = fit_logistic(X.detach(), y.detach())
    for features, labels in ((X, y), (parameter, y), (X.detach(), y), (parameter, y[:, None])):
        fit = fit_logistic(features, labels)
        assert not fit.weight.requires_grad and not fit.bias.requires_grad
        torch.testing.assert_close(fit.weight.reshape(-1), want.weight, rtol=0, atol=0)
    assert parameter.grad is None and y.grad is None
    for old, new in zip(before, [X.detach(), y.detach()], strict=True):
        assert torch.equal(old, new)


def test_probability_checks_what_it_is_given() -> None:
    X, y = logistic_data(100, d=3, dtype=torch.float32)
    fit = fit_logistic(X, y)
    assert fit.probability(torch.zeros(0, 3)).shape == (0,)
    cases: list[tuple[object, type[Exception], str]] = [
        (None, TypeError, "'X' must be a torch.Tensor, got NoneType"),
        ([[1.0, 2.0, 3.0]], TypeError, "'X' must be a torch.Tensor, got list"),
        (torch.ones(4, 2), ValueError, r"must have 3 columns, one per feature of the fit"),
        (torch.ones(4, 3, dtype=torch.float64), TypeError, "must have the fit's dtype"),
        (torch.ones(4, 3, dtype=torch.bool), TypeError, "must be a floating tensor"),
        (torch.ones(2, 2, 3), ValueError, r"must be 2-D \(samples, features\), got shape"),
    ]
    for value, error, message in cases:
        with pytest.raises(error, match=rf"^LogisticFit\.probability\(\) argument .*{message}"):
            fit.probability(value)  # type: ignore[arg-type]
    elsewhere = fit._replace(weight=fit.weight.to("meta"), bias=fit.bias.to("meta"))
    with pytest.raises(ValueError, match=r"must be on the fit's device meta, got cpu"):
        elsewhere.probability(X)


def test_too_few_iterations_warn() -> None:
    X, y = logistic_data(200)
    with pytest.warns(RuntimeWarning, match=r"did not converge in max_iter=1 Newton steps"):
        fit_logistic(X, y, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_logistic(X, y, max_iter=100)


def test_the_subsample_start_does_not_change_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = logistic_data(40_000, dtype=torch.float64)
    warm = fit_logistic(X, y)
    monkeypatch.setattr(logistic, "WARM_START_MIN", 10**9)
    cold = fit_logistic(X, y)
    # Both stop where the objective promises less than tol**2 = 1e-20 more: the weights
    # are then within about 1e-9 of the minimum, and in practice far closer.
    assert warm.iterations != cold.iterations or warm.weight.ne(cold.weight).any()
    torch.testing.assert_close(warm.weight, cold.weight, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "error", "message"),
    [
        ("X", torch.ones(2), {}, TypeError, "'X' must be a torch.Tensor, got str"),
        (torch.ones(4, 2), [0.0, 1.0, 0.0, 1.0], {}, TypeError, "'y' must be a torch.Tensor"),
        (
            torch.ones(4, 2, dtype=torch.int32),
            torch.ones(4),
            {},
            TypeError,
            "'X' must be a floating tensor",
        ),
        (
            torch.ones(4, 2),
            torch.tensor([0, 1, 0, 1]),
            {},
            TypeError,
            "'y' must have X's dtype torch.float32, got torch.int64",
        ),
        (torch.ones(4, 2), torch.ones(5), {}, ValueError, "X has 4, y has 5 samples"),
        (torch.ones(0, 2), torch.ones(0), {}, ValueError, "'X' has no samples"),
        (torch.ones(4, 2), torch.ones(4, 2), {}, ValueError, r"must be \(samples,\) or"),
        (
            torch.ones(4, 2),
            torch.tensor([0.0, 1.0, 2.0, 1.0]),
            {},
            ValueError,
            "only the labels 0 and 1, got 2.0",
        ),
        (
            torch.ones(4, 2),
            torch.tensor([-1.0, 1.0, -1.0, 1.0]),
            {},
            ValueError,
            r"got -1.0; for labels such as -1/1 use \(y > 0\)",
        ),
        (
            torch.ones(4, 2),
            torch.tensor([0.0, float("nan"), 1.0, 1.0]),
            {},
            ValueError,
            "only the labels 0 and 1, got nan",
        ),
        (torch.ones(4, 2), torch.ones(4), {}, ValueError, "holds only the label 1"),
        (
            torch.tensor([[0.0], [float("inf")], [1.0], [2.0]]),
            torch.tensor([0.0, 1.0, 0.0, 1.0]),
            {},
            ValueError,
            r"'X' holds NaN or infinite values, the first at index \(1, 0\)",
        ),
        (
            torch.rand(4, 2),
            torch.tensor([0.0, 1.0, 0.0, 1.0]),
            {"l2": -1.0},
            ValueError,
            "'l2' must be at least 0",
        ),
        (
            torch.rand(4, 2),
            torch.tensor([0.0, 1.0, 0.0, 1.0]),
            {"tol": 0.0},
            ValueError,
            "'tol' must be above 0",
        ),
        (
            torch.rand(4, 2),
            torch.tensor([0.0, 1.0, 0.0, 1.0]),
            {"max_iter": 0},
            ValueError,
            "'max_iter' must be at least 1",
        ),
    ],
)
def test_bad_input(
    X: object, y: object, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    keep = [t.clone() for t in (X, y) if isinstance(t, torch.Tensor)]
    with pytest.raises(error, match=rf"fit_logistic\(\) .*{message}"):
        fit_logistic(X, y, **kwargs)  # type: ignore[arg-type]
    after = [t for t in (X, y) if isinstance(t, torch.Tensor)]
    for before, now in zip(keep, after, strict=True):  # nothing was changed in place
        torch.testing.assert_close(now, before, rtol=0, atol=0, equal_nan=True)


def test_large_data_finish_without_full_newton_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_newton(*args: object) -> None:
        raise AssertionError("full Newton steps ran")

    monkeypatch.setattr(logistic, "_full_newton", no_newton)
    for dtype in (torch.float32, torch.float64):
        fit = fit_logistic(*logistic_data(40_000, d=5, dtype=dtype), l2=1e-4)
        assert fit.iterations > 0
    # The companion: 40 features from a subsample of 2048 rows give a Hessian too far from
    # the full one, and Newton steps on all the data take over.
    with pytest.raises(AssertionError, match="full Newton steps ran"):
        fit_logistic(*logistic_data(16384, d=40))
