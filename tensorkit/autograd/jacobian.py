"""Whole derivative matrices: the Jacobian, the Hessian and higher derivatives.

Pages: ``docs/autograd/jacobian.md``, ``docs/autograd/jacobian_advanced.md`` and
``docs/autograd/higher_order.md``.

`jacobian` gives the matrix ``torch.autograd.functional.jacobian`` gives. It runs ``f``
once, recording its graph, and then reads the matrix off that graph in one of three
ways, chosen from the shapes involved, because the best way depends on them:

* ``"loop"``: one backward pass per output element. For one or two outputs nothing
  beats it.
* ``"reverse"``: the same backward passes, batched into one with `torch.func.vmap`. Each
  gives a row of the matrix. Best when there are no more outputs than inputs.
* ``"forward"``: the columns, one per input element, batched the same way. A backward
  pass maps ``v`` to ``vJ``, a linear map whose matrix is ``J`` transposed, so a
  backward pass through that map, fed ``u``, gives ``Ju``: the Jacobian-vector product
  forward mode computes (the "double-backward trick" of
  ``torch.autograd.functional.jvp``), without running ``f`` again. Best when there are
  fewer inputs than outputs.

`hessian` and `derivatives` differentiate a derivative again, which is what
``create_graph=True`` makes possible.
"""

from __future__ import annotations

import warnings
from typing import Literal

import torch

from tensorkit._checks import (
    MAX_SIZE,
    check_bool,
    check_callable,
    check_floating,
    check_int,
    check_tensor,
)
from tensorkit.autograd._graph_ways import (
    Differentiated,
    Function,
    Recorded,
    custom_function,
    differentiate,
    record,
)
from tensorkit.autograd._probes import (
    require_elementwise,
    require_samples_apart,
)

__all__ = [
    "JacobianFallbackWarning",
    "derivatives",
    "hessian",
    "jacobian",
    "jacobian_strategy",
]

Strategy = Literal["auto", "loop", "reverse", "forward"]

LOOP_MAX_OUTPUTS = 2
"""With at most this many outputs (per sample), ``strategy="auto"`` uses ``"loop"``: one
plain backward pass per output costs less than setting up a batched one (which, on a CPU,
costs about as much as three plain ones)."""

MAX_ORDER = 100
"""The most derivatives `derivatives` takes. Each is computed from the graph of the one
before, and those graphs grow with every order (for ``torch.tanh`` each order takes
about three times as long as the one before: order 14 takes seconds, order 20 would
take hours), while the values of high derivatives soon outgrow the floating-point range
(``k!`` passes float32's largest number at ``k = 35``)."""

_STRATEGIES = ("auto", "loop", "reverse", "forward")
_EXAMPLE_F = "lambda x: x ** 2"


class JacobianFallbackWarning(UserWarning):
    """`jacobian` or `hessian` could not use the way it chose, and used a slower one.

    The result is the same; only the time differs, and ``f`` is not run again. The
    batched ways run the backward passes of ``f`` under `torch.func.vmap`, which some
    code cannot run under: a custom ``torch.autograd.Function`` whose ``backward`` calls
    NumPy or ``.item()``, or an in-place operation vmap cannot batch. The forward way
    also needs the derivative of each backward pass, which a few operations lack
    (``pdist``, ``embedding_bag`` in torch 2.13). The message names the way used;
    passing it as ``strategy=`` chooses it directly.
    """


