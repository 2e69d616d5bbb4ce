"""Input checks shared by `tensorkit.regression`: one wording for one mistake.

Every public function checks its arguments before it touches them, and every error names
the argument, says what it got and what would work. The checks only read their inputs.
"""

from __future__ import annotations

import math
import numbers

import torch


def describe(value: object) -> str:
    """A short description of a value for an error message: its type, and shape if any."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"{type(value).__name__} ({value!r})"


def check_tensor(name: str, value: object, function: str) -> torch.Tensor:
    """``value`` itself if it is a tensor; a TypeError naming ``name`` otherwise."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{function}() argument {name!r} must be a torch.Tensor, got {describe(value)}; "
            f"make one with torch.tensor(...) or torch.as_tensor(...)"
        )
    return value


def check_features(value: object, function: str, name: str = "X") -> torch.Tensor:
    """Check that ``value`` is a non-empty 2-D floating tensor of samples by features.

    Finiteness is checked separately (:func:`check_finite`), where the caller can do it
    without an extra pass over the data.
    """
    X = check_tensor(name, value, function)
    if not X.is_floating_point():
        raise TypeError(
            f"{function}() argument {name!r} must be a floating tensor, got dtype {X.dtype}; "
            f"convert it first, e.g. {name}.float()"
        )
    if X.ndim != 2:
        hint = f"; for one feature use {name}.unsqueeze(1)" if X.ndim == 1 else ""
        raise ValueError(
            f"{function}() argument {name!r} must be 2-D (samples, features), got shape "
            f"{tuple(X.shape)}{hint}"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"{function}() argument {name!r} is empty (shape {tuple(X.shape)}): it needs at "
            "least one sample and one feature"
        )
    return X


def check_samples(value: object, function: str, name: str = "X") -> torch.Tensor:
    """Check that ``value`` is a floating tensor with at least one sample along dim 0.

    Unlike :func:`check_features`, any rank from 1 up is accepted, such as images.
    """
    X = check_tensor(name, value, function)
    if not X.is_floating_point():
        raise TypeError(
            f"{function}() argument {name!r} must be a floating tensor, got dtype {X.dtype}; "
            f"convert it first, e.g. {name}.float()"
        )
    if X.ndim == 0:
        raise ValueError(
            f"{function}() argument {name!r} must have samples along its first dimension, "
            "got a 0-d tensor"
        )
    if X.numel() == 0:
        raise ValueError(
            f"{function}() argument {name!r} is empty (shape {tuple(X.shape)}): it needs at "
            "least one sample"
        )
    return X


def check_pair(
    X: torch.Tensor,
    value: object,
    function: str,
    *,
    name: str = "y",
    floating: bool = True,
) -> torch.Tensor:
    """Check targets ``value`` against features ``X``: a tensor, as many samples, same device.

    With ``floating``, the targets must also have ``X``'s dtype and be 1-D or 2-D.
    """
    y = check_tensor(name, value, function)
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        got = "a 0-d tensor" if y.ndim == 0 else f"{y.shape[0]} samples"
        raise ValueError(
            f"{function}() arguments 'X' and {name!r} must have the same number of samples "
            f"(first dimension): X has {X.shape[0]}, {name} has {got}"
        )
    if y.device != X.device:
        raise ValueError(
            f"{function}() arguments 'X' and {name!r} must be on the same device: X is on "
            f"{X.device}, {name} on {y.device}; move one with .to(X.device)"
        )
    if floating:
        if y.dtype != X.dtype:
            raise TypeError(
                f"{function}() argument {name!r} must have X's dtype {X.dtype}, got "
                f"{y.dtype}; convert it with {name}.to(X.dtype)"
            )
        if y.ndim > 2:
            raise ValueError(
                f"{function}() argument {name!r} must be 1-D (samples,) or 2-D "
                f"(samples, outputs), got shape {tuple(y.shape)}"
            )
    return y


def check_finite(name: str, tensor: torch.Tensor, function: str) -> None:
    """A ValueError naming ``name`` and the first bad position if ``tensor`` holds NaN or inf."""
    if not tensor.is_floating_point() and not tensor.is_complex():
        return
    # A NaN or an infinity makes the sum NaN or infinite, so one cheap reduction clears
    # almost every tensor; only a sum that overflows needs the element-wise look.
    if bool(torch.isfinite(tensor.sum())):
        return
    finite = torch.isfinite(tensor)
    if bool(finite.all()):
        return
    position = tuple(int(i) for i in torch.nonzero(~finite)[0])
    where = position[0] if len(position) == 1 else position
    raise ValueError(
        f"{function}() argument {name!r} holds NaN or infinite values, the first at index "
        f"{where} ({tensor[position].item()}); remove or replace them first"
    )


def check_positive_int(name: str, value: object, function: str) -> int:
    """``value`` as an int if it is an integer of at least 1; TypeError or ValueError if not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{function}() argument {name!r} must be an int, got {describe(value)}")
    if value < 1:
        raise ValueError(f"{function}() argument {name!r} must be at least 1, got {value}")
    return int(value)


def check_real(
    name: str, value: object, function: str, *, minimum: float = 0.0, strict: bool = False
) -> float:
    """``value`` as a float if it is a finite real number at least (or above) ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{function}() argument {name!r} must be a number, got {describe(value)}")
    number = float(value)
    too_small = number <= minimum if strict else number < minimum
    if not math.isfinite(number) or too_small:
        bound = f"above {minimum:g}" if strict else f"at least {minimum:g}"
        raise ValueError(
            f"{function}() argument {name!r} must be a finite number {bound}, got {value!r}"
        )
    return number
