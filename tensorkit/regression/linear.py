"""Least squares with an intercept, in closed form: the exact answer gradient descent approaches.

The solution of ``min ||X w + b - y||²`` solves the normal equations of the centred data.
Two details make that both fast and accurate:

* Centring first. Features far from zero (heights near 170 cm, or anything shifted by
  +100) make the uncentred normal equations so ill-conditioned that float32 loses most
  of its digits. Here each block of rows is shifted by an estimate of the column means
  (from about a thousand rows spread over the data) before it is multiplied, and the
  small remaining offset is removed exactly afterwards, in float64.
* One pass over the data, in blocks that stay in cache: each block is shifted into a
  reused buffer ``[X - s, y - t, 1]`` and multiplied by itself, 256 rows at a time in one
  batched product, and the small products are added up in float64. No copy of ``X`` is
  ever made.

The small ``features × features`` system is then solved in float64 on the CPU.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from tensorkit._checks import check_features, check_finite, check_pair

#: Rows per block: small enough for the buffer to stay in cache, large enough that the
#: per-block overhead does not show.
BLOCK_ROWS = 65536
#: Rows per partial sum inside a block. A float32 matrix product adds its terms one after
#: another, so its rounding error grows with their number; summing 256 rows at a time and
#: adding the partial sums in float64 keeps that error near float32's own precision.
SUM_ROWS = 256
#: Rows used to estimate the column means that centre the data.
CENTRE_SAMPLE = 1024
#: The normal equations are refused when their condition number, after scaling the
#: columns, times X's machine epsilon exceeds this: less than one correct digit would
#: remain.
MAX_CONDITION_TIMES_EPS = 0.1


class LinearFit(NamedTuple):
    """Weight and bias of a least-squares fit, shaped as ``nn.Linear`` shapes them.

    For 1-D targets ``y`` of shape ``(n,)``, ``weight`` has shape ``(features,)`` and
    ``bias`` is 0-d. For 2-D targets of shape ``(n, outputs)`` they have the shapes of
    ``nn.Linear(features, outputs)``'s parameters: ``(outputs, features)`` and
    ``(outputs,)``.
    """

    weight: torch.Tensor
    bias: torch.Tensor

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """The fitted values ``X @ weight.T + bias``, shaped like the targets were."""
        if self.weight.ndim == 1:
            return X @ self.weight + self.bias
        return X @ self.weight.mT + self.bias


def _normal_equations(X: torch.Tensor, Y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The float64 products of ``[X - s, Y - t, 1]`` with itself, and the shifts ``(s, t)``."""
    n, d = X.shape
    k = Y.shape[1]
    step = max(1, n // CENTRE_SAMPLE)
    shifts = torch.cat([X[::step].mean(dim=0), Y[::step].mean(dim=0)])
    width = d + k + 1
    buffer = torch.empty(min(n, BLOCK_ROWS), width, dtype=X.dtype, device=X.device)
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
    return products, shifts


def fit_linear(X: torch.Tensor, y: torch.Tensor) -> LinearFit:
    """Fit ``y ≈ X @ weight.T + bias`` by least squares, exactly and in one pass.

    The result is the minimum of the mean squared error, the point that gradient descent
    on ``nn.MSELoss`` approaches. It is computed in closed form, as scikit-learn's
    ``LinearRegression`` does, but with one pass over ``X`` in its own dtype and on its
    own device (see the module's notes), and it stays accurate when the features lie far
    from zero.

    Args:
        X: The features, a floating tensor of shape ``(samples, features)``.
        y: The targets, of ``X``'s dtype and device: shape ``(samples,)``, or
            ``(samples, outputs)`` for several outputs at once.

    Returns:
        The fitted ``weight`` and ``bias``, in ``X``'s dtype and on its device
            (see [`LinearFit`][tensorkit.regression.LinearFit] for their shapes).

    Raises:
        TypeError: If ``X`` or ``y`` is not a tensor, ``X`` is not floating, or ``y`` has
            another dtype than ``X``.
        ValueError: If the shapes do not fit together, the data are empty or hold NaN or
            infinite values, a feature is constant, or the features are so nearly
            linearly dependent that the answer would have less than one correct digit in
            ``X``'s dtype (float64 allows far more than float32).

    Examples:
        Five people's heights (cm) and weights (kg), and the best line through them:

        >>> import torch
        >>> from tensorkit.regression import fit_linear
        >>> height = torch.tensor([[160.0], [166.0], [172.0], [174.0], [180.0]])
        >>> weight = torch.tensor([56.3, 60.6, 65.1, 68.5, 75.0])
        >>> fit = fit_linear(height, weight)
        >>> fit
        LinearFit(weight=tensor([0.9294]), bias=tensor(-93.2735))
        >>> fit.predict(torch.tensor([[176.0]]))
        tensor([70.3048])
    """
    function = "fit_linear"
    X = check_features(X, function)
    y = check_pair(X, y, function)
    Y = y if y.ndim == 2 else y.unsqueeze(1)
    if Y.shape[1] == 0:
        raise ValueError(f"{function}() argument 'y' has no outputs (shape {tuple(y.shape)})")
    n, d = X.shape
    k = Y.shape[1]
    products, shifts = _normal_equations(X, Y)
    products = products.cpu()
    if not bool(torch.isfinite(products).all()):
        check_finite("X", X, function)
        check_finite("y", y, function)
        raise ValueError(
            f"{function}() arguments 'X' and 'y' are too large for {X.dtype}: their squares "
            "overflow; scale them down or convert them to torch.float64"
        )
    centre = products[:-1, -1] / n  # what the shifted columns still have as their means
    gram = products[:d, :d] - n * torch.outer(centre[:d], centre[:d])
    cross = products[:d, d : d + k] - n * torch.outer(centre[:d], centre[d:])
    scale = gram.diagonal().sqrt()
    constant = (scale <= 0).nonzero().flatten().tolist()
    if constant:
        raise ValueError(
            f"{function}() argument 'X' has constant feature columns {constant}: they "
            "cannot be told apart from the bias; remove them"
        )
    # Scaling each column to unit length removes ill-conditioning that is only a matter
    # of units (cm against km) before the condition number is judged.
    scaled = gram / torch.outer(scale, scale)
    eigenvalues = torch.linalg.eigvalsh(scaled)
    condition = (eigenvalues[-1] / eigenvalues[0]).item() if eigenvalues[0] > 0 else float("inf")
    if condition * torch.finfo(X.dtype).eps > MAX_CONDITION_TIMES_EPS:
        raise ValueError(
            f"{function}() argument 'X' has nearly linearly dependent columns (condition "
            f"number {condition:.3g} after scaling): the fit would keep less than one "
            f"correct digit in {X.dtype}; remove redundant columns"
            + ("" if X.dtype == torch.float64 else " or convert X to torch.float64")
        )
    solution = torch.cholesky_solve(cross / scale[:, None], torch.linalg.cholesky(scaled))
    weight = solution / scale[:, None]  # (d, k)
    shift = shifts.cpu().to(torch.float64) + centre
    bias = shift[d:] - shift[:d] @ weight
    weight, bias = weight.mT.to(X.device, X.dtype), bias.to(X.device, X.dtype)
    if y.ndim == 1:
        return LinearFit(weight[0], bias[0])
    return LinearFit(weight, bias)