def jacobian(
    f: Function,
    x: torch.Tensor,
    *,
    batched: bool = False,
    strategy: Strategy = "auto",
) -> torch.Tensor:
    """The Jacobian of ``f`` at ``x``: every partial derivative of every output.

    Entry ``[i, j]`` is the derivative of output element ``i`` with respect to input
    element ``j`` (rows are outputs: the numerator layout). For tensors of any shape the
    result has shape ``f(x).shape + x.shape``, as with
    ``torch.autograd.functional.jacobian``.

    ``f`` runs exactly once, on a copy of ``x``, and every strategy reads the matrix off
    the graph that run recorded. ``strategy="auto"`` picks by the number of outputs
    ``m`` and of inputs ``n`` (`jacobian_strategy` tells which): ``"loop"`` for at most
    `LOOP_MAX_OUTPUTS` outputs, ``"reverse"`` when ``m <= n``, ``"forward"`` otherwise,
    except for an ``f`` whose graph holds a custom ``torch.autograd.Function``: the
    forward way differentiates the backward pass, and a custom ``backward`` may not
    record how it computes its result, so ``"auto"`` takes ``"reverse"`` then.

    The batched ways run the backward passes under `torch.func.vmap`. Where that fails
    (some custom ``autograd.Function`` code cannot run batched), ``"auto"`` goes on to
    ``"reverse"`` and then to ``"loop"``, on the same graph, without running ``f``
    again, and says so with a `JacobianFallbackWarning`. Any other error is raised as
    it is: one the loop meets too is ``f``'s own, and running out of memory is never
    retried.

    Where every derivative is finite, the strategies agree up to rounding. Where one is
    infinite they can differ, because ``0 * inf`` is NaN and each way multiplies by zero
    in different places: for ``torch.sqrt`` at ``(0, 4)``, the rows (``"loop"`` and
    ``"reverse"``, like ``torch.func.jacrev``) give ``[[inf, 0], [nan, 0.25]]`` and the
    columns (``"forward"``, like ``torch.func.jacfwd``) ``[[inf, nan], [0, 0.25]]``.
    ``"auto"`` gives the rows unless it picks ``"forward"``; pass a strategy to get the
    same convention at every size.

    Args:
        f: The function to differentiate. It takes one tensor and returns one tensor.
            It is called once, with a tensor that does not share ``x``'s memory.
        x: Where to differentiate: a floating-point tensor. It is not changed, and the
            result is not connected to any graph ``x`` belongs to.
        batched: If True, dimension 0 of ``x`` is a batch of independent samples: ``f``
            must map each sample on its own (row ``b`` of ``f(x)`` depends only on row
            ``b`` of ``x``, as in a model without batch normalisation). The result holds
            one Jacobian per sample, with shape ``(B, *out, *in)``, computed without
            the ``B * B`` blocks of zeros between samples. One more product, in a fixed
            direction that weights every sample differently, checks that ``f`` keeps
            the samples apart, allowing for rounding (the square root of the dtype's
            precision, relative to the largest value): for an ``f`` that mixes them
            (``x - x.mean(0)``, batch normalisation in training mode) the blocks would
            be wrong, and `jacobian` raises instead.
        strategy: ``"auto"``, ``"loop"``, ``"reverse"`` or ``"forward"`` (see above).

    Returns:
        The Jacobian, with the dtype and device of ``f(x)``.

    Raises:
        TypeError: If ``f`` is not callable, ``x`` is not a tensor or not floating
            point, ``batched`` is not a bool, or ``f`` does not return a tensor.
        ValueError: If ``x`` is empty, ``strategy`` is unknown (or ``"forward"`` for
            an ``f`` with a custom ``autograd.Function``), ``f``'s output does not
            depend on ``x``, the call is made inside ``torch.inference_mode()``, or with
            ``batched=True``, ``x`` has no batch dimension, ``f(x)`` does not keep it or
            ``f`` mixes samples.

    Examples:
        The Jacobian of $y_1 = x_1^2 + 3x_2$, $y_2 = x_2^2 + 2x_1$ at $(2, 3)$:

        >>> import torch
        >>> from tensorkit.autograd import jacobian
        >>> def f(x):
        ...     return torch.stack([x[0] ** 2 + 3 * x[1], x[1] ** 2 + 2 * x[0]])
        >>> jacobian(f, torch.tensor([2.0, 3.0]))
        tensor([[4., 3.],
                [2., 6.]])

        A number to a number, like ``torch.func.jacrev``:

        >>> jacobian(lambda x: x ** 2, torch.tensor(3.0))
        tensor(6.)

        One Jacobian per sample of a batch:

        >>> x = torch.tensor([[2.0, 3.0], [1.0, 0.0]])
        >>> jacobian(lambda x: x ** 2, x, batched=True)
        tensor([[[4., 0.],
                 [0., 6.]],
        <BLANKLINE>
                [[2., 0.],
                 [0., 0.]]])
    """
    check_callable("f", f, "jacobian", example=_EXAMPLE_F)
    _require_point(x, "jacobian")
    check_bool("batched", batched, "jacobian")
    _require_strategy(strategy)
    if batched and x.dim() == 0:
        raise ValueError(
            "jacobian() with batched=True needs a batch dimension: argument 'x' must have "
            "at least one dimension, got a 0-dimensional tensor; pass batched=False"
        )
    recorded = record(f, x, "jacobian", batched=batched)
    if recorded.outputs == 0:
        return recorded.output.new_zeros(recorded.output.shape + recorded.in_shape)
    chosen = _rule(recorded.inputs, recorded.outputs) if strategy == "auto" else strategy
    if chosen == "forward":
        chosen = _forward_or_reverse(recorded, chosen_by_user=strategy == "forward")
    probe = batched and recorded.output.device.type != "meta"  # meta tensors hold no values
    found = differentiate(recorded, chosen, fall_back=strategy == "auto", probe=probe)
    _warn_of_fallback(found, "jacobian")
    if found.probe is not None:
        require_samples_apart(found.probe)
    return found.matrix


