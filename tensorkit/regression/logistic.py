"""Logistic regression by Newton's method: the exact minimum that SGD on ``BCELoss`` approaches.

The mean binary cross-entropy of a linear model is convex and smooth, and with a few
features its Hessian is a small matrix, so Newton's method reaches the minimum in a
handful of steps, each one pass over the data. How it stays fast and accurate:

* The features are centred and scaled once, into a float32 copy stored feature by
  feature, so that every large product reads memory in order and the Hessian stays well
  conditioned when the features lie far from zero. Each column is divided by a power of
  two near its largest distance from the centre, which is exact and brings its values
  near ±1: features of any magnitude (1e-30 or 1e40 in float64, 1e20 in float32) then
  fit in float32 without overflow or underflow, and so do their squares.
* On large data sets, a fit on every eighth sample gives the starting point and its
  Hessian; a few steps that reuse that Hessian, with gradients from all the data, then
  finish the job, each at the cost of a gradient rather than of a Hessian. The Hessian
  only sets how fast the steps converge, while the gradient sets where they stop, so
  the result is that of full Newton steps; should the steps stop converging fast,
  Newton steps on all the data take over.
* Float64 data take those steps in float32 too, on a scaled float32 copy, then two or
  three float64 gradient steps that reuse the last Hessian, so the result is as
  accurate as an all-float64 fit at little more than the cost of a float32 one.

The small ``(features + 1)``-square systems are solved in float64 on the CPU.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
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
from tensorkit.regression._fitting import (
    Scaled,
    check_new_features,
    scaled_rows,
    scaled_samples,
    scaling,
    unit_scaling,
)

#: Beyond logits of this size, float32's p (1 - p) is below 1e-13 and the Hessian
#: loses the samples there: a singular Hessian then means near separation.
LARGEST_LOGIT = 30.0
#: Steps that reuse one Hessian take at most this many, each shrinking the promised
#: decrease at least this much (about 0.005 is usual), or full Newton steps take over.
REUSE_STEPS, REUSE_CONTRACTION = 12, 0.1
#: After float32 Newton steps, float64 data get at most this many float64 steps.
POLISH_STEPS = 5
#: Data sets with at least this many samples start from a fit on a subsample ...
WARM_START_MIN = 16384
#: ... of every this-many-th sample.
WARM_START_STRIDE = 8


class LogisticFit(NamedTuple):
    """The result of [`fit_logistic`][tensorkit.regression.fit_logistic].

    ``weight`` and ``bias`` have the shapes of ``nn.Linear(features, 1)``'s parameters
    when ``y`` was given as ``(samples, 1)``, and ``(features,)`` and ``()`` when it was
    1-D. ``loss`` is the mean binary cross-entropy on the training data at the fit (the
    penalty not included), and ``iterations`` the number of steps taken on all the
    data: Newton steps, and the cheaper steps that reuse an earlier Hessian (steps on
    the subsample that gives large data sets their starting point are not counted).
    """

    weight: torch.Tensor
    bias: torch.Tensor
    loss: float
    iterations: int

    def probability(self, X: torch.Tensor) -> torch.Tensor:
        """The fitted probability of class 1, ``sigmoid(X @ weight.T + bias)``.

        Args:
            X: Features of shape ``(samples, features)``, in the fit's dtype and on its
                device.

        Returns:
            The probabilities, of shape ``(samples,)``, or ``(samples, 1)`` when the fit
            was given labels of shape ``(samples, 1)``.

        Raises:
            TypeError: If ``X`` is not a tensor or has another dtype than the fit.
            ValueError: If ``X`` is not 2-D, has another number of features than the fit,
                or lies on another device.
        """
        X = check_new_features(X, self.weight, "LogisticFit.probability")
        if self.weight.ndim == 1:
            return torch.sigmoid(X @ self.weight + self.bias)
        return torch.sigmoid(X @ self.weight.mT + self.bias)


def _separated(z: torch.Tensor, y: torch.Tensor) -> bool:
    """Whether the logits ``z`` put every sample on its own label's side of 0."""
    return bool(((z > 0) == (y > 0.5)).all())


