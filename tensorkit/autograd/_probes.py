"""The checks `jacobian` and `derivatives` make on ``f``: one product in a generic direction.

``jacobian(batched=True)`` and `derivatives` compute less than the whole Jacobian, by
assuming something of ``f``: that it keeps the samples of a batch apart, or that it
works element by element. If the assumption is wrong, the numbers are wrong, with no
error. One product of the Jacobian with a direction that weights every element
differently tells: for an ``f`` that meets the assumption, the product follows from
what was computed anyway; for one that does not, it almost never does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

#: The probe direction repeats with this period (a prime, so that no sample or row of a
#: different length lines up with it), to be cheap to make for tensors of any size.
PROBE_PERIOD = 4093


def _pattern() -> torch.Tensor:
    """One period of the probe direction: signed powers of two, in an irregular order.

    Scaling by a power of two is exact in floating point, so an elementwise ``f`` gives
    the same bits whichever such direction it is differentiated in. The order (ten
    levels, picked by the golden-ratio sequence) never repeats within the period.
    """
    golden = (math.sqrt(5) - 1) / 2
    levels = [math.floor(10 * ((k + 1) * golden % 1)) for k in range(PROBE_PERIOD)]
    values = [(1.0 if level < 5 else -1.0) * 2.0 ** (level % 5 - 2) for level in levels]
    return torch.tensor(values, dtype=torch.float32)  # exact in every floating dtype


#: Kept on the CPU (16 KiB); each probe copies what it needs to the tensor's device.
_PATTERN = _pattern()


def probe_direction(like: torch.Tensor) -> torch.Tensor:
    """A fixed direction shaped like ``like``, in no special relation to any function.

    A fresh tensor on every call (a custom backward pass may change its gradient in
    place), made without the global random generator, which the caller's code may rely
    on.
    """
    direction = torch.empty(like.shape, dtype=like.dtype, device=like.device)
    write_probe(direction)
    return direction


def write_probe(target: torch.Tensor) -> None:
    """Fill the contiguous ``target`` with the probe pattern, repeated as needed."""
    flat = target.view(-1)
    count = flat.numel()
    whole = count - count % PROBE_PERIOD
    if whole:  # copy_ converts the dtype and moves to the device in one step
        flat[:whole].view(-1, PROBE_PERIOD).copy_(_PATTERN)
    if whole < count:
        flat[whole:].copy_(_PATTERN[: count - whole])


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    """Relative and absolute tolerance for two roundings of one product: the square root
    of the dtype's precision, and its smallest normal number (for underflow)."""
    info = torch.finfo(dtype)
    return math.sqrt(info.eps), info.tiny


# --- Samples kept apart ----------------------------------------------------------------


def write_sample_probe(target: torch.Tensor) -> None:
    """Fill ``target``, zeros of shape ``(B, count)``, with the probe across a batch.

    Sample ``b`` gets one nonzero entry, at position ``b % count``, and a weight of its
    own, from the probe pattern: a direction that weights every sample differently
    and, in turn, every position.
    """
    samples, positions = _positions(target.shape[0], target.shape[1], target.device)
    target[samples, positions] = _weights(target.shape[0], target)


