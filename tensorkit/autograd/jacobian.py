"""Whole derivative matrices: the Jacobian, the Hessian and higher derivatives.

Pages: ``docs/autograd/jacobian.md`` and ``docs/autograd/higher_order.md``.

`jacobian` gives the same matrix as ``torch.autograd.functional.jacobian``, but chooses
how to compute it from the shapes involved, because the best way depends on them:

* ``"loop"``: one backward pass per output element, through one recorded graph. Each
  pass is cheap, so for a handful of outputs nothing beats it.
* ``"reverse"``: all those backward passes at once, batched with `torch.func.vmap` (what
  ``torch.func.jacrev`` does). Best when there are fewer outputs than inputs.
* ``"forward"``: one forward-mode pass per *input* element, batched (what
  ``torch.func.jacfwd`` does). Best when there are fewer inputs than outputs.

`hessian` and `derivatives` differentiate a derivative again, which is what
``create_graph=True`` makes possible.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Literal

import torch
from torch.func import jvp, vjp, vmap

__all__ = ["derivatives", "hessian", "jacobian", "jacobian_strategy"]

Strategy = Literal["auto", "loop", "reverse", "forward"]

LOOP_MAX_OUTPUTS = 8
"""With at most this many outputs (per sample), ``strategy="auto"`` uses ``"loop"``: one
plain backward pass per output costs less than setting up a batched one."""

_STRATEGIES = ("auto", "loop", "reverse", "forward")

#: torch 2.13 builds its forward-mode decompositions with ``torch.jit.script`` the first
#: time forward mode runs in a process, and ``torch.jit.script`` warns that it is
#: deprecated. The warning is about torch's internals, not the caller's code.
_JIT_SCRIPT_DEPRECATED = r"`torch\.jit\.script` is (deprecated|not supported)"


def jacobian(
    f: Callable[[torch.Tensor], torch.Tensor],
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

    ``strategy="auto"`` evaluates ``f`` once to learn the number of outputs ``m`` (and
    to check that the output depends on ``x``), then uses ``"loop"`` on that same graph
    when ``m <= LOOP_MAX_OUTPUTS``, ``"reverse"`` when ``m`` is at most the number of
    inputs ``n``, and ``"forward"`` otherwise. ``"reverse"`` and ``"forward"`` run ``f``
    again under `torch.func`'s transforms, which not every function supports (an
    operation without a forward-mode formula, an ``autograd.Function`` without
    ``setup_context``); when they fail, ``"auto"`` goes on to ``"reverse"`` and then to
    ``"loop"``, which handles every function plain autograd does. The matrix is the
    same whichever way computes it.

    Args:
        f: The function to differentiate. It takes one tensor and returns one tensor.
            With ``strategy="reverse"`` or ``"forward"`` it must work under
            `torch.func.vjp` or `torch.func.jvp` and `torch.func.vmap`
            (``"loop"`` has no such limit).
        x: Where to differentiate: a floating-point tensor. It is not changed, and the
            result is not connected to any graph ``x`` belongs to.
        batched: If True, dimension 0 of ``x`` is a batch of independent samples: ``f``
            must map each sample on its own (row ``b`` of ``f(x)`` depends only on row
            ``b`` of ``x``, as in a model without batch normalisation). The result holds
            one Jacobian per sample, with shape ``(B, *out, *in)``, computed without
            the ``B * B`` blocks of zeros between samples.
        strategy: ``"auto"``, ``"loop"``, ``"reverse"`` or ``"forward"`` (see above).

    Returns:
        The Jacobian, with the dtype and device of ``f(x)``.

    Raises:
        TypeError: If ``f`` is not callable, ``x`` is not a tensor, or ``f`` does not
            return a tensor.
        ValueError: If ``x`` is not floating point or is empty, ``strategy`` is unknown,
            ``f``'s output does not depend on ``x``, or with ``batched=True``, ``x`` has
            no batch dimension or ``f(x)`` does not keep it.

    Examples:
        The Jacobian of $y_1 = x_1^2 + 3x_2$, $y_2 = x_2^2 + 2x_1$ at $(2, 3)$:

        >>> import torch
        >>> from tensorkit.autograd import jacobian
        >>> def f(x):
        ...     return torch.stack([x[0] ** 2 + 3 * x[1], x[1] ** 2 + 2 * x[0]])
        >>> jacobian(f, torch.tensor([2.0, 3.0]))
        tensor([[4., 3.],
                [2., 6.]])

        One Jacobian per sample of a batch:

        >>> x = torch.tensor([[2.0, 3.0], [1.0, 0.0]])
        >>> jacobian(lambda x: x ** 2, x, batched=True)
        tensor([[[4., 0.],
                 [0., 6.]],
        <BLANKLINE>
                [[2., 0.],
                 [0., 0.]]])
    """
    _check_function(f, "jacobian")
    _check_input(x, "jacobian")
    if strategy not in _STRATEGIES:
        raise ValueError(
            f"jacobian() argument 'strategy' must be one of {', '.join(map(repr, _STRATEGIES))}"
            f", got {strategy!r}"
        )
    if batched and x.dim() == 0:
        raise ValueError(
            "jacobian() with batched=True needs a batch dimension: argument 'x' must have "
            "at least one dimension, got a 0-dimensional tensor; pass batched=False"
        )
    leaf = x.detach().requires_grad_()
    if torch.is_grad_enabled():
        y = f(leaf)
    else:
        with torch.enable_grad():  # the caller may be inside torch.no_grad()
            y = f(leaf)
    _check_output(y, x, batched, "jacobian")
    start = 1 if batched else 0
    n = _numel(x.shape[start:])
    m = _numel(y.shape[start:])
    if strategy == "auto":
        return _auto(f, x, leaf, y, batched, jacobian_strategy(n, m))
    if strategy == "loop":
        return _loop(leaf, y, batched)
    if strategy == "reverse":
        return _reverse(f, x, y, batched)
    return _forward(f, x, y, batched)


