"""What the closed-form fits share: centring and scaling, and the check of new features.

`fit_linear` and `fit_logistic` both centre the features before they multiply them,
with column means estimated from a sample of rows (exact means would cost a pass over
the data of their own). `fit_logistic` also scales each column by a power of two
(`scaling`, `scaled_rows`), so that features of any magnitude fit in float32. A fit's
``predict`` or ``probability`` checks the features it is given against the fit, so that
a wrong column count, dtype or device is reported in tensorkit's words rather than as a
failed matrix product.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from tensorkit._checks import check_dense, check_floating, check_has_values, check_tensor

#: Rows used to estimate the column means that centre the data: enough for the estimate
#: to lie well inside the data's spread, few enough to cost nothing next to a fit.
CENTRE_SAMPLE = 1024
#: The range of the power-of-two scales: 2**1023 is float64's largest power of two, and
#: the reciprocal of 2**-1021 is finite too.
MIN_EXPONENT, MAX_EXPONENT = -1021, 1023
#: Scaled values stay below this, far inside float32's range (3.4e38), squares aside.
SAFE_SCALED = 1e30


def centring_sample(X: torch.Tensor) -> torch.Tensor:
    """About ``CENTRE_SAMPLE`` rows of ``X``, spread evenly over it (a view, no copy).

    Evenly spread rather than the first ones, so that sorted data give a fair sample.
    """
    step = max(1, X.shape[0] // CENTRE_SAMPLE)
    return X[::step]


def sample_mean(X: torch.Tensor) -> torch.Tensor:
    """An estimate of the column means of ``X`` from its centring sample, in its dtype."""
    return centring_sample(X).mean(dim=0)


class Scaled(NamedTuple):
    """How the features were centred and scaled: ``(x - centre) / scale``, in float64."""

    centre: torch.Tensor  # (features,), on the CPU
    scale: torch.Tensor  # (features,), powers of two, on the CPU

    def weights(self, theta: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The weights and bias, in the caller's units, of the parameters ``theta``."""
        weight = theta[:-1] / self.scale
        return weight, float(theta[-1]) - float(self.centre @ weight)


def _power_of_two(reach: torch.Tensor) -> torch.Tensor:
    """The power of two at or above each ``reach``; 1 where it is 0.

    Kept within float64's normal range both ways, so that its reciprocal is finite too.
    """
    exponent = torch.where(reach > 0, torch.frexp(reach).exponent, 0)
    exponent = exponent.clamp(MIN_EXPONENT, MAX_EXPONENT)
    return torch.ldexp(torch.ones_like(reach), exponent)


def _full_reach(X: torch.Tensor, centre: torch.Tensor, function: str) -> torch.Tensor:
    """Each column's largest distance from ``centre`` over every row, in float64."""
    low, high = (bound.to(torch.float64).cpu() for bound in torch.aminmax(X, dim=0))
    reach = torch.maximum(high - centre, centre - low)
    if not bool(torch.isfinite(reach).all()):
        column = int((~torch.isfinite(reach)).nonzero()[0])
        raise ValueError(
            f"{function}() argument 'X' has values too large to centre in float64 in "
            f"column {column} (from {low[column].item():.3g} to {high[column].item():.3g}): "
            "their mean or their distances from it overflow; scale X down"
        )
    return reach


def scaling(X: torch.Tensor, function: str) -> Scaled:
    """The centre and the power-of-two scale of each column of ``X``.

    The scale is a power of two near the column's largest distance from the centre in
    the centring sample, so that dividing by it is exact and the values come out near
    ±1 whatever the units. Where the sample does not show a column's range (it is
    constant there), or a value outside the sample could overflow float32 once scaled,
    every row sets the scale instead.
    """
    # In float64, so that neither the mean of float32 values near their largest nor
    # their distances from it overflow; the centre is then rounded to X's dtype, where
    # scaling it by a power of two is exact, so the rows and the bias share it.
    sample = centring_sample(X).to(torch.float64)
    centre = sample.mean(dim=0).to(X.dtype).to(torch.float64).cpu()
    reach = (sample - centre.to(X.device)).abs().amax(dim=0).cpu()
    if bool((reach > 0).all()):
        scale = _power_of_two(reach)
        low, high = (bound.item() for bound in torch.aminmax(X))
        farthest = max(abs(low), abs(high)) + centre.abs().max().item()
        if farthest / scale.min().item() < SAFE_SCALED:
            return Scaled(centre, scale)
    return Scaled(centre, _power_of_two(_full_reach(X, centre, function)))