def _warn_of_fallback(found: Differentiated, function: str) -> None:
    """A `JacobianFallbackWarning` if the way chosen failed and a slower one was used."""
    if not found.failures:
        return
    # hessian() has no strategy to pass: it always reads rows.
    hint = f"; pass strategy='{found.way}' to choose it directly" if function == "jacobian" else ""
    warnings.warn(
        f"{function}() used strategy '{found.way}' on the graph f recorded, without "
        f"running f again, because {'; then '.join(found.failures)}. The result is the "
        f"same, only slower{hint}",
        JacobianFallbackWarning,
        stacklevel=3,
    )


def _forward_or_reverse(
    recorded: Recorded, *, chosen_by_user: bool
) -> Literal["forward", "reverse"]:
    """``"forward"``, unless ``f``'s graph holds a custom ``autograd.Function``."""
    custom = custom_function(recorded)
    if custom is None:
        return "forward"
    if not chosen_by_user:
        return "reverse"
    raise ValueError(
        "jacobian() argument 'strategy' is 'forward', which differentiates the backward "
        f"pass of f, but f's graph holds a custom autograd.Function ({custom}), whose "
        "backward pass may not record how it computes its result; use strategy='reverse' "
        "or 'loop'"
    )


def jacobian_strategy(inputs: int, outputs: int) -> Literal["loop", "reverse", "forward"]:
    """The strategy `jacobian` uses by default for ``inputs`` and ``outputs`` elements.

    ``"loop"`` for at most `LOOP_MAX_OUTPUTS` outputs, else ``"reverse"`` when there are
    no more outputs than inputs (one batched backward pass per output), else
    ``"forward"`` (one batched Jacobian-vector product per input). With
    ``batched=True`` the counts are per sample.

    Args:
        inputs: The number of elements of ``x``, at least 1.
        outputs: The number of elements of ``f(x)``, at least 1.

    Returns:
        ``"loop"``, ``"reverse"`` or ``"forward"``.

    Raises:
        TypeError: If a count is not an int.
        ValueError: If a count is less than 1 or more than ``2**63 - 1``.

    Examples:
        >>> from tensorkit.autograd import jacobian_strategy
        >>> jacobian_strategy(inputs=2, outputs=2)
        'loop'
        >>> jacobian_strategy(inputs=1024, outputs=256)
        'reverse'
        >>> jacobian_strategy(inputs=8, outputs=1024)
        'forward'
    """
    for name, count in (("inputs", inputs), ("outputs", outputs)):
        check_int(
            name, count, "jacobian_strategy", minimum=1, maximum=MAX_SIZE, example="x.numel()"
        )
    return _rule(inputs, outputs)


def _rule(inputs: int, outputs: int) -> Literal["loop", "reverse", "forward"]:
    """`jacobian_strategy` without its argument checks, for counts already known good."""
    if outputs <= LOOP_MAX_OUTPUTS:
        return "loop"
    return "reverse" if outputs <= inputs else "forward"


# --- Second and higher derivatives --------------------------------------------------


