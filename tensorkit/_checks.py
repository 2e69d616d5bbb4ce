"""Argument checks shared by every tensorkit function: one wording for one mistake.

Every public function checks its arguments here before it touches them. Each error names
the function and the argument, says what it got and what would work, in the form
``f() argument 'name' must be ..., got ...; ...``. The checks only read their inputs: nothing
is coerced, and a failed check leaves every argument as it was.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import torch

#: The largest seed ``torch.Generator.manual_seed`` accepts: seeds are unsigned 64-bit.
MAX_SEED = 2**64 - 1
#: The largest size or count torch takes: sizes are signed 64-bit.
MAX_SIZE = 2**63 - 1
#: How much of a value's repr an error message quotes: enough to recognise it, without
#: pasting kilobytes of a large list or array into the message.
MAX_REPR = 60


def describe_value(value: object) -> str:
    """A short description of a value for an error message: its type, and shape if any."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    shown = repr(value)
    if len(shown) > MAX_REPR:
        shown = shown[: MAX_REPR - 3] + "..."
    return f"{type(value).__name__} ({shown})"


def check_tensor(
    name: str, value: object, function: str, *, example: str = "torch.tensor(...)"
) -> torch.Tensor:
    """``value`` itself if it is a tensor; a TypeError naming ``name`` otherwise."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{function}() argument {name!r} must be a torch.Tensor, got "
            f"{describe_value(value)}; make one with {example}"
        )
    return value


def check_dense(name: str, tensor: torch.Tensor, function: str, *, why: str = "") -> None:
    """A ValueError naming ``name`` if ``tensor`` is sparse or otherwise not strided."""
    if tensor.layout != torch.strided:
        reason = f"; {why}" if why else ""
        raise ValueError(
            f"{function}() argument {name!r} must be a dense (strided) tensor, got layout "
            f"{tensor.layout}{reason}; convert it with .to_dense() first"
        )


def check_has_values(name: str, tensor: torch.Tensor, function: str) -> None:
    """A ValueError naming ``name`` if ``tensor`` is on the meta device, which has no values."""
    if tensor.device.type == "meta":
        raise ValueError(
            f"{function}() argument {name!r} is on the meta device, which stores shapes but "
            "no values; create it on 'cpu' or a GPU"
        )


def check_floating(name: str, tensor: torch.Tensor, function: str) -> None:
    """A TypeError naming ``name`` if ``tensor`` does not have a floating dtype."""
    if not tensor.is_floating_point():
        raise TypeError(
            f"{function}() argument {name!r} must be a floating tensor, got dtype "
            f"{tensor.dtype}; convert it first, e.g. {name}.float()"
        )


def check_features(value: object, function: str, name: str = "X") -> torch.Tensor:
    """Check that ``value`` is a non-empty 2-D floating tensor of samples by features.

    Finiteness is checked separately (:func:`check_finite`), where the caller can do it
    without an extra pass over the data.
    """
    X = check_tensor(name, value, function)
    check_floating(name, X, function)
    if X.ndim != 2:
        hint = f"; for one feature use {name}.unsqueeze(1)" if X.ndim == 1 else ""
        raise ValueError(
            f"{function}() argument {name!r} must be 2-D (samples, features), got shape "
            f"{tuple(X.shape)}{hint}"
        )
    if X.shape[0] == 0:
        raise ValueError(
            f"{function}() argument {name!r} has no samples (shape {tuple(X.shape)}): it "
            "needs at least one row"
        )
    if X.shape[1] == 0:
        raise ValueError(
            f"{function}() argument {name!r} has no features (shape {tuple(X.shape)}): it "
            "needs at least one column"
        )
    check_dense(name, X, function)
    check_has_values(name, X, function)
    return X


def check_samples(value: object, function: str, name: str = "X") -> torch.Tensor:
    """Check that ``value`` is a dense, real tensor with at least one sample along dim 0.

    Any rank from 1 up is accepted (images), and any real dtype: a ``DataLoader`` batches
    token ids (int64), images (uint8) and masks (bool) as well as floats.
    """
    X = check_tensor(name, value, function)
    if X.is_complex():
        raise TypeError(
            f"{function}() argument {name!r} must be a real tensor (floating, integer or "
            f"bool), got dtype {X.dtype}; torch's layers and losses take real inputs, so "
            f"pass torch.view_as_real({name}), which holds the real and imaginary parts "
            "side by side"
        )
    if X.ndim == 0:
        raise ValueError(
            f"{function}() argument {name!r} must have samples along its first dimension, "
            "got a 0-d tensor"
        )
    if X.shape[0] == 0:
        raise ValueError(
            f"{function}() argument {name!r} has no samples (shape {tuple(X.shape)}): it "
            "needs at least one"
        )
    check_dense(name, X, function)
    check_has_values(name, X, function)
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
    check_dense(name, y, function)
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


def check_int(
    name: str,
    value: object,
    function: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    example: str = "",
) -> int:
    """``value`` as an int if it is an integer within ``[minimum, maximum]``.

    NumPy integers count as integers; ``True`` and ``False`` do not, nor do floats such
    as ``2.0``, because an int written as a float is usually a computed size gone wrong.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        hint = f"; pass e.g. {example}" if example else ""
        raise TypeError(
            f"{function}() argument {name!r} must be an int, got {describe_value(value)}{hint}"
        )
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(
            f"{function}() argument {name!r} must be at least {minimum}, got {number}"
        )
    if maximum is not None and number > maximum:
        raise ValueError(
            f"{function}() argument {name!r} must be at most {_bound(maximum)}, got {number}"
        )
    return number