def scaled_rows(X: torch.Tensor, scaled: Scaled) -> torch.Tensor:
    """``[(X - centre) / scale, 1]`` as float32 rows, shape ``(features + 1, samples)``.

    With a power-of-two scale, ``X / scale - centre / scale`` rounds exactly as
    ``(X - centre) / scale`` does, and takes one pass in ``X``'s dtype; the values are
    rounded to float32 only once scaled, so float64 features far beyond float32's range
    fit too.
    """
    n, d = X.shape
    rows = torch.empty(d + 1, n, dtype=torch.float32, device=X.device)
    inverse = scaled.scale.reciprocal().to(X.device, X.dtype)
    offset = (-scaled.centre / scaled.scale).to(X.device, X.dtype)
    torch.addcmul(offset[:, None], X.mT, inverse[:, None], out=rows[:d])
    rows[d] = 1
    return rows


def scaled_samples(X: torch.Tensor, scaled: Scaled) -> torch.Tensor:
    """``(X - centre) / scale`` in float32, sample by sample as ``X`` is: ``(samples, features)``.

    Computed in ``X``'s dtype and rounded once, as in `scaled_rows`, but kept in ``X``'s
    own order: that takes one pass that reads ``X`` in order, where the feature-by-feature
    rows read it with a stride (four times slower for float64 ``X``).
    """
    inverse = scaled.scale.reciprocal().to(X.device, X.dtype)
    offset = (-scaled.centre / scaled.scale).to(X.device, X.dtype)
    return torch.addcmul(offset, X, inverse).to(torch.float32)


def unit_scaling(features: int) -> Scaled:
    """The scaling of features already centred and scaled: centre 0, scale 1."""
    return Scaled(
        torch.zeros(features, dtype=torch.float64), torch.ones(features, dtype=torch.float64)
    )


def check_new_features(value: object, weight: torch.Tensor, function: str) -> torch.Tensor:
    """Check features given to a fit: a 2-D tensor with the fit's columns, dtype and device.

    Args:
        value: What the caller passed as ``X``.
        weight: The fit's weight, of shape ``(features,)`` or ``(outputs, features)``.
        function: The name the errors give, such as ``"LinearFit.predict"``.

    Returns:
        ``value`` itself, once checked. Zero rows are allowed: they predict nothing.

    Raises:
        TypeError: If ``value`` is not a floating tensor of the fit's dtype.
        ValueError: If it is not 2-D, has another number of columns than the fit had
            features, or lies on another device.
    """
    X = check_tensor("X", value, function)
    check_floating("X", X, function)
    features = weight.shape[-1]
    if X.ndim != 2:
        raise ValueError(
            f"{function}() argument 'X' must be 2-D (samples, features), got shape "
            f"{tuple(X.shape)}{_reshape_hint(X, features)}"
        )
    if X.shape[1] != features:
        columns = "1 column" if features == 1 else f"{features} columns"
        raise ValueError(
            f"{function}() argument 'X' must have {columns}, one per feature of the fit, "
            f"got shape {tuple(X.shape)}"
        )
    check_dense("X", X, function)
    check_has_values("X", X, function)
    if X.dtype != weight.dtype:
        raise TypeError(
            f"{function}() argument 'X' must have the fit's dtype {weight.dtype}, got "
            f"{X.dtype}; convert it with X.to({weight.dtype})"
        )
    if X.device != weight.device:
        raise ValueError(
            f"{function}() argument 'X' must be on the fit's device {weight.device}, got "
            f"{X.device}; move it with X.to({str(weight.device)!r})"
        )
    return X


def _reshape_hint(X: torch.Tensor, features: int) -> str:
    """How to make a 1-D ``X`` 2-D: one column per sample, or one sample of features."""
    if X.ndim != 1:
        return ""
    if features == 1:
        return "; for samples of one feature use X.unsqueeze(1)"
    if X.shape[0] == features:
        return "; for one sample use X.unsqueeze(0)"
    return ""