def _auto(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    leaf: torch.Tensor,
    y: torch.Tensor,
    batched: bool,
    chosen: str,
) -> torch.Tensor:
    if chosen == "loop":
        return _loop(leaf, y, batched)
    ways = (_forward, _reverse) if chosen == "forward" else (_reverse,)
    for way in ways:
        try:
            return way(f, x, y, batched)
        except (RuntimeError, NotImplementedError):
            # torch.func runs f again under its transforms, which not every function
            # supports: an operation with no forward-mode formula, an autograd.Function
            # without setup_context, random numbers under vmap, or too little memory
            # for the batch. The next way is slower, and the loop over the graph
            # already recorded handles whatever autograd does.
            continue
    return _loop(leaf, y, batched)


def jacobian_strategy(inputs: int, outputs: int) -> Literal["loop", "reverse", "forward"]:
    """The strategy `jacobian` uses by default for ``inputs`` and ``outputs`` elements.

    ``"loop"`` for at most `LOOP_MAX_OUTPUTS` outputs, else ``"reverse"`` when there are
    no more outputs than inputs (one batched backward pass per output), else
    ``"forward"`` (one batched forward-mode pass per input). With ``batched=True`` the
    counts are per sample.

    Args:
        inputs: The number of elements of ``x``, at least 1.
        outputs: The number of elements of ``f(x)``, at least 1.

    Returns:
        ``"loop"``, ``"reverse"`` or ``"forward"``.

    Raises:
        TypeError: If a count is not an int.
        ValueError: If a count is less than 1.

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
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(
                f"jacobian_strategy() argument {name!r} must be an int, got "
                f"{type(count).__name__} ({count!r}); pass a number of elements, x.numel()"
            )
        if count < 1:
            raise ValueError(
                f"jacobian_strategy() argument {name!r} must be at least 1, got {count}"
            )
    if outputs <= LOOP_MAX_OUTPUTS:
        return "loop"
    return "reverse" if outputs <= inputs else "forward"


def _numel(shape: torch.Size) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _basis(
    size: int, like: torch.Tensor, sample_shape: torch.Size, batch: int | None
) -> torch.Tensor:
    """``size`` one-hot tensors of shape ``sample_shape``, stacked; with a batch, each is
    repeated for every sample (a view, not a copy)."""
    eye = torch.eye(size, dtype=like.dtype, device=like.device).reshape(size, *sample_shape)
    if batch is None:
        return eye
    return eye.unsqueeze(1).expand(size, batch, *sample_shape)


def _loop(leaf: torch.Tensor, y: torch.Tensor, batched: bool) -> torch.Tensor:
    sample_shape = y.shape[1:] if batched else y.shape
    directions = _one_hots(tuple(sample_shape), y.dtype, y.device)
    last = len(directions) - 1
    rows = []
    for index, direction in enumerate(directions):
        if batched:
            direction = direction.expand(y.shape)  # the same output of every sample
        # Keep the graph for the next row; the last row may free it.
        (row,) = torch.autograd.grad(y, leaf, direction, retain_graph=index < last)
        rows.append(row)
    return _assemble_rows(torch.stack(rows), y, leaf, batched)


def _one_hots(
    shape: tuple[int, ...], dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, ...]:
    """One tensor of ``shape`` per element, with a 1 at that element and 0 elsewhere."""
    size = _numel(torch.Size(shape))
    if size <= LOOP_MAX_OUTPUTS:
        return _small_one_hots(shape, dtype, device)
    return torch.eye(size, dtype=dtype, device=device).reshape(size, *shape).unbind()


@functools.lru_cache(maxsize=64)
def _small_one_hots(
    shape: tuple[int, ...], dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, ...]:
    # Kept between calls: for a handful of outputs, making these tensors would cost a
    # noticeable part of the whole Jacobian. They are only read (as grad_outputs), and
    # every result is a copy made by torch.stack, so nothing outside sees them.
    size = _numel(torch.Size(shape))
    return torch.eye(size, dtype=dtype, device=device).reshape(size, *shape).unbind()


def _reverse(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor, batched: bool
) -> torch.Tensor:
    batch = y.shape[0] if batched else None
    sample_shape = y.shape[1:] if batched else y.shape
    output, pullback = vjp(f, x.detach())[:2]
    basis = _basis(_numel(sample_shape), output, sample_shape, batch)
    (rows,) = vmap(pullback)(basis)
    return _assemble_rows(rows, y, x, batched)


def _forward(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor, batched: bool
) -> torch.Tensor:
    batch = x.shape[0] if batched else None
    sample_shape = x.shape[1:] if batched else x.shape
    basis = _basis(_numel(sample_shape), x, sample_shape, batch)
    primal = x.detach()

    def push(tangent: torch.Tensor) -> torch.Tensor:
        column: torch.Tensor = jvp(f, (primal,), (tangent,))[1]
        return column

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _JIT_SCRIPT_DEPRECATED, DeprecationWarning)
        columns = vmap(push)(basis)
    return _assemble_columns(columns, y, x, batched)


def _assemble_rows(
    rows: torch.Tensor, y: torch.Tensor, x: torch.Tensor, batched: bool
) -> torch.Tensor:
    # rows: (m, *x.shape), row i holding d y_i / d x (for every sample when batched).
    if not batched:
        return rows if y.dim() == 1 else rows.reshape(*y.shape, *x.shape)
    return rows.movedim(1, 0).reshape(*y.shape, *x.shape[1:])


def _assemble_columns(
    columns: torch.Tensor, y: torch.Tensor, x: torch.Tensor, batched: bool
) -> torch.Tensor:
    # columns: (n, *y.shape), column j holding d y / d x_j (for every sample when batched).
    if not batched:
        return columns.movedim(0, -1).reshape(*y.shape, *x.shape)
    return columns.movedim(0, -1).reshape(*y.shape, *x.shape[1:])


def hessian(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The Hessian of a scalar function ``f`` at ``x``: the Jacobian of its gradient.

    The gradient is computed with ``create_graph=True``, so that it is itself part of a
    graph and can be differentiated again, one row at a time.

    Args:
        f: A function of one tensor that returns a tensor with one element.
        x: Where to differentiate: a floating-point tensor. It is not changed.

    Returns:
        The second derivatives, with shape ``x.shape + x.shape``; entry ``[i, j]`` is
        the derivative of ``f`` with respect to ``x[i]`` and then ``x[j]``.

    Raises:
        TypeError: If ``f`` is not callable, ``x`` is not a tensor, or ``f`` does not
            return a tensor.
        ValueError: If ``x`` is not floating point or is empty, ``f(x)`` has more than
            one element, or ``f``'s output does not depend on ``x``.

    Examples:
        For $f(x) = x_1^2 x_2 + x_2^3$, the Hessian is
        $\\begin{pmatrix} 2x_2 & 2x_1 \\\\ 2x_1 & 6x_2 \\end{pmatrix}$:

        >>> import torch
        >>> from tensorkit.autograd import hessian
        >>> hessian(lambda x: x[0] ** 2 * x[1] + x[1] ** 3, torch.tensor([1.0, 2.0]))
        tensor([[ 4.,  2.],
                [ 2., 12.]])
    """
    _check_function(f, "hessian")
    _check_input(x, "hessian")
    leaf = x.detach().requires_grad_()
    with torch.enable_grad():
        y = f(leaf)
        _check_output(y, x, False, "hessian")
        if y.numel() != 1:
            raise ValueError(
                f"hessian() needs f to return one number, got a tensor of shape "
                f"{tuple(y.shape)}; reduce it first (e.g. lambda x: f(x).sum()) or use "
                "jacobian() for the first derivatives of every element"
            )
        (gradient,) = torch.autograd.grad(y, leaf, create_graph=True)
        if not gradient.requires_grad:
            # The gradient is a constant (f is linear in x): every second derivative is 0.
            return torch.zeros(*x.shape, *x.shape, dtype=y.dtype, device=y.device)
        return _loop(leaf, gradient, batched=False)