def _bound(limit: int) -> str:
    """A limit as a reader would write it: ``2**63 - 1`` rather than 19 digits."""
    for power in (63, 64):
        if limit == 2**power - 1:
            return f"2**{power} - 1"
    return str(limit)


def check_positive_int(name: str, value: object, function: str, *, maximum: int = MAX_SIZE) -> int:
    """``value`` as an int if it is an integer from 1 to ``maximum``."""
    return check_int(name, value, function, minimum=1, maximum=maximum)


def check_real(
    name: str, value: object, function: str, *, minimum: float = 0.0, strict: bool = False
) -> float:
    """``value`` as a float if it is a finite real number at least (or above) ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{function}() argument {name!r} must be a number, got {describe_value(value)}"
        )
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{function}() argument {name!r} must be finite, got {value!r}")
    too_small = number <= minimum if strict else number < minimum
    if too_small:
        bound = f"above {minimum:g}" if strict else f"at least {minimum:g}"
        raise ValueError(f"{function}() argument {name!r} must be {bound}, got {value!r}")
    return number


def check_bool(name: str, value: object, function: str) -> bool:
    """``value`` if it is ``True`` or ``False``; a TypeError naming ``name`` otherwise.

    Truthy stand-ins (``1``, ``"yes"``, ``None``) are refused rather than read as a bool,
    because ``"no"`` would read as ``True``.
    """
    if not isinstance(value, bool):
        raise TypeError(
            f"{function}() argument {name!r} must be True or False, got {describe_value(value)}"
        )
    return value


def check_seed(seed: object, function: str) -> int:
    """``seed`` as an int if ``torch.Generator.manual_seed`` takes it: 0 to ``2**64 - 1``."""
    number = check_int("seed", seed, function, example="seed=0")
    if not 0 <= number <= MAX_SEED:
        raise ValueError(
            f"{function}() argument 'seed' must be between 0 and 2**64 - 1, got {number}"
        )
    return number


def seeded_generator(seed: object, function: str) -> torch.Generator:
    """A CPU generator seeded with the checked ``seed``, apart from the global one.

    Drawing on the CPU and moving the result is what makes a seed give the same values on
    every device: CPU and CUDA generators use different algorithms.
    """
    return torch.Generator(device="cpu").manual_seed(check_seed(seed, function))


def check_device(device: object, function: str) -> torch.device:
    """``device`` as a ``torch.device`` this machine has; ``None`` means the default device."""
    if device is None:
        # Follows `with torch.device(...)` and torch.set_default_device, as torch.randn does.
        return torch.get_default_device()
    if isinstance(device, bool) or not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"{function}() argument 'device' must be a str or torch.device such as "
            f"'cpu' or 'cuda', got {describe_value(device)}"
        )
    try:
        target = torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"{function}() argument 'device' is not a device name: {device!r}; "
            "use e.g. 'cpu', 'cuda' or 'cuda:0'"
        ) from None
    if target.type in ("cpu", "meta"):
        return target
    if target.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(
                f"{function}() argument 'device' is {str(target)!r}, but CUDA is not "
                "available on this machine; use device='cpu'"
            )
        if target.index is not None and target.index >= count:
            raise ValueError(
                f"{function}() argument 'device' is {str(target)!r}, but this machine has "
                f"{count} CUDA device(s); use an index below {count}"
            )
        return target
    if target.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(
                f"{function}() argument 'device' is 'mps', but Apple's Metal (MPS) is not "
                "available on this machine; use device='cpu'"
            )
        return target
    # Any other backend (xpu, ...): ask torch for an empty tensor there, which fails with
    # torch's own reason when the build or the machine lacks that backend. Its first line
    # says why; the rest is a list of every backend torch was built with.
    try:
        torch.empty(0, device=target)
    except (RuntimeError, AssertionError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"{function}() argument 'device' is {str(target)!r}, which this machine cannot "
            f"use ({reason}); use device='cpu'"
        ) from None
    return target


def check_dtype(dtype: object, function: str, *, floating: bool) -> torch.dtype:
    """``dtype`` if it is a floating ``torch.dtype``, or integer too with ``floating=False``."""
    if not isinstance(dtype, torch.dtype):
        raise TypeError(
            f"{function}() argument 'dtype' must be a torch.dtype such as torch.float32, "
            f"got {describe_value(dtype)}"
        )
    if floating and not dtype.is_floating_point:
        raise ValueError(
            f"{function}() argument 'dtype' must be a floating dtype, got {dtype}; "
            "use torch.float32 or torch.float64"
        )
    if not floating and (dtype.is_complex or dtype == torch.bool):
        raise ValueError(
            f"{function}() argument 'dtype' must be an integer or floating dtype, got "
            f"{dtype}; use torch.int64 (the default) or torch.float32"
        )
    return dtype


def check_shape(shape: object, function: str) -> tuple[int, ...]:
    """``shape`` as a tuple of sizes, from a tuple, list or ``torch.Size`` of ints >= 0."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        raise TypeError(
            f"{function}() argument 'shape' must be a tuple of ints, got the int {shape}; "
            f"write shape=({shape},) for a 1-D tensor"
        )
    if not isinstance(shape, (tuple, list, torch.Size)):
        raise TypeError(
            f"{function}() argument 'shape' must be a tuple of ints such as (2, 3), "
            f"got {describe_value(shape)}"
        )
    sizes: list[int] = []
    for size in shape:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(
                f"{function}() argument 'shape' must hold ints, got {shape!r} with "
                f"{type(size).__name__} {size!r}; write sizes as ints, e.g. (2, 3)"
            )
        if not 0 <= int(size) <= MAX_SIZE:
            raise ValueError(
                f"{function}() argument 'shape' must hold sizes >= 0 and <= 2**63 - 1, got "
                f"{tuple(shape)}"
            )
        sizes.append(int(size))
    return tuple(sizes)


def check_callable(name: str, value: object, function: str, *, example: str) -> None:
    """A TypeError naming ``name`` if ``value`` cannot be called."""
    if not callable(value):
        raise TypeError(
            f"{function}() argument {name!r} must be a function, got "
            f"{describe_value(value)}; e.g. {example}"
        )


def check_named_tensors(tensors: Mapping[str, object], function: str) -> None:
    """Require at least one tensor, each passed by name as a ``torch.Tensor``.

    Raises:
        ValueError: If ``tensors`` is empty.
        TypeError: If a value is not a tensor; the message names the argument.
    """
    if not tensors:
        raise ValueError(
            f"{function}() needs at least one tensor, passed by name: {function}(w=w, x=x)"
        )
    for name, value in tensors.items():
        check_tensor(name, value, function, example=f"{function}({name}=torch.tensor(...))")