def hessian(f: Function, x: torch.Tensor) -> torch.Tensor:
    """The Hessian of a scalar function ``f`` at ``x``: the Jacobian of its gradient.

    The gradient is computed with ``create_graph=True``, so that it is itself part of a
    graph and can be differentiated again: one backward pass per row for one or two
    inputs, else all rows at once with `torch.func.vmap` (falling back to one pass per
    row, with a `JacobianFallbackWarning`, where vmap cannot run the backward passes).
    ``f`` runs once. A custom ``torch.autograd.Function`` in ``f`` needs a ``backward``
    that autograd can differentiate in turn (one written in torch operations): the
    second derivatives through one that is not (through NumPy, say) are missing.

    Args:
        f: A function of one tensor that returns a tensor with one element.
        x: Where to differentiate: a floating-point tensor. It is not changed.

    Returns:
        The second derivatives, with shape ``x.shape + x.shape``; entry ``[i, j]`` is
        the derivative of ``f`` with respect to ``x[i]`` and then ``x[j]``.

    Raises:
        TypeError: If ``f`` is not callable, ``x`` is not a tensor or not floating
            point, or ``f`` does not return a tensor.
        ValueError: If ``x`` is empty, ``f(x)`` has more than one element, ``f``'s
            output does not depend on ``x``, or the call is made inside
            ``torch.inference_mode()``.

    Examples:
        For $f(x) = x_1^2 x_2 + x_2^3$, the Hessian is
        $\\begin{pmatrix} 2x_2 & 2x_1 \\\\ 2x_1 & 6x_2 \\end{pmatrix}$:

        >>> import torch
        >>> from tensorkit.autograd import hessian
        >>> hessian(lambda x: x[0] ** 2 * x[1] + x[1] ** 3, torch.tensor([1.0, 2.0]))
        tensor([[ 4.,  2.],
                [ 2., 12.]])

        Of a number, the second derivative: $(x^3)'' = 6x = 12$ at $2$:

        >>> hessian(lambda x: x ** 3, torch.tensor(2.0))
        tensor(12.)
    """
    check_callable("f", f, "hessian", example="lambda x: (x ** 2).sum()")
    _require_point(x, "hessian")
    recorded = record(f, x, "hessian", batched=False)
    if recorded.output.numel() != 1:
        raise ValueError(
            f"hessian() needs f to return one number, got a tensor of shape "
            f"{tuple(recorded.output.shape)}; reduce it first (e.g. lambda x: f(x).sum()) "
            "or use jacobian() for the first derivatives of every element"
        )
    with torch.enable_grad():
        (gradient,) = torch.autograd.grad(
            recorded.output, recorded.leaf, create_graph=True, materialize_grads=True
        )
    if not gradient.requires_grad:
        # The gradient is a constant (f is linear in x): every second derivative is 0.
        return gradient.new_zeros(x.shape + x.shape)
    of_gradient = Recorded.of(recorded.leaf, gradient, batched=False)
    chosen = "loop" if of_gradient.outputs <= LOOP_MAX_OUTPUTS else "reverse"
    found = differentiate(of_gradient, chosen, fall_back=True, probe=False)
    _warn_of_fallback(found, "hessian")
    return found.matrix