def derivatives(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, order: int
) -> tuple[torch.Tensor, ...]:
    """The first ``order`` derivatives of an elementwise function ``f`` at ``x``.

    Each derivative is taken of the one before with ``create_graph=True``. Once a
    derivative has no graph left (PyTorch records none for a result that cannot depend
    on ``x``, such as the third derivative of $x^2$), every later one is zero, where
    ``torch.autograd.grad`` would raise an error instead.

    Args:
        f: A function applied elementwise: ``f(x)[i]`` depends on ``x[i]`` only, and
            ``f(x)`` has the shape of ``x`` (``torch.sin``, ``lambda x: x ** 3``).
        x: Where to differentiate: a floating-point tensor. It is not changed.
        order: How many derivatives to take, at least 1.

    Returns:
        ``order`` tensors shaped like ``x``: $f'(x)$, $f''(x)$, and so on.

    Raises:
        TypeError: If ``f`` is not callable, ``x`` is not a tensor, ``order`` is not an
            int, or ``f`` does not return a tensor.
        ValueError: If ``x`` is not floating point or is empty, ``order`` is less than
            1, ``f(x)`` does not have the shape of ``x``, or it does not depend on
            ``x``.

    Examples:
        $y = x^2$ at $x = 3$: $y' = 2x = 6$, $y'' = 2$, and $y''' = 0$:

        >>> import torch
        >>> from tensorkit.autograd import derivatives
        >>> derivatives(lambda x: x ** 2, torch.tensor(3.0), order=3)
        (tensor(6.), tensor(2.), tensor(0.))
    """
    _check_function(f, "derivatives")
    _check_input(x, "derivatives")
    if isinstance(order, bool) or not isinstance(order, int):
        raise TypeError(
            f"derivatives() argument 'order' must be an int, got {type(order).__name__} "
            f"({order!r}); e.g. order=2 for the first and second derivatives"
        )
    if order < 1:
        raise ValueError(f"derivatives() argument 'order' must be at least 1, got {order}")
    leaf = x.detach().requires_grad_()
    found: list[torch.Tensor] = []
    with torch.enable_grad():
        current = f(leaf)
        _check_output(current, x, False, "derivatives")
        if current.shape != x.shape:
            raise ValueError(
                f"derivatives() needs f to apply elementwise, returning the shape of x "
                f"{tuple(x.shape)}, got shape {tuple(current.shape)}; use jacobian() "
                "for functions that mix elements"
            )
        for _ in range(order):
            if not current.requires_grad:
                found.append(torch.zeros_like(current))
                current = found[-1]
                continue
            # Summing is exact here: element i of the sum's gradient is f'(x[i]),
            # because f is elementwise.
            (current,) = torch.autograd.grad(
                current.sum(), leaf, create_graph=True, materialize_grads=True
            )
            found.append(current.detach())
    return tuple(found)


