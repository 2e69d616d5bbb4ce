"""Seeded data sets for regression examples: a noisy linear relation and two Gaussian blobs.

Both draw their random numbers on the CPU with a generator of their own, seeded by
``seed``, and only then move the result to the requested device. So the same ``seed``
gives the same values on every device, and the global random state is left untouched.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch

from tensorkit._checks import (
    check_device,
    check_dtype,
    check_has_values,
    check_positive_int,
    check_real,
    describe_value,
    seeded_generator,
)


def _weights(weight: object) -> torch.Tensor:
    function = "synthetic_linear"
    if isinstance(weight, torch.Tensor):
        if not weight.is_floating_point() or weight.ndim != 1:
            raise TypeError(
                f"{function}() argument 'weight' must be a 1-D floating tensor or a sequence "
                f"of numbers, got {describe_value(weight)}"
            )
        check_has_values("weight", weight, function)
        values = weight.detach().to("cpu", torch.float64)
    elif isinstance(weight, Sequence) and not isinstance(weight, str):
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in weight):
            raise TypeError(
                f"{function}() argument 'weight' must hold only numbers, got {weight!r}"
            )
        values = torch.tensor([float(v) for v in weight], dtype=torch.float64, device="cpu")
    else:
        raise TypeError(
            f"{function}() argument 'weight' must be a 1-D floating tensor or a sequence of "
            f"numbers such as [2.0, -3.4], got {describe_value(weight)}"
        )
    if values.numel() == 0:
        raise ValueError(f"{function}() argument 'weight' is empty: give one weight per feature")
    if not bool(torch.isfinite(values).all()):
        raise ValueError(
            f"{function}() argument 'weight' holds NaN or infinite values: {weight!r}"
        )
    return values


def _in_dtype(
    values: torch.Tensor, dtype: torch.dtype, function: str, arguments: str
) -> torch.Tensor:
    """``values`` (float64, on the CPU) in ``dtype``; a ValueError if any is not finite there.

    The values are finite in float64 unless the arguments are near float64's own limit;
    a narrower dtype turns anything beyond its largest value into infinity, silently.
    """
    converted = values.to(dtype)
    if bool(torch.isfinite(converted).all()):
        return converted
    largest = values.abs().max().item()
    got = f"values as large as {largest:.3g}" if math.isfinite(largest) else "infinite values"
    raise ValueError(
        f"{function}() arguments {arguments} must give data that {dtype} can hold (whose "
        f"largest value is {torch.finfo(dtype).max:.3g}), got {got}; use smaller values"
        + ("" if dtype == torch.float64 else ", or dtype=torch.float64")
    )


def synthetic_linear(
    n: int,
    weight: Sequence[float] | torch.Tensor,
    bias: float,
    *,
    noise: float = 0.01,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``y = X @ weight + bias + noise``: d2l's ``synthetic_data``, seeded.

    The features are standard normal, and the noise is normal with standard deviation
    ``noise``. The values depend only on the arguments, not on the device or on the global
    random state, which is left as it was.

    Args:
        n: The number of samples, at least 1.
        weight: The true weight of each feature, as a sequence of numbers or a 1-D floating
            tensor; its length is the number of features.
        bias: The true bias.
        noise: The standard deviation of the noise added to ``y``, at least 0.
        seed: Seeds the CPU generator that draws the features and the noise.
        dtype: The floating dtype of the results.
        device: Where to put the results; ``None`` means PyTorch's default device.

    Returns:
        ``(X, y)``: the features, shape ``(n, len(weight))``, and the targets,
            shape ``(n, 1)``, the shape ``nn.Linear(len(weight), 1)`` outputs.

    Raises:
        TypeError: If an argument has the wrong type, such as a weight given as a string.
        ValueError: If ``n`` is below 1, ``weight`` is empty, not finite or on the meta
            device, ``bias`` or ``noise`` is not a finite number (``noise`` also not
            negative), ``seed`` is outside 0 to ``2**64 - 1``, ``device`` is not one this
            machine has, or the targets would not be finite in ``dtype`` (a weight or
            bias too large for it, such as 1e38 in float32).

    Examples:
        >>> import torch
        >>> from tensorkit.regression import synthetic_linear
        >>> X, y = synthetic_linear(1000, [2.0, -3.4], 4.2, seed=0)
        >>> X.shape, y.shape
        (torch.Size([1000, 2]), torch.Size([1000, 1]))
        >>> X[0], y[0]
        (tensor([-2.3104, -0.3733]), tensor([0.8229]))
        >>> noise = y[:, 0] - (X @ torch.tensor([2.0, -3.4]) + 4.2)
        >>> f"{noise.std():.4f}"
        '0.0100'
        >>> torch.equal(synthetic_linear(1000, [2.0, -3.4], 4.2, seed=0)[0], X)
        True
    """
    function = "synthetic_linear"
    n = check_positive_int("n", n, function)
    true_weight = _weights(weight)
    true_bias = check_real("bias", bias, function, minimum=-float("inf"))
    noise = check_real("noise", noise, function)
    generator = seeded_generator(seed, function)
    dtype = check_dtype(dtype, function, floating=True)
    device = check_device(device, function)
    # Draw in float64 on the CPU, then convert: the same numbers for every dtype's
    # rounding and on every device.
    X = torch.randn(n, true_weight.numel(), generator=generator, dtype=torch.float64, device="cpu")
    eps = torch.randn(n, generator=generator, dtype=torch.float64, device="cpu")
    y = X @ true_weight + true_bias + noise * eps
    y = _in_dtype(y.reshape(-1, 1), dtype, function, "'weight', 'bias' and 'noise'")
    return X.to(device, dtype), y.to(device)


