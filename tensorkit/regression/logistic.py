"""Logistic regression by Newton's method: the exact minimum that SGD on ``BCELoss`` approaches.

The mean binary cross-entropy of a linear model is convex and smooth, and with a few
features its Hessian is a small matrix, so Newton's method reaches the minimum in a
handful of steps, each one pass over the data. How it stays fast and accurate:

* The features are centred once, into a float32 copy stored feature by feature, so
  that every large product reads memory in order and the Hessian stays well
  conditioned when the features lie far from zero.
* On large data sets, a fit on every eighth sample gives the starting point; two or
  three steps on all the data then finish the job.
* Float64 data get float32 steps first, then a few float64 gradient steps that reuse the
  last Hessian: the Hessian only sets how fast the steps converge, while the gradient
  sets where they stop, so the result is as accurate as an all-float64 fit.

The small ``(features + 1)``-square systems are solved in float64 on the CPU.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import torch
import torch.nn.functional as F

from tensorkit._checks import (
    check_features,
    check_finite,
    check_pair,
    check_positive_int,
    check_real,
)

#: Rows used to estimate the column means that centre the data.
CENTRE_SAMPLE = 1024
#: Data sets with at least this many samples start from a fit on a subsample ...
WARM_START_MIN = 16384
#: ... of every this-many-th sample.
WARM_START_STRIDE = 8


class LogisticFit(NamedTuple):
    """The result of [`fit_logistic`][tensorkit.regression.fit_logistic].

    ``weight`` and ``bias`` have the shapes of ``nn.Linear(features, 1)``'s parameters
    when ``y`` was given as ``(samples, 1)``, and ``(features,)`` and ``()`` when it was
    1-D. ``loss`` is the mean binary cross-entropy on the training data at the fit (the
    penalty not included), and ``iterations`` the number of Newton steps taken on all
    the data (steps on the subsample that gives large data sets their starting point
    are not counted).
    """

    weight: torch.Tensor
    bias: torch.Tensor
    loss: float
    iterations: int

    def probability(self, X: torch.Tensor) -> torch.Tensor:
        """The fitted probability of class 1, ``sigmoid(X @ weight.T + bias)``."""
        if self.weight.ndim == 1:
            return torch.sigmoid(X @ self.weight + self.bias)
        return torch.sigmoid(X @ self.weight.mT + self.bias)


def _separated(z: torch.Tensor, y: torch.Tensor) -> bool:
    """Whether the logits ``z`` put every sample on its own label's side of 0."""
    return bool(((z > 0) == (y > 0.5)).all())