def _check_function(f: object, caller: str) -> None:
    if not callable(f):
        raise TypeError(
            f"{caller}() argument 'f' must be a function of one tensor, got "
            f"{type(f).__name__} ({f!r}); e.g. lambda x: x ** 2"
        )


def _check_input(x: object, caller: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{caller}() argument 'x' must be a torch.Tensor, got {type(x).__name__} "
            f"({x!r}); e.g. torch.tensor([2.0, 3.0])"
        )
    if not x.is_floating_point():
        raise ValueError(
            f"{caller}() argument 'x' must have a floating-point dtype, got {x.dtype}: "
            "only floating-point tensors have gradients; convert it with x.float()"
        )
    if x.numel() == 0:
        raise ValueError(
            f"{caller}() argument 'x' must have at least one element, got shape {tuple(x.shape)}"
        )


def _check_output(y: object, x: torch.Tensor, batched: bool, caller: str) -> None:
    if not isinstance(y, torch.Tensor):
        raise TypeError(
            f"{caller}() argument 'f' must return a torch.Tensor, got {type(y).__name__}; "
            "return one tensor (torch.stack several results into one)"
        )
    if not y.requires_grad:
        raise ValueError(
            f"{caller}() argument 'f' returned a tensor that does not depend on its input "
            "(requires_grad=False): autograd recorded no path from x to the output. Check "
            "that f computes its result from its argument, without .detach(), "
            "torch.no_grad() or integer operations; a constant f has a Jacobian of zeros"
        )
    if batched and (y.dim() == 0 or y.shape[0] != x.shape[0]):
        raise ValueError(
            f"{caller}() with batched=True needs f to keep the batch dimension: x has "
            f"{x.shape[0]} samples, f(x) has shape {tuple(y.shape)}; return one row per "
            "sample, or pass batched=False"
        )
