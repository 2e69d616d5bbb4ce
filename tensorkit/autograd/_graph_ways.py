"""Reading a derivative matrix off the graph of one run of ``f``, in three ways.

`jacobian` and `hessian` run ``f`` once (:func:`record`) and then read the matrix off
that graph (:func:`differentiate`): ``"loop"``, one backward pass per output element;
``"reverse"``, the same passes batched with `torch.func.vmap`, each giving a row; and
``"forward"``, the columns, batched the same way, by differentiating the backward pass
itself (the "double-backward trick" of ``torch.autograd.functional.jvp``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch.autograd.function import BackwardCFunction
from torch.func import vmap

from tensorkit.autograd._backward import backward_pass
from tensorkit.autograd._probes import Probe, nodes, write_sample_probe

Function = Callable[[torch.Tensor], torch.Tensor]

#: What ``strategy="auto"`` tries after a batched way fails, slowest and surest last.
FALLBACKS = {
    "loop": ("loop",),
    "reverse": ("reverse", "loop"),
    "forward": ("forward", "reverse", "loop"),
}


class Differentiated(NamedTuple):
    """What :func:`differentiate` found: the matrix, the probe, and how it got them."""

    matrix: torch.Tensor
    probe: Probe | None
    way: str
    #: One line for each way that failed before ``way`` worked.
    failures: tuple[str, ...]


@dataclass(frozen=True)
class Recorded:
    """``f`` run once on ``leaf``, a copy of ``x``: the graph every strategy reads.

    With a batch, the shapes and counts are those of one sample.
    """

    leaf: torch.Tensor
    output: torch.Tensor
    batch: int | None
    in_shape: torch.Size
    out_shape: torch.Size
    inputs: int
    outputs: int

    @classmethod
    def of(cls, leaf: torch.Tensor, output: torch.Tensor, batched: bool) -> Recorded:
        start = 1 if batched else 0
        in_shape, out_shape = leaf.shape[start:], output.shape[start:]
        batch = leaf.shape[0] if batched else None
        return cls(leaf, output, batch, in_shape, out_shape, in_shape.numel(), out_shape.numel())

    @property
    def batched(self) -> bool:
        return self.batch is not None


def record(f: Function, x: torch.Tensor, function: str, *, batched: bool) -> Recorded:
    """Run ``f`` once, recording its graph, on a copy of ``x`` that requires grad."""
    if torch.is_inference_mode_enabled():
        raise ValueError(
            f"{function}() cannot run inside torch.inference_mode(): inference mode records "
            "no graph at all, so there is nothing to differentiate; call it outside the "
            f"`with torch.inference_mode():` block (inside torch.no_grad() {function}() "
            "works: it turns recording back on for f)"
        )
    # A copy, not x.detach(): that would share x's memory, and an f that writes through
    # its argument's .data would change the caller's x.
    leaf = x.detach().clone().requires_grad_()
    if torch.is_grad_enabled():
        output = f(leaf)
    else:
        with torch.enable_grad():  # the caller is inside torch.no_grad()
            output = f(leaf)
    require_output(output, x, batched, function)
    return Recorded.of(leaf, output, batched)


def differentiate(
    recorded: Recorded, chosen: str, *, fall_back: bool, probe: bool
) -> Differentiated:
    """The matrix by the ``chosen`` way, or with ``fall_back`` by the next that works.

    An error the last way meets is raised as it is: the loop needs no vmap, so an error
    it meets too is ``f``'s own (or its backward's). Running out of memory is never
    retried: the next way is slower, not smaller.
    """
    ways = FALLBACKS[chosen] if fall_back else (chosen,)
    failures: list[str] = []
    for way in ways:
        try:
            result = _WAYS[way](recorded, probe)
        except (RuntimeError, NotImplementedError) as error:
            if way == ways[-1] or _out_of_memory(error):
                raise
            failures.append(f"'{way}' failed with {type(error).__name__}: {_first_line(error)}")
            continue
        return Differentiated(*result, way, tuple(failures))
    raise AssertionError("unreachable: the last way raises or returns")  # pragma: no cover


def _by_loop(recorded: Recorded, probe: bool) -> tuple[torch.Tensor, Probe | None]:
    directions = _rows_of_identity(recorded, probe=probe).unbind()
    last = len(directions) - 1
    # The last pass may free the graph: nothing reads it afterwards.
    pulled = [
        _pull_one(recorded, direction, keep=index < last)
        for index, direction in enumerate(directions)
    ]
    rows = torch.stack(pulled[: recorded.outputs])
    check = Probe(directions[-1], pulled[-1], rows) if probe else None
    return _from_rows(rows, recorded), check


def _by_reverse(recorded: Recorded, probe: bool) -> tuple[torch.Tensor, Probe | None]:
    directions = _rows_of_identity(recorded, probe=probe)
    pulled = vmap(lambda direction: _pull(recorded, direction))(directions)
    if not probe:
        return _from_rows(pulled, recorded), None
    rows = pulled[: recorded.outputs]
    return _from_rows(rows, recorded), Probe(directions[-1], pulled[-1], rows)


def _by_forward(recorded: Recorded, probe: bool) -> tuple[torch.Tensor, Probe | None]:
    tangents = identity(
        recorded.inputs, recorded.in_shape, recorded.leaf, recorded.batch, probe=probe
    )
    # The backward pass v -> vJ, recorded with v as a variable: a linear map, so a
    # backward pass through it, fed u, gives Ju. Where v is recorded makes no
    # difference; zero is what torch.autograd.functional.jvp uses too.
    cotangent = torch.zeros_like(recorded.output, requires_grad=True)
    pulled = _pull_recorded(recorded, cotangent)
    if pulled is not None and pulled.requires_grad:

        def push(tangent: torch.Tensor) -> torch.Tensor:
            # A backward formula is linear in its gradient: a result that requires grad
            # depends on the cotangent, so autograd finds it (and says so if not).
            column = backward_pass(pulled, cotangent, tangent, allow_unused=False)
            assert column is not None  # allow_unused=False: the engine raises instead
            return column

        pushed = vmap(push)(tangents)
    else:  # the backward pass ignores v: vJ is 0 for every v, so J is 0
        pushed = recorded.output.new_zeros(tangents.shape[:1] + recorded.output.shape)
    if not probe:
        return _from_columns(pushed, recorded), None
    columns = pushed[: recorded.inputs]
    return _from_columns(columns, recorded), Probe(tangents[-1], pushed[-1], columns)


def _pull_recorded(recorded: Recorded, cotangent: torch.Tensor) -> torch.Tensor | None:
    """The backward pass for ``cotangent``, recorded as a graph of its own."""
    if torch.is_grad_enabled():
        (pulled,) = torch.autograd.grad(
            recorded.output, recorded.leaf, cotangent, create_graph=True, allow_unused=True
        )
    else:
        with torch.enable_grad():  # the caller is inside torch.no_grad()
            (pulled,) = torch.autograd.grad(
                recorded.output, recorded.leaf, cotangent, create_graph=True, allow_unused=True
            )
    return pulled


def custom_function(recorded: Recorded) -> str | None:
    """The name of a custom ``autograd.Function`` in ``f``'s graph, if it holds one.

    The forward way differentiates the backward pass. PyTorch's own operations either
    can be differentiated twice or say they cannot; a custom ``backward`` may leave
    autograd (through NumPy, say), and differentiating it would then drop its terms
    without a word.
    """
    return next(
        (
            type(node).__name__
            for node in nodes(recorded.output)
            if isinstance(node, BackwardCFunction)
        ),
        None,
    )


_WAYS: dict[str, Callable[[Recorded, bool], tuple[torch.Tensor, Probe | None]]] = {
    "loop": _by_loop,
    "reverse": _by_reverse,
    "forward": _by_forward,
}


def _pull(recorded: Recorded, direction: torch.Tensor) -> torch.Tensor:
    """The vector-Jacobian product ``direction`` times J: one backward pass."""
    return _pull_one(recorded, direction, keep=True)


def _pull_one(recorded: Recorded, direction: torch.Tensor, *, keep: bool) -> torch.Tensor:
    """`_pull`, which may free the graph: unless ``keep``, the pass frees it."""
    row = backward_pass(recorded.output, recorded.leaf, direction, keep=keep)
    # An output that reaches x through no operation at all (it requires grad through
    # another tensor f closes over) has zero derivatives.
    return torch.zeros_like(recorded.leaf) if row is None else row


def identity(
    size: int, shape: torch.Size, like: torch.Tensor, batch: int | None, *, probe: bool = False
) -> torch.Tensor:
    """The ``size`` one-hot tensors of ``shape``, stacked: the rows of the identity matrix.

    With a batch, each is repeated for every sample (a view, not a copy). With
    ``probe``, a last direction follows, spanning the whole batch
    (`write_sample_probe`).
    """
    if probe and batch is not None:
        # Written into one new tensor: cheaper than a view of the identity and a cat.
        directions = like.new_zeros((size + 1, batch, size))
        directions[:size].diagonal(dim1=0, dim2=2).fill_(1)
        write_sample_probe(directions[size])
        return directions.reshape((size + 1, batch, *shape))
    eye = torch.eye(size, dtype=like.dtype, device=like.device)
    if len(shape) != 1:  # a vector's one-hots are the rows of the identity as they are
        eye = eye.reshape((size, *shape))
    if batch is None:
        return eye
    return eye.unsqueeze(1).expand(size, batch, *shape)


def _rows_of_identity(recorded: Recorded, *, probe: bool = False) -> torch.Tensor:
    """One direction per output element (per sample): they pick the rows of J."""
    return identity(
        recorded.outputs, recorded.out_shape, recorded.output, recorded.batch, probe=probe
    )


def _from_rows(rows: torch.Tensor, recorded: Recorded) -> torch.Tensor:
    # rows: (m, *x.shape), row i holding d y_i / d x (for every sample when batched).
    if recorded.batched:
        rows = rows.movedim(1, 0)
    elif recorded.output.dim() == 1 and recorded.leaf.dim() == 1:
        return rows  # already (m, n)
    # A view where one will do, as torch.func's transforms return: copying the whole
    # matrix into another layout would cost more than some of the ways that make it.
    return rows.reshape(recorded.output.shape + recorded.in_shape)


def _from_columns(columns: torch.Tensor, recorded: Recorded) -> torch.Tensor:
    # columns: (n, *y.shape), column j holding d y / d x_j (for every sample when batched).
    return columns.movedim(0, -1).reshape(recorded.output.shape + recorded.in_shape)


def _out_of_memory(error: BaseException) -> bool:
    message = str(error).lower()
    return isinstance(error, torch.OutOfMemoryError) or any(
        words in message for words in ("out of memory", "can't allocate memory")
    )


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else "(no message)"


def require_output(y: object, x: torch.Tensor, batched: bool, function: str) -> None:
    if not isinstance(y, torch.Tensor):
        raise TypeError(
            f"{function}() argument 'f' must return a torch.Tensor, got {type(y).__name__}; "
            "return one tensor (torch.stack several results into one)"
        )
    if not y.requires_grad:
        raise ValueError(
            f"{function}() argument 'f' returned a tensor that does not depend on its input "
            "(requires_grad=False): autograd recorded no path from x to the output. Check "
            "that f computes its result from its argument, without .detach(), "
            "torch.no_grad() or integer operations; a constant f has a Jacobian of zeros"
        )
    if batched and (y.dim() == 0 or y.shape[0] != x.shape[0]):
        raise ValueError(
            f"{function}() with batched=True needs f to keep the batch dimension: x has "
            f"{x.shape[0]} samples, f(x) has shape {tuple(y.shape)}; return one row per "
            "sample, or pass batched=False"
        )