class _Problem:
    """The penalised mean cross-entropy of a linear model on centred features.

    ``rows`` holds the centred features as rows, then a row of ones for the bias: shape
    ``(features + 1, samples)``. The parameters are one float64 vector on the CPU, the
    bias last, so that each step is a handful of large operations.
    """

    def __init__(self, rows: torch.Tensor, labels: torch.Tensor, l2: float) -> None:
        self.rows = rows
        self.labels = labels
        self.l2 = l2
        self.n = labels.shape[0]
        self.d = rows.shape[0] - 1
        # The penalty's curvature: l2 for each weight, nothing for the bias.
        # On the CPU whatever the default device (torch.set_default_device("cuda")).
        ridge = torch.tensor([l2] * self.d + [0.0], dtype=torch.float64, device="cpu")
        self.ridge = torch.diag(ridge)
        self.weighted = torch.empty_like(rows)  # reused by every Hessian

    def value(self, theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        """The objective at ``theta``, and the logits it was computed from."""
        z = theta.to(self.rows.device, self.rows.dtype) @ self.rows
        loss = F.binary_cross_entropy_with_logits(z, self.labels, reduction="sum").item()
        weight = theta[: self.d]
        return loss / self.n + 0.5 * self.l2 * float(weight @ weight), z

    def derivatives(
        self, z: torch.Tensor, theta: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradient and Hessian at the logits ``z``, in float64 on the CPU."""
        p = torch.sigmoid(z)
        residual = p - self.labels
        curvature = torch.addcmul(p, p, p, value=-1)  # p (1 - p)
        gradient = (self.rows @ residual).double().cpu() / self.n + self.ridge @ theta
        torch.mul(self.rows, curvature, out=self.weighted)
        hessian = (self.weighted @ self.rows.mT).double().cpu() / self.n + self.ridge
        return gradient, hessian


class _State(NamedTuple):
    theta: torch.Tensor  # weights then bias, float64, on the CPU
    value: float
    z: torch.Tensor
    factor: torch.Tensor | None  # Cholesky factor of the last Hessian, if any
    iterations: int
    converged: bool
    singular: bool


def _newton(problem: _Problem, theta: torch.Tensor, tol: float, max_iter: int) -> _State:
    """Damped Newton steps from ``theta`` until the promised decrease is below ``tol``,
    or below what the dtype of the rows can resolve and no longer shrinking."""
    value, z = problem.value(theta)
    # Changes of the objective smaller than this drown in the rounding of the dtype.
    resolution = 8 * torch.finfo(problem.rows.dtype).eps * (1 + abs(value))
    previous = math.inf
    factor = None
    for iteration in range(max_iter + 1):
        gradient, hessian = problem.derivatives(z, theta)
        factor, info = torch.linalg.cholesky_ex(hessian)
        if info.item() != 0:
            return _State(theta, value, z, None, iteration, False, True)
        direction = -torch.cholesky_solve(gradient[:, None], factor)[:, 0]
        # Half the Newton decrement: the decrease the full step promises.
        promised = -float(gradient @ direction) / 2
        if promised <= tol or (promised <= resolution and promised > previous / 4):
            # Done, or as close as the dtype can tell: the steps stopped shrinking. The
            # last step is taken anyway: near the minimum each step squares the error.
            theta = theta + direction
            value, z = problem.value(theta)
            return _State(theta, value, z, factor, iteration + 1, True, False)
        if iteration == max_iter:
            break
        previous = promised
        length = 1.0
        while True:
            trial = theta + length * direction
            trial_value, trial_z = problem.value(trial)
            # Near the minimum the full step is right, and the objective can no longer
            # tell; farther away, halve the step until it decreases the objective enough.
            enough = trial_value <= value - 2e-4 * length * promised
            if promised <= resolution or enough or length < 1e-10:
                break
            length /= 2
        theta, value, z = trial, trial_value, trial_z
    return _State(theta, value, z, factor, max_iter, False, False)


def _polish(
    X: torch.Tensor,
    labels: torch.Tensor,
    centre: torch.Tensor,
    state: _State,
    l2: float,
    tol: float,
    steps: int,
) -> tuple[torch.Tensor, float, int]:
    """Newton steps with float64 gradients from ``X`` itself and the last Hessian.

    Returns the centred parameters, the mean cross-entropy, and the steps taken.
    """
    assert state.factor is not None
    n, d = X.shape
    theta = state.theta
    shift = centre.to(torch.float64).cpu()
    ridge = torch.tensor([l2] * d + [0.0], dtype=torch.float64, device="cpu")
    taken = 0
    promised = math.inf
    while True:
        # X is not centred here; in float64 that costs no accuracy worth having.
        weight = theta[:d]
        z = X @ weight.to(X.device, X.dtype) + (float(theta[d]) - float(shift @ weight))
        if promised <= tol or taken == steps:
            loss = F.binary_cross_entropy_with_logits(z, labels, reduction="sum").item()
            return theta, loss / n, taken
        residual = torch.sigmoid(z) - labels
        total = residual.sum().item()
        gradient = torch.empty(d + 1, dtype=torch.float64, device="cpu")
        gradient[:d] = ((X.mT @ residual).cpu() - shift * total) / n
        gradient[d] = total / n
        gradient += ridge * theta
        direction = -torch.cholesky_solve(gradient[:, None], state.factor)[:, 0]
        # The step is taken even when it promises less than tol, as in _newton.
        promised = -float(gradient @ direction) / 2
        theta = theta + direction
        taken += 1


def fit_logistic(
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    l2: float = 0.0,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> LogisticFit:
    """Fit ``P(y = 1 | x) = sigmoid(x @ weight + bias)`` by minimising the mean cross-entropy.

    Minimises ``BCE(sigmoid(X @ weight + bias), y).mean() + l2 / 2 * ||weight||²`` by
    Newton's method with a backtracking line search; the bias is not penalised.
    scikit-learn's ``LogisticRegression(C=C)`` minimises the same function with
    ``l2 = 1 / (C * samples)``.

    Without a penalty (``l2=0``) the minimum does not exist when a plane separates the
    two classes: the weights would grow for ever. That case is reported as an error; pass
    a small ``l2`` to fit such data.

    Args:
        X: The features, a floating tensor of shape ``(samples, features)``.
        y: The labels, 0.0 or 1.0, of ``X``'s dtype and device: shape ``(samples,)`` or
            ``(samples, 1)``.
        l2: The strength of the L2 penalty on the weights, at least 0.
        tol: Stop when half the Newton decrement, the predicted decrease of the
            objective, falls below this.
        max_iter: The most Newton steps to take; a warning says if that was not enough.

    Returns:
        The fitted ``weight``, ``bias``, training ``loss`` and the number of
            ``iterations`` (see [`LogisticFit`][tensorkit.regression.LogisticFit]).

    Raises:
        TypeError: If ``X`` or ``y`` is not a tensor, ``X`` is not floating, ``y`` has
            another dtype than ``X``, or a number has the wrong type.
        ValueError: If the shapes do not fit together, the data are empty or hold NaN or
            infinite values, ``y`` holds a value other than 0 and 1 or only one of
            them, ``l2`` is negative, or (without a penalty) the classes are separable
            or the features linearly dependent.

    Examples:
        >>> import torch
        >>> from tensorkit.regression import fit_logistic
        >>> X = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
        >>> y = torch.tensor([0.0, 0.0, 1.0, 0.0, 1.0, 1.0])
        >>> fit = fit_logistic(X, y)
        >>> fit.weight, fit.bias
        (tensor([1.2140]), tensor(-3.0351))
        >>> round(fit.loss, 4), fit.iterations
        (0.413, 6)
        >>> fit.probability(torch.tensor([[2.5]]))
        tensor([0.5000])
    """
    function = "fit_logistic"
    X = check_features(X, function)
    y = check_pair(X, y, function)
    if y.ndim == 2 and y.shape[1] != 1:
        raise ValueError(
            f"{function}() argument 'y' must be (samples,) or (samples, 1), got shape "
            f"{tuple(y.shape)}: it fits one binary label per sample"
        )
    l2 = check_real("l2", l2, function)
    tol = check_real("tol", tol, function, strict=True)
    max_iter = check_positive_int("max_iter", max_iter, function)
    check_finite("X", X, function)
    labels = y.reshape(-1)
    is_label = (labels == 0) | (labels == 1)
    if not bool(is_label.all()):
        bad = labels[~is_label][0].item()
        raise ValueError(
            f"{function}() argument 'y' must hold only the labels 0 and 1, got {bad}; "
            "for labels such as -1/1 use (y > 0).to(X.dtype)"
        )
    n, d = X.shape
    positive = labels.sum(dtype=torch.float64).item() / n
    if positive in (0.0, 1.0):
        raise ValueError(
            f"{function}() argument 'y' holds only the label {int(positive)}: logistic "
            "regression needs samples of both classes"
        )

    step = max(1, n // CENTRE_SAMPLE)
    centre = X[::step].mean(dim=0)
    rows = torch.empty(d + 1, n, dtype=torch.float32, device=X.device)
    torch.sub(X.mT, centre[:, None], out=rows[:d])
    rows[d] = 1
    labels32 = labels.to(torch.float32)
    problem = _Problem(rows, labels32, l2)

    theta = torch.zeros(d + 1, dtype=torch.float64, device="cpu")
    theta[d] = math.log(positive / (1 - positive))  # the best fit with no feature at all
    if n >= WARM_START_MIN:
        every = slice(None, None, WARM_START_STRIDE)
        sample = _Problem(rows[:, every].contiguous(), labels32[every], l2)
        start = _newton(sample, theta, tol, max_iter=10)
        if start.converged:
            theta = start.theta
    state = _newton(problem, theta, tol, max_iter)
    if state.singular and not (l2 == 0 and _separated(state.z, labels32)):
        raise ValueError(
            f"{function}() argument 'X' has linearly dependent or constant columns, so "
            "the fit is not unique; remove them, or pass l2 > 0"
        )
    if l2 == 0 and _separated(state.z, labels32):
        raise ValueError(
            f"{function}() arguments 'X' and 'y': a plane separates the two classes, so "
            "without a penalty the weights grow without bound and no minimum exists; "
            "pass l2 > 0, e.g. l2=1e-3"
        )
    if not state.converged:
        warnings.warn(
            f"{function}() did not converge in max_iter={max_iter} Newton steps; raise "
            "max_iter or tol",
            RuntimeWarning,
            stacklevel=2,
        )
    theta, iterations = state.theta, state.iterations
    loss = state.value - 0.5 * l2 * float(theta[:d] @ theta[:d])
    if X.dtype == torch.float64 and state.factor is not None:
        theta, loss, polished = _polish(X, labels, centre, state, l2, tol, steps=5)
        iterations += polished
    weight = theta[:d]
    bias = float(theta[d]) - float(centre.to(torch.float64).cpu() @ weight)
    w_out = weight.to(X.device, X.dtype)
    b_out = torch.tensor(bias, dtype=X.dtype, device=X.device)
    if y.ndim == 2:
        return LogisticFit(w_out.reshape(1, d), b_out.reshape(1), loss, iterations)
    return LogisticFit(w_out, b_out, loss, iterations)