def derivatives(f: Function, x: torch.Tensor, order: int) -> tuple[torch.Tensor, ...]:
    """The first ``order`` derivatives of an elementwise function ``f`` at ``x``.

    Each derivative is taken of the one before with ``create_graph=True``. Once a
    derivative has no graph left (PyTorch records none for a result that cannot depend
    on ``x``, such as the third derivative of $x^2$), every later one is zero, where
    ``torch.autograd.grad`` would raise an error instead.

    Differentiating the sum of ``f(x)``, as each step does, gives each element's own
    derivative only if ``f`` is elementwise, so `derivatives` checks that it is. A
    graph of elementwise operations alone (``sin``, ``exp``, ``*``, ``+``, ...) passes as
    it is; any other costs one more backward pass, in a fixed direction that weights
    each element differently. For a function that mixes elements (``softmax``,
    ``cumsum``) the sum would give wrong numbers, so `derivatives` raises instead.

    Args:
        f: A function applied elementwise: ``f(x)[i]`` depends on ``x[i]`` only, and
            ``f(x)`` has the shape of ``x`` (``torch.sin``, ``lambda x: x ** 3``).
        x: Where to differentiate: a floating-point tensor. It is not changed.
        order: How many derivatives to take, from 1 to `MAX_ORDER`.

    Returns:
        ``order`` tensors shaped like ``x``: $f'(x)$, $f''(x)$, and so on.

    Raises:
        TypeError: If ``f`` is not callable, ``x`` is not a tensor or not floating
            point, ``order`` is not an int, or ``f`` does not return a tensor.
        ValueError: If ``x`` is empty, ``order`` is less than 1 or more than
            `MAX_ORDER`, ``f(x)`` does not have the shape of ``x``, does not depend on
            ``x`` or mixes its elements, or the call is made inside
            ``torch.inference_mode()``.

    Examples:
        $y = x^2$ at $x = 3$: $y' = 2x = 6$, $y'' = 2$, and $y''' = 0$:

        >>> import torch
        >>> from tensorkit.autograd import derivatives
        >>> derivatives(lambda x: x ** 2, torch.tensor(3.0), order=3)
        (tensor(6.), tensor(2.), tensor(0.))
    """
    check_callable("f", f, "derivatives", example="torch.sin")
    _require_point(x, "derivatives")
    count = _require_order(order)
    recorded = record(f, x, "derivatives", batched=False)
    if recorded.output.shape != x.shape:
        raise ValueError(
            f"derivatives() needs f to apply elementwise, returning the shape of x "
            f"{tuple(x.shape)}, got shape {tuple(recorded.output.shape)}; use jacobian() "
            "for functions that mix elements"
        )
    with torch.enable_grad():
        # The graph of f(x) is kept for the check, which needs one more pass through it.
        first = _next_derivative(recorded.output, recorded.leaf, more=count > 1, keep=True)
        if recorded.output.device.type != "meta":  # meta tensors hold no values
            require_elementwise(recorded.output, recorded.leaf, first)
        found = [first]
        for step in range(1, count):
            found.append(_next_derivative(found[-1], recorded.leaf, more=step < count - 1))
    return tuple(derivative.detach() for derivative in found)


def _next_derivative(
    current: torch.Tensor, leaf: torch.Tensor, *, more: bool, keep: bool = False
) -> torch.Tensor:
    """The derivative of elementwise ``current``, with a graph if ``more`` are to follow."""
    if not current.requires_grad:  # a constant: its derivative, and every later one, is 0
        return torch.zeros_like(current)
    # Summing is exact here: element i of the sum's gradient is current'(x[i]), because
    # current is elementwise.
    (derivative,) = torch.autograd.grad(
        current.sum(), leaf, create_graph=more, retain_graph=more or keep, materialize_grads=True
    )
    return derivative


# --- Argument checks specific to these functions ------------------------------------


def _require_point(x: object, function: str) -> torch.Tensor:
    """``x`` if it is a non-empty floating-point tensor: a point to differentiate at."""
    point = check_tensor("x", x, function, example="torch.tensor([2.0, 3.0])")
    check_floating("x", point, function)
    if point.numel() == 0:
        raise ValueError(
            f"{function}() argument 'x' must have at least one element, got shape "
            f"{tuple(point.shape)}"
        )
    return point


def _require_strategy(strategy: object) -> None:
    if not isinstance(strategy, str) or strategy not in _STRATEGIES:
        raise ValueError(
            f"jacobian() argument 'strategy' must be one of "
            f"{', '.join(map(repr, _STRATEGIES))}, got {strategy!r}"
        )


def _require_order(order: object) -> int:
    count = check_int("order", order, "derivatives", minimum=1, example="order=2")
    if count > MAX_ORDER:
        raise ValueError(
            f"derivatives() argument 'order' must be at most {MAX_ORDER}, got {count}: each "
            "derivative is computed from the graph of the one before, and those graphs "
            "grow with every order (for torch.tanh each order takes three times as long), "
            f"so time and memory would have no bound; pass at most {MAX_ORDER}"
        )
    return count
