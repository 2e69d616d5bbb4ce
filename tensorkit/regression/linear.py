"""Least squares, in closed form: the exact answer gradient descent approaches.

The solution of ``min ||X w + b - y||²`` solves the normal equations of the centred data.
Three details make that fast, accurate, and defined for every input:

* Centring first. Features far from zero (heights near 170 cm, or anything shifted by
  +100) make the uncentred normal equations so ill-conditioned that float32 loses most
  of its digits. Here each block of rows is shifted by an estimate of the column means
  (from about a thousand rows spread over the data) before it is multiplied, and the
  small remaining offset is removed exactly afterwards, in float64.
* One pass over the data, in blocks that stay in cache: each block is shifted into a
  reused buffer ``[X - s, y - t, 1]`` and multiplied by itself, 256 rows at a time in one
  batched product, and the small products are added up in float64. No copy of ``X`` is
  ever made.
* A fallback where the normal equations fall short. Their condition number is the
  square of that of the (centred, column-scaled) features, so they lose twice the digits
  a QR factorisation loses; they also fail when the features are rank deficient (a
  duplicated or constant column, fewer samples than features) and when the squares
  overflow or underflow ``X``'s dtype. In those cases a second pass factors the centred
  data as ``QR`` in float64, block by block (still no copy of ``X``), and an SVD of the
  small factor ``R`` gives the least-squares weights: the minimum-norm ones when they are
  not unique, as ``numpy.linalg.lstsq`` and scikit-learn return.

The small ``features × features`` systems are solved in float64.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import torch

from tensorkit._checks import check_bool, check_features, check_finite, check_pair
from tensorkit.regression._fitting import check_new_features, sample_mean

#: Rows per block: small enough for the buffer to stay in cache, large enough that the
#: per-block overhead does not show.
BLOCK_ROWS = 65536
#: Rows per partial sum inside a block. A float32 matrix product adds its terms one after
#: another, so its rounding error grows with their number; summing 256 rows at a time and
#: adding the partial sums in float64 keeps that error near float32's own precision.
SUM_ROWS = 256
#: The normal equations are used while the condition number of their column-scaled
#: matrix stays below this, that is while the features' own condition number stays below
#: 10: there they lose at most about one digit more than QR. Above it, QR takes over.
MAX_GRAM_CONDITION = 100.0
#: The numerical rank counts the singular values of the centred, column-scaled features
#: above this many times ``sqrt(features) * eps(X.dtype)`` times the largest. A column
#: that equals a combination of others up to its own rounding (half an ``eps`` per
#: value) leaves a singular value of at most about ``sqrt(features) * eps / 2``.
RANK_TOLERANCE = 10.0


class LinearFit(NamedTuple):
    """Weight, bias and rank of a least-squares fit, shaped as ``nn.Linear`` shapes them.

    For 1-D targets ``y`` of shape ``(n,)``, ``weight`` has shape ``(features,)`` and
    ``bias`` is 0-d. For 2-D targets of shape ``(n, outputs)`` they have the shapes of
    ``nn.Linear(features, outputs)``'s parameters: ``(outputs, features)`` and
    ``(outputs,)``.

    ``rank`` is the numerical rank of the features (centred, when the fit has an
    intercept): ``features`` when every feature adds something, fewer when some are
    constant or combinations of others, or when there are too few samples. Below
    ``features`` the least-squares weights are not unique, and ``weight`` holds the ones
    of smallest norm.
    """

    weight: torch.Tensor
    bias: torch.Tensor
    rank: int

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """The fitted values ``X @ weight.T + bias``, shaped like the targets were.

        Args:
            X: Features of shape ``(samples, features)``, in the fit's dtype and on its
                device.

        Returns:
            The predictions, of shape ``(samples,)`` or ``(samples, outputs)``.

        Raises:
            TypeError: If ``X`` is not a tensor or has another dtype than the fit.
            ValueError: If ``X`` is not 2-D, has another number of features than the fit,
                or lies on another device.
        """
        X = check_new_features(X, self.weight, "LinearFit.predict")
        if self.weight.ndim == 1:
            return X @ self.weight + self.bias
        return X @ self.weight.mT + self.bias


def _products(X: torch.Tensor, Y: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """The float64 products of ``[X - s, Y - t, 1]`` with itself, where ``shifts = (s, t)``.

    Dtypes with fewer bits than float32 are multiplied in float32.
    """
    n, d = X.shape
    k = Y.shape[1]
    width = d + k + 1
    work = torch.promote_types(X.dtype, torch.float32)
    buffer = torch.empty(min(n, BLOCK_ROWS), width, dtype=work, device=X.device)
    buffer[:, -1] = 1
    products = torch.zeros(width, width, dtype=torch.float64, device=X.device)
    for start in range(0, n, BLOCK_ROWS):
        rows = X[start : start + BLOCK_ROWS]
        block = buffer[: rows.shape[0]]
        torch.sub(rows, shifts[:d], out=block[:, :d])
        torch.sub(Y[start : start + BLOCK_ROWS], shifts[d:], out=block[:, d : d + k])
        whole = block.shape[0] - block.shape[0] % SUM_ROWS
        if whole:
            parts = block[:whole].view(-1, SUM_ROWS, width)
            products += torch.bmm(parts.mT, parts).to(torch.float64).sum(dim=0)
        if whole < block.shape[0]:
            rest = block[whole:]
            products += (rest.mT @ rest).to(torch.float64)
    return products.cpu()


def _normal_solution(
    products: torch.Tensor, shifts: torch.Tensor, X: torch.Tensor, fit_intercept: bool
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Weights ``(d, k)`` and bias ``(k,)`` from the normal equations, in float64.

    ``None`` when the normal equations would lose more than about one digit to QR: when
    they are ill-conditioned or singular, or when the products underflowed.
    """
    n, d = X.shape
    # What the shifted columns still have as their means; without an intercept nothing
    # is centred and the bias stays 0.
    centre = products[:-1, -1] / n if fit_intercept else torch.zeros_like(products[:-1, -1])
    centred = products[:-1, :-1] - n * torch.outer(centre, centre)
    squares = centred.diagonal()
    # Below tiny / eps a sum of squares has lost digits to underflow, and a constant
    # column (or target) has none left at all: QR in float64 copes with both.
    work = torch.finfo(torch.promote_types(X.dtype, torch.float32))
    if not bool((squares > n * work.tiny / work.eps).all()):
        return None
    gram, cross = centred[:d, :d], centred[:d, d:]
    scale = squares[:d].sqrt()
    # Scaling each column to unit length removes ill-conditioning that is only a matter
    # of units (cm against km) before the condition number is judged.
    scaled = gram / torch.outer(scale, scale)
    eigenvalues = torch.linalg.eigvalsh(scaled)
    # Removing the means afterwards cancels digits in proportion to how far the
    # estimated shifts missed them; that loss counts as conditioning too.
    cancellation = (products.diagonal()[:d] / squares[:d]).max().item()
    if eigenvalues[0] <= 0:
        return None
    condition = (eigenvalues[-1] / eigenvalues[0]).item() * cancellation
    if condition > MAX_GRAM_CONDITION:
        return None
    solution = torch.cholesky_solve(cross / scale[:, None], torch.linalg.cholesky(scaled))
    weight = solution / scale[:, None]
    shift = shifts.cpu().to(torch.float64) + centre
    return weight, shift[d:] - shift[:d] @ weight