def two_blobs(
    n_per_class: int = 100,
    *,
    n_features: int = 2,
    center: float = 1.7,
    shift: float = 1.0,
    std: float = 1.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw two Gaussian blobs, labelled 0 and 1: the logistic regression tutorial's data.

    Class 0 is centred at ``center + shift`` in every feature, class 1 at
    ``-center + shift``; both have standard deviation ``std``. The first ``n_per_class``
    samples are class 0, the rest class 1. The values depend only on the arguments, not on
    the device or on the global random state, which is left as it was.

    Args:
        n_per_class: Samples drawn for each class, at least 1.
        n_features: Features per sample, at least 1.
        center: How far each blob's centre lies from ``shift``, in every feature.
        shift: Where the point halfway between the centres lies, in every feature.
        std: The standard deviation of each blob, at least 0.
        seed: Seeds the CPU generator that draws the samples.
        dtype: The floating dtype of the results.
        device: Where to put the results; ``None`` means PyTorch's default device.

    Returns:
        ``(X, y)``: the samples, shape ``(2 * n_per_class, n_features)``, and their
            labels, shape ``(2 * n_per_class,)``, 0.0 or 1.0 in ``X``'s dtype (the
            targets ``nn.BCELoss`` expects).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a count is below 1, a number is not finite (``std`` also not
            negative), ``seed`` is outside 0 to ``2**64 - 1``, ``device`` is not one this
            machine has, or the samples would not be finite in ``dtype`` (``center``,
            ``shift`` or ``std`` too large for it, such as 1e300 in float32).

    Examples:
        >>> from tensorkit.regression import two_blobs
        >>> X, y = two_blobs(100, seed=0)
        >>> X.shape, y.shape
        (torch.Size([200, 2]), torch.Size([200]))
        >>> X[y == 0].mean(dim=0), X[y == 1].mean(dim=0)
        (tensor([2.5796, 2.7618]), tensor([-0.6586, -0.7979]))
    """
    function = "two_blobs"
    n_per_class = check_positive_int("n_per_class", n_per_class, function)
    n_features = check_positive_int("n_features", n_features, function)
    center = check_real("center", center, function, minimum=-float("inf"))
    shift = check_real("shift", shift, function, minimum=-float("inf"))
    std = check_real("std", std, function)
    generator = seeded_generator(seed, function)
    dtype = check_dtype(dtype, function, floating=True)
    device = check_device(device, function)
    shape = (n_per_class, n_features)
    first = torch.randn(shape, generator=generator, dtype=torch.float64, device="cpu")
    second = torch.randn(shape, generator=generator, dtype=torch.float64, device="cpu")
    X = torch.cat([center + shift + std * first, -center + shift + std * second])
    X = _in_dtype(X, dtype, function, "'center', 'shift' and 'std'")
    y = torch.cat(
        [
            torch.zeros(n_per_class, dtype=torch.float64, device="cpu"),
            torch.ones(n_per_class, dtype=torch.float64, device="cpu"),
        ]
    )
    return X.to(device), y.to(device, dtype)