def _positions(batch: int, count: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    samples = torch.arange(batch, device=device)
    return samples, samples % count


def _weights(batch: int, like: torch.Tensor) -> torch.Tensor:
    """The probe's weight for each of ``batch`` samples, in ``like``'s dtype and device."""
    if batch > PROBE_PERIOD:
        return probe_direction(like.new_empty(batch))
    # Only read (copied into the probe or multiplied), never handed to f: no copy needed.
    return _PATTERN[:batch].to(device=like.device, dtype=like.dtype)


@dataclass(frozen=True)
class Probe:
    """One product with a direction across the whole batch, to check samples stay apart.

    Rows: ``direction`` (made by `write_sample_probe`) is shaped like ``f(x)``,
    ``response`` (the vector-Jacobian product) like ``x``, and ``parts`` holds the rows
    of J, ``(m, B, *x's sample)``. Columns: the other way round, with ``parts`` the
    columns ``(n, B, *f(x)'s sample)``.
    """

    direction: torch.Tensor
    response: torch.Tensor
    parts: torch.Tensor


def require_samples_apart(check: Probe) -> None:
    """Raise if the product over the whole batch differs from the per-sample blocks'.

    For an ``f`` that keeps samples apart, the product with the probe is, sample by
    sample, that sample's weight times one row (or column) of its own Jacobian, the
    one at the sample's position. An ``f`` that mixes samples adds terms from the other
    samples, which the per-sample Jacobians lack.

    Raises:
        ValueError: If the two differ by more than rounding can explain.
    """
    parts = check.parts
    count, batch = parts.shape[0], parts.shape[1]
    samples, positions = _positions(batch, count, parts.device)
    weights = _weights(batch, parts)[(..., *[None] * (parts.dim() - 2))]
    # weights * picked rows - response, in one operation.
    gap = torch.addcmul(
        check.response.reshape(parts.shape[1:]), parts[positions, samples], weights, value=-1
    )
    error, size = torch.stack([gap.abs_().max(), check.response.abs().max()]).tolist()
    # The weights are powers of two, so the two sides differ only where the backward
    # pass sums in another order; the tolerance allows the square root of the dtype's
    # precision, relative to the largest value.
    relative, floor = tolerance(parts.dtype)
    if not error > relative * size + floor:
        return  # also when a value is NaN or infinite: then nothing can be told
    sample = int(gap.reshape(batch, -1).amax(dim=1).argmax())
    raise ValueError(
        "jacobian() with batched=True needs f to map each sample on its own, but f mixes "
        f"samples: a product across the whole batch differs at sample {sample} by "
        f"{error:.3g} from what the per-sample Jacobians give (the product's values go "
        f"up to {size:.3g}), so f(x)[b] depends on rows of x other than x[b] (as with "
        "batch normalisation in training mode, x - x.mean(0) or x.flip(0)); pass "
        "batched=False for the whole Jacobian, of shape f(x).shape + x.shape"
    )


# --- Elementwise functions -------------------------------------------------------------


def require_elementwise(output: torch.Tensor, leaf: torch.Tensor, first: torch.Tensor) -> None:
    """Raise if ``output = f(leaf)`` is not elementwise, given ``first``, its sum's gradient.

    For an elementwise ``f``, the gradient of ``sum(v * f(x))`` is ``v * f'(x)`` for
    every ``v``. ``v`` holds powers of two, and scaling by them is exact, so an
    elementwise ``f`` almost always gives exactly the same bits; the tolerance is for
    the rest (an elementwise ``f`` computed through a reduction, such as
    ``x - x.mean() + x.mean()``). A graph made of elementwise operations alone needs no
    such pass. The graph of ``output`` must still be there.

    Raises:
        ValueError: If the gradient differs from ``v * f'(x)`` by more than rounding.
    """
    if made_elementwise(output):
        return
    direction = probe_direction(output)
    (weighted,) = torch.autograd.grad(
        output, leaf, direction, retain_graph=True, materialize_grads=True
    )
    expected = direction * first.detach()
    if torch.equal(weighted, expected):
        return
    relative, floor = tolerance(weighted.dtype)
    error = (weighted - expected).abs()
    wrong = error > relative * torch.maximum(weighted.abs(), expected.abs()) + floor
    if not bool(wrong.any()):
        return
    index = tuple(int(i) for i in wrong.nonzero()[0])
    where = index[0] if len(index) == 1 else index
    raise ValueError(
        "derivatives() needs f to apply elementwise (f(x)[i] depending on x[i] alone), "
        f"but f mixes elements: at index {where}, the gradient of sum(v * f(x)) for a "
        f"direction v is {float(weighted[index]) + 0.0:.6g}, where an elementwise f "
        f"would give v * f'(x) = {float(expected[index]) + 0.0:.6g} (softmax, cumsum and "
        "normalisations mix elements); use jacobian(f, x) for the first derivatives of "
        "such an f (entry [i, i] is the derivative of f(x)[i] by x[i]), and hessian() "
        "for second derivatives of a scalar function"
    )


#: Operations that work element by element (their backward nodes' names, without the
#: "Backward0" ending): a graph of these alone, ending in the shape of x, is elementwise.
#: An operation missing here only costs the check one backward pass.
ELEMENTWISE = frozenset(
    """Abs Acos Acosh Add Addcdiv Addcmul Alias Asin Asinh Atan Atan2 Atanh Ceil Clamp
    ClampMax ClampMin Clone Copysign Cos Cosh Deg2Rad Digamma Div Elu Erf Erfc Erfinv Exp
    Exp2 Expm1 Floor Fmax Fmin Fmod Frac Gelu Hardshrink Hardsigmoid Hardswish Hardtanh
    Hypot LeakyRelu Lerp Lgamma Log Log10 Log1p Log2 Logaddexp Logaddexp2 Logit Maximum
    Minimum Mish Mul NanToNum Neg Polygamma Pow Rad2Deg Reciprocal Relu Remainder Round
    Rsqrt Rsub Sgn Sigmoid Sign Silu Sin Sinc Sinh Softplus Softshrink Sqrt Sub Tan Tanh
    Threshold ToCopy Trunc Where Xlogy""".split()
)
#: The most nodes `made_elementwise` walks before leaving the question to the probe.
ELEMENTWISE_WALK = 64


def made_elementwise(output: torch.Tensor) -> bool:
    """Whether ``output``'s graph is made of elementwise operations alone.

    Elementwise operations keep or broadcast shapes, never shrink them, so if ``output``
    has the shape of ``x``, so does everything in between, and each element of
    ``output`` is computed from the same element of ``x``. False means "not known".
    """
    for index, node in enumerate(nodes(output)):
        if index == ELEMENTWISE_WALK:
            return False
        name = node.name()
        if name.endswith("AccumulateGrad"):  # a leaf: x, or a tensor f closes over
            continue
        if name.rstrip("0123456789").removesuffix("Backward") not in ELEMENTWISE:
            return False
    return True


def nodes(output: torch.Tensor) -> Iterator[Any]:
    """Every node of ``output``'s graph, once each, without recursion (graphs can be deep)."""
    stack = [output.grad_fn]
    seen: set[Any] = set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        yield node
        stack.extend(parent for parent, _ in node.next_functions)