class _Problem:
    """The penalised mean cross-entropy of a linear model on centred, scaled features.

    ``rows`` holds the features as rows, each centred and divided by its scale, then a
    row of ones for the bias: shape ``(features + 1, samples)``. The parameters are one
    float64 vector on the CPU, the bias last, so that each step is a handful of large
    operations. ``ridge`` is the penalty's curvature for each parameter: ``l2 / scale²``
    for a weight of the scaled features, 0 for the bias.
    """

    def __init__(self, rows: torch.Tensor, labels: torch.Tensor, ridge: torch.Tensor) -> None:
        self.rows = rows
        self.labels = labels
        self.ridge = ridge
        self.n = labels.shape[0]
        self.d = rows.shape[0] - 1
        self.weighted = torch.empty_like(rows)  # reused by every Hessian
        self.residual = torch.empty_like(labels)  # reused by every gradient

    def value(self, theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        """The objective at ``theta``, and the logits it was computed from."""
        z = theta.to(self.rows.device, self.rows.dtype) @ self.rows
        loss = F.binary_cross_entropy_with_logits(z, self.labels, reduction="sum").item()
        return loss / self.n + 0.5 * float(self.ridge @ theta.square()), z

    @property
    def eps(self) -> float:
        """The machine epsilon of the rows' dtype, which sets what the gradient resolves."""
        return torch.finfo(self.rows.dtype).eps

    def loss(self, theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        """The mean cross-entropy at ``theta``, the penalty left out, and the logits."""
        value, z = self.value(theta)
        return value - 0.5 * float(self.ridge @ theta.square()), z

    def gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """The gradient at ``theta``, in float64 on the CPU, without the Hessian."""
        theta_here = theta.to(self.rows.device, self.rows.dtype)
        residual = torch.mv(self.rows.mT, theta_here, out=self.residual)
        residual.sigmoid_().sub_(self.labels)  # in place, as in _Features.gradient
        return (self.rows @ residual).double().cpu() / self.n + self.ridge * theta

    def derivatives(
        self, z: torch.Tensor, theta: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradient and Hessian at the logits ``z``, in float64 on the CPU."""
        p = torch.sigmoid(z)
        residual = p - self.labels
        curvature = torch.addcmul(p, p, p, value=-1)  # p (1 - p)
        gradient = (self.rows @ residual).double().cpu() / self.n + self.ridge * theta
        torch.mul(self.rows, curvature, out=self.weighted)
        hessian = (self.weighted @ self.rows.mT).double().cpu() / self.n
        return gradient, hessian + torch.diag(self.ridge)


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


class _Features:
    """The objective's gradient and loss from features ``X`` stored sample by sample.

    Given float64 features, ``X`` is neither centred nor scaled here: in float64 that
    costs no accuracy worth having, and it saves a float64 copy. Given their float32
    copy, already centred and scaled (`scaled_samples`), ``scaled`` is `unit_scaling`.
    The parameters are those of the scaled features, as in `_Problem`.
    """

    def __init__(
        self, X: torch.Tensor, labels: torch.Tensor, scaled: Scaled, ridge: torch.Tensor
    ) -> None:
        self.X, self.labels, self.scaled, self.ridge = X, labels, scaled, ridge
        self.shift = scaled.centre / scaled.scale  # the centre in scaled units
        # Reused by every gradient: a fresh tensor per pass, and the page faults of
        # its first writes, cost a third of the pass on a large X.
        self.residual = torch.empty_like(labels)

    @property
    def eps(self) -> float:
        """The machine epsilon of float64, which sets what the gradient resolves."""
        return torch.finfo(self.X.dtype).eps

    def logits(self, theta: torch.Tensor) -> torch.Tensor:
        """The logits of every sample at ``theta``, in float64."""
        weight, bias = self.scaled.weights(theta)
        return self.X @ weight.to(self.X.device, self.X.dtype) + bias

    def gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """The gradient at ``theta``, in float64 on the CPU."""
        n, d = self.X.shape
        weight, bias = self.scaled.weights(theta)
        residual = torch.mv(self.X, weight.to(self.X.device, self.X.dtype), out=self.residual)
        residual.add_(bias).sigmoid_().sub_(self.labels)  # in place: one buffer throughout
        total = residual.sum().item()
        gradient = torch.empty(d + 1, dtype=torch.float64, device="cpu")
        gradient[:d] = ((self.X.mT @ residual).cpu() / self.scaled.scale - self.shift * total) / n
        gradient[d] = total / n
        return gradient + self.ridge * theta

    def loss(self, theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        """The mean cross-entropy at ``theta``, the penalty left out, and the logits."""
        z = self.logits(theta)
        loss = F.binary_cross_entropy_with_logits(z, self.labels, reduction="sum").item()
        return loss / self.X.shape[0], z


def _reuse(
    gradient_at: Callable[[torch.Tensor], torch.Tensor],
    theta: torch.Tensor,
    factor: torch.Tensor,
    tol: float,
    resolution: float,
    steps: int,
) -> tuple[torch.Tensor, int, bool] | None:
    """Newton steps that reuse one Hessian, ``factor`` its Cholesky factor.

    Each step costs one gradient, a fraction of a Newton step; the fixed point is still
    the minimum, and near it each step shrinks the promised decrease by a steady ratio
    (the Hessian's relative error, squared). A Newton step squares it instead, so these
    steps go on until the next one would promise less than ``tol**2``, or until the
    promise stops shrinking at what the dtype can resolve.

    Returns the parameters, the steps taken and whether they converged within
    ``steps``; ``None`` when a step above the resolution fails to shrink the promised
    decrease by ``REUSE_CONTRACTION``: the Hessian is too far from the present one.
    """
    previous = math.inf
    for step in range(steps):
        gradient = gradient_at(theta)
        direction = -torch.cholesky_solve(gradient[:, None], factor)[:, 0]
        promised = -float(gradient @ direction) / 2
        if not math.isfinite(promised):
            return None
        ratio = promised / previous if math.isfinite(previous) else REUSE_CONTRACTION
        if promised * ratio <= tol * tol or (promised <= resolution and ratio > 1 / 4):
            return theta + direction, step + 1, True  # the last step is taken, as in _newton
        if promised > resolution and ratio > REUSE_CONTRACTION:
            return None
        previous = promised
        theta = theta + direction
    return theta, steps, False


def _singular_message(function: str, problem: _Problem, state: _State) -> str:
    """Why the Hessian is singular at ``state``, as the error says it."""
    low, high = torch.aminmax(problem.rows[:-1], dim=1)
    constant = (low == high).nonzero().flatten().tolist()
    if constant:
        return (
            f"{function}() argument 'X' has constant columns {constant}, which the bias "
            "already covers, so the fit is not unique; remove them, or pass l2 > 0"
        )
    reach = state.z.abs().max().item()
    if not math.isfinite(reach) or reach > LARGEST_LOGIT:
        return (
            f"{function}() arguments 'X' and 'y': the logits reached {reach:.3g}, where "
            "the curvature p (1 - p) underflows float32 and the Hessian becomes singular: "
            "the classes are all but separated; pass l2 > 0, e.g. l2=1e-3"
        )
    return (
        f"{function}() argument 'X' has linearly dependent columns, so the fit is not "
        "unique (each column was centred and scaled first: its units are not the cause); "
        "remove them, or pass l2 > 0"
    )


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
    a small ``l2`` to fit such data. Nor is it unique when a column is constant or a
    combination of others; that too is an error without a penalty.

    The units of the features do not matter: each column is centred and scaled by a
    power of two before the float32 Newton steps, so float64 features of size 1e40 or
    1e-30 fit as well as features near 1, and float64 data end with float64 steps.

    Args:
        X: The features, a floating tensor of shape ``(samples, features)``. A tensor
            that requires grad is read as it is; the result does not require grad.
        y: The labels, 0.0 or 1.0, of ``X``'s dtype and device: shape ``(samples,)`` or
            ``(samples, 1)``.
        l2: The strength of the L2 penalty on the weights, at least 0.
        tol: Stop when half the Newton decrement, the predicted decrease of the
            objective, falls below this.
        max_iter: The most Newton steps to take on all the data; a warning says if that
            was not enough.

    Returns:
        The fitted ``weight``, ``bias``, training ``loss`` and the number of
            ``iterations`` (see [`LogisticFit`][tensorkit.regression.LogisticFit]).

    Raises:
        TypeError: If ``X`` or ``y`` is not a tensor, ``X`` is not floating, ``y`` has
            another dtype than ``X``, or a number has the wrong type.
        ValueError: If the shapes do not fit together, the data are empty or hold NaN or
            infinite values, ``y`` holds a value other than 0 and 1 or only one of
            them, ``l2`` is negative, or (without a penalty) the classes are separable
            or nearly so, or a column is constant or linearly dependent on others; the
            message says which.

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

        The same data in other units give the same fit, in those units:

        >>> far = fit_logistic(X.double() * 1e30, y.double())
        >>> print(f"{far.weight.item():.4e}, {far.bias.item():.4f}")
        1.2140e-30, -3.0351
    """
    function = "fit_logistic"
    # Read, never differentiated: detaching lets the out= products below take tensors
    # that require grad, such as a model's output, without copying them.
    X = check_features(X, function).detach()
    y = check_pair(X, y, function).detach()
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
    positive = _share_of_ones(labels, function)
    n, d = X.shape
    scaled = scaling(X, function)
    labels32 = labels.to(torch.float32)
    ridge = torch.cat([l2 / scaled.scale.square(), torch.zeros(1, dtype=torch.float64)])
    theta = torch.zeros(d + 1, dtype=torch.float64, device="cpu")
    theta[d] = math.log(positive / (1 - positive))  # the best fit with no feature at all
    # Float64 data take their last steps with float64 gradients from X itself, and
    # need the float32 copy of all of X only if Newton steps on all the data do.
    problem = None
    final: _Problem | _Features
    if X.dtype == torch.float64:
        final = features = _Features(X, labels, scaled, ridge)
    else:
        final = problem = _Problem(scaled_rows(X, scaled), labels32, ridge)
        features = None
    fitted = None
    if n >= WARM_START_MIN:
        every = slice(None, None, WARM_START_STRIDE)
        rows = scaled_rows(X[every], scaled) if problem is None else problem.rows[:, every]
        sample = _Problem(rows.contiguous(), labels32[every], ridge)
        steps = min(REUSE_STEPS, max_iter)
        if features is None:
            theta, fitted = _from_subsample(sample, final, theta, tol, steps)
        else:
            # Float64 data: float32 gradients first, from a scaled float32 copy of X in
            # its own order (half the memory to read per step, and cheap to make), then
            # the float64 steps that take the fit to float64's accuracy.
            coarse = _Features(scaled_samples(X, scaled), labels32, unit_scaling(d), ridge)
            theta, fitted = _from_subsample(sample, coarse, theta, tol, steps)
            if fitted is not None:
                fitted = _polish(features, fitted, tol)
    if fitted is None:
        if problem is None:
            problem = _Problem(scaled_rows(X, scaled), labels32, ridge)
        theta, iterations = _full_newton(problem, features, theta, l2, tol, max_iter, function)
    else:
        theta, iterations = fitted.theta, fitted.iterations
    loss, z = final.loss(theta)
    if l2 == 0 and _separated(z, labels):
        raise ValueError(_SEPARATED.format(function=function))
    weight, bias = scaled.weights(theta)
    w_out = weight.to(X.device, X.dtype)
    b_out = torch.tensor(bias, dtype=X.dtype, device=X.device)
    if y.ndim == 2:
        return LogisticFit(w_out.reshape(1, d), b_out.reshape(1), loss, iterations)
    return LogisticFit(w_out, b_out, loss, iterations)


_SEPARATED = (
    "{function}() arguments 'X' and 'y': a plane separates the two classes, so without a "
    "penalty the weights grow without bound and no minimum exists; pass l2 > 0, e.g. "
    "l2=1e-3"
)


def _from_subsample(
    sample: _Problem,
    full: _Problem | _Features,
    theta: torch.Tensor,
    tol: float,
    steps: int,
) -> tuple[torch.Tensor, _Reused | None]:
    """Fit the subsample ``sample``, then finish on all the data, ``full``, cheaply.

    The subsample's Hessian at its minimum is close to the full one, so steps that reuse
    it, with gradients from all the data, usually finish the fit without a single full
    Newton step. Returns the subsample's fit (the start for Newton steps if needed) and,
    when the reused Hessian did finish the job, what the steps reached.
    """
    start = _newton(sample, theta, tol, max_iter=10)
    if not start.converged or start.factor is None:
        return theta, None
    resolution = 8 * full.eps * (1 + abs(start.value))
    reused = _reuse(full.gradient, start.theta, start.factor, tol, resolution, steps)
    if reused is None or not reused[2]:
        return start.theta, None
    return start.theta, _Reused(reused[0], reused[1], start.factor, start.value)


class _Reused(NamedTuple):
    """Where steps that reuse a Hessian stopped, and what they reused."""

    theta: torch.Tensor
    iterations: int
    factor: torch.Tensor  # the Cholesky factor of the Hessian they reused
    value: float  # an objective near the end, which sets what float64 resolves


def _polish(features: _Features, fitted: _Reused, tol: float) -> _Reused:
    """Float64 steps from a float32 fit, reusing its Hessian, with gradients from ``X``.

    The float32 steps (Newton steps, or steps that reuse a subsample's Hessian) stop
    where float32 gradients can tell no more; a few float64 ones take the fit to
    float64's accuracy. Should they stop converging, the float32 fit stands.
    """
    resolution = 8 * features.eps * (1 + abs(fitted.value))
    polished = _reuse(
        features.gradient, fitted.theta, fitted.factor, tol, resolution, POLISH_STEPS
    )
    if polished is None:
        return fitted
    return fitted._replace(theta=polished[0], iterations=fitted.iterations + polished[1])


def _full_newton(
    problem: _Problem,
    features: _Features | None,
    theta: torch.Tensor,
    l2: float,
    tol: float,
    max_iter: int,
    function: str,
) -> tuple[torch.Tensor, int]:
    """Newton steps on all the data, then float64 ones for float64 data.

    Raises the errors of a singular Hessian, and warns when ``max_iter`` was not enough.
    """
    state = _newton(problem, theta, tol, max_iter)
    separated = l2 == 0 and _separated(state.z, problem.labels)
    if state.singular and not separated:
        raise ValueError(_singular_message(function, problem, state))
    if separated:
        raise ValueError(_SEPARATED.format(function=function))
    if not state.converged:
        warnings.warn(
            f"{function}() did not converge in max_iter={max_iter} Newton steps; raise "
            "max_iter or tol",
            RuntimeWarning,
            stacklevel=3,
        )
    if features is None or state.factor is None:
        return state.theta, state.iterations
    fitted = _polish(
        features, _Reused(state.theta, state.iterations, state.factor, state.value), tol
    )
    return fitted.theta, fitted.iterations


def _share_of_ones(labels: torch.Tensor, function: str) -> float:
    """The share of labels that are 1, once every label is checked to be 0 or 1."""
    is_label = (labels == 0) | (labels == 1)
    if not bool(is_label.all()):
        bad = labels[~is_label][0].item()
        raise ValueError(
            f"{function}() argument 'y' must hold only the labels 0 and 1, got {bad}; "
            "for labels such as -1/1 use (y > 0).to(X.dtype)"
        )
    positive = labels.sum(dtype=torch.float64).item() / labels.shape[0]
    if positive in (0.0, 1.0):
        raise ValueError(
            f"{function}() argument 'y' holds only the label {int(positive)}: logistic "
            "regression needs samples of both classes"
        )
    return positive