def _triangular_factor(X: torch.Tensor, Y: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """``R`` of ``[X, Y] - mean = QR`` in float64, one block of rows at a time.

    Each block is stacked under the ``R`` of the rows before it and factored again, so
    that memory stays at one block whatever the number of rows.
    """
    n, d = X.shape
    width = d + Y.shape[1]
    buffer = torch.empty(min(n, BLOCK_ROWS) + width, width, dtype=torch.float64, device=X.device)
    factor = buffer[:0]
    for start in range(0, n, BLOCK_ROWS):
        rows = X[start : start + BLOCK_ROWS]
        top, count = factor.shape[0], rows.shape[0]
        buffer[:top] = factor
        torch.sub(rows, mean[:d], out=buffer[top : top + count, :d])
        torch.sub(Y[start : start + BLOCK_ROWS], mean[d:], out=buffer[top : top + count, d:])
        factor = torch.linalg.qr(buffer[: top + count], mode="r").R
    return factor


def _least_squares(
    factor: torch.Tensor, mean: torch.Tensor, n: int, d: int, eps: float
) -> tuple[torch.Tensor, int, list[int]]:
    """The minimum-norm least-squares weights ``(d, k)`` from ``R``, the rank, and the
    constant columns.

    The rank is judged on unit-length columns, so that units do not count as rank
    deficiency; a column whose centred values are within rounding of its mean counts as
    constant. Where the rank is full, the weights come from the scaled triangular
    system; below it, from the SVD of ``R`` itself: the weights of least norm in the
    caller's units, those numpy and scikit-learn give.
    """
    R, C = factor[:, :d], factor[:, d:]
    norms = torch.linalg.vector_norm(R, dim=0)
    spread = (norms.square() + n * mean[:d].cpu().square()).sqrt()
    tolerance = RANK_TOLERANCE * math.sqrt(d) * eps
    varies = norms > tolerance * spread
    constant = (~varies).nonzero().flatten().tolist()
    scaled = torch.where(varies, R / torch.where(varies, norms, 1), 0)
    singular = torch.linalg.svdvals(scaled)
    rank = int((singular > tolerance * singular[0]).sum())
    if rank == d:
        solution = torch.linalg.solve_triangular(scaled[:d], C[:d], upper=True)
        return solution / norms[:, None], rank, constant
    U, S, Vh = torch.linalg.svd(torch.where(varies, R, 0), full_matrices=False)
    weight = Vh[:rank].mT @ ((U[:, :rank].mT @ C) / S[:rank, None])
    return weight, rank, constant


def _qr_solution(
    X: torch.Tensor, Y: torch.Tensor, fit_intercept: bool
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Weights ``(d, k)``, bias ``(k,)`` and rank by QR of the centred data, in float64.

    Warns when the rank is below the number of features, and says why.
    """
    n, d = X.shape
    k = Y.shape[1]
    if fit_intercept:
        mean = torch.cat([X.sum(dim=0, dtype=torch.float64), Y.sum(dim=0, dtype=torch.float64)])
        mean = mean / n
    else:
        mean = torch.zeros(d + k, dtype=torch.float64, device=X.device)
    factor = _triangular_factor(X, Y, mean).cpu()
    eps = torch.finfo(X.dtype).eps
    weight, rank, constant = _least_squares(factor, mean, n, d, eps)
    if rank < d:
        message = _rank_message(n, d, rank, constant, fit_intercept)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    mean = mean.cpu()
    return weight, mean[d:] - mean[:d] @ weight, rank


def _rank_message(n: int, d: int, rank: int, constant: list[int], fit_intercept: bool) -> str:
    """The warning for a rank below the number of features, with its cause."""
    samples = n - 1 if fit_intercept else n
    if fit_intercept and n == 1:
        cause = "a single sample determines only the bias"
    elif samples < d:
        besides = " besides the bias" if fit_intercept else ""
        cause = f"{n} samples determine at most {samples} weights{besides}"
    else:
        kinds = []
        if constant:
            kinds.append(f"{'constant' if fit_intercept else 'all-zero'} columns {constant}")
        if rank < d - len(constant):
            kinds.append("columns that combine others")
        cause = "remove the " + " and ".join(kinds)
    features = "feature" if d == 1 else "features"
    return (
        f"fit_linear() argument 'X' has rank {rank} with {d} {features}: the least-squares "
        f"weights are not unique, so these are the ones of least norm; {cause}"
    )


def fit_linear(X: torch.Tensor, y: torch.Tensor, *, fit_intercept: bool = True) -> LinearFit:
    """Fit ``y ≈ X @ weight.T + bias`` by least squares, exactly, in one pass if it can.

    The result is the minimum of the mean squared error, the point that gradient descent
    on ``nn.MSELoss`` approaches. It is computed in closed form, as scikit-learn's
    ``LinearRegression`` does, but with one pass over ``X`` in its own dtype and on its
    own device (see the module's notes), and it stays accurate when the features lie far
    from zero.

    Where that one pass would lose accuracy (features whose condition number exceeds 10
    once each column is scaled to unit length, or squares that overflow or underflow
    ``X``'s dtype), a second pass solves the problem by QR in float64 instead, with
    memory for one block of rows. When the weights are not unique (a duplicated or
    constant column, fewer samples than features), the result holds the ones of least
    norm, as ``numpy.linalg.lstsq`` and scikit-learn return; its ``rank`` says so, and a
    ``RuntimeWarning`` names the cause. A constant column thus gets the weight 0, and a
    single sample gives weights 0 and the bias ``y``. Columns count as dependent when
    they are so up to the rounding of ``X``'s dtype.

    Args:
        X: The features, a floating tensor of shape ``(samples, features)``. A tensor
            that requires grad is read as it is; the result does not require grad.
        y: The targets, of ``X``'s dtype and device: shape ``(samples,)``, or
            ``(samples, outputs)`` for several outputs at once.
        fit_intercept: Whether to fit the bias. With ``False`` the bias is 0 and the
            line goes through the origin, as with scikit-learn's option of that name.

    Returns:
        The fitted ``weight`` and ``bias``, in ``X``'s dtype and on its device, and the
            ``rank`` of the features (see [`LinearFit`][tensorkit.regression.LinearFit]).

    Raises:
        TypeError: If ``X`` or ``y`` is not a tensor, ``X`` is not floating, ``y`` has
            another dtype than ``X``, or ``fit_intercept`` is not a bool.
        ValueError: If the shapes do not fit together, the data are empty or hold NaN or
            infinite values, or the fitted parameters do not fit in ``X``'s dtype.

    Warns:
        RuntimeWarning: If the rank is below the number of features.

    Examples:
        Five people's heights (cm) and weights (kg), and the best line through them:

        >>> import torch
        >>> from tensorkit.regression import fit_linear
        >>> height = torch.tensor([[160.0], [166.0], [172.0], [174.0], [180.0]])
        >>> weight = torch.tensor([56.3, 60.6, 65.1, 68.5, 75.0])
        >>> fit = fit_linear(height, weight)
        >>> fit
        LinearFit(weight=tensor([0.9294]), bias=tensor(-93.2735), rank=1)
        >>> fit.predict(torch.tensor([[176.0]]))
        tensor([70.3048])

        A second column that repeats the first adds nothing: the weight is shared out
        between the two, and a warning says so.

        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     twice = fit_linear(torch.cat([height, height], dim=1), weight)
        >>> twice.weight, twice.rank
        (tensor([0.4647, 0.4647]), 1)
        >>> str(caught[0].message).split(":")[0]
        "fit_linear() argument 'X' has rank 1 with 2 features"
    """
    function = "fit_linear"
    # Read, never differentiated: detaching lets the out= products below take tensors
    # that require grad, such as a model's output, without copying them.
    X = check_features(X, function).detach()
    y = check_pair(X, y, function).detach()
    fit_intercept = check_bool("fit_intercept", fit_intercept, function)
    Y = y if y.ndim == 2 else y.unsqueeze(1)
    if Y.shape[1] == 0:
        raise ValueError(f"{function}() argument 'y' has no outputs (shape {tuple(y.shape)})")
    d, k = X.shape[1], Y.shape[1]
    if fit_intercept:
        shifts = torch.cat([sample_mean(X), sample_mean(Y)])
    else:
        shifts = torch.zeros(d + k, dtype=X.dtype, device=X.device)
    products = _products(X, Y, shifts)
    normal = None
    if bool(torch.isfinite(products).all()):
        normal = _normal_solution(products, shifts, X, fit_intercept)
    else:
        # NaN or infinity in the data, or squares that overflow X's dtype: QR in
        # float64 copes with the latter.
        check_finite("X", X, function)
        check_finite("y", y, function)
    if normal is None:
        weight, bias, rank = _qr_solution(X, Y, fit_intercept)
    else:
        (weight, bias), rank = normal, d
    return _result(weight.mT, bias, rank, X, y.ndim)


def _result(
    weight: torch.Tensor, bias: torch.Tensor, rank: int, X: torch.Tensor, ndim: int
) -> LinearFit:
    """The float64 parameters as a `LinearFit` in ``X``'s dtype, on its device."""
    weight, bias = weight.to(X.device, X.dtype), bias.to(X.device, X.dtype)
    if not (bool(torch.isfinite(weight).all()) and bool(torch.isfinite(bias).all())):
        raise ValueError(
            f"fit_linear() arguments 'X' and 'y': the fitted weights or bias overflow "
            f"{X.dtype}; scale X up or y down, or convert both to torch.float64"
        )
    if ndim == 1:
        return LinearFit(weight[0], bias[0], rank)
    return LinearFit(weight, bias, rank)
