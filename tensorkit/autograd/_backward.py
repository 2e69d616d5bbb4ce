"""One backward pass, ``direction`` times the Jacobian, for directions built here.

``torch.autograd.grad`` first normalises and checks its arguments in Python: it wraps
them in tuples, looks for ``__torch_function__`` overrides and checks each
``grad_outputs`` entry's shape against its output through the symbolic-shape helpers.
On a small graph that is most of the cost: for a 2 x 2 Jacobian, two backward passes,
it takes about 40 % of the time. The directions `jacobian` and `hessian` feed in are
rows of an identity they built from the output's own shape, dtype and device, so those
checks cannot fail; :func:`backward_pass` hands them straight to the function
``torch.autograd.grad`` ends in, ``torch.autograd.graph._engine_run_backward``, which
keeps the rest (debug-logging hooks, the context compiled autograd needs).

That function is private to PyTorch. Where it is missing, or a tensor is a subclass
that ``__torch_function__`` could reroute, :func:`backward_pass` calls
``torch.autograd.grad`` as usual: the same numbers, only slower.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

#: The engine's entry, or None where this torch has none to call: `backward_pass` then
#: goes through ``torch.autograd.grad``. A module attribute, so a test can remove it.
ENGINE: Callable[..., tuple[torch.Tensor | None, ...]] | None = getattr(
    torch.autograd.graph, "_engine_run_backward", None
)


def backward_pass(
    output: torch.Tensor,
    leaf: torch.Tensor,
    direction: torch.Tensor,
    *,
    keep: bool = True,
    create_graph: bool = False,
    allow_unused: bool = True,
) -> torch.Tensor | None:
    """``direction`` times the Jacobian of ``output`` with respect to ``leaf``.

    Args:
        output: What was computed from ``leaf``.
        leaf: The tensor to differentiate with respect to.
        direction: A tensor of ``output``'s shape, dtype and device (or one batched by
            ``torch.func.vmap`` over it).
        keep: Keep the graph for another pass; if False, the pass frees it.
        create_graph: Record the pass itself, so that it can be differentiated.
        allow_unused: Return None, rather than raise, if ``output`` does not reach
            ``leaf`` through the graph.

    Returns:
        The product, shaped like ``leaf``, or None (with ``allow_unused``) if
        ``output`` does not reach ``leaf``.
    """
    if ENGINE is None or type(output) is not torch.Tensor or type(leaf) is not torch.Tensor:
        (product,) = torch.autograd.grad(
            output,
            leaf,
            direction,
            retain_graph=keep,
            create_graph=create_graph,
            allow_unused=allow_unused,
        )
        return product
    # The arguments: outputs, grad_outputs, keep_graph, create_graph, inputs,
    # allow_unreachable, accumulate_grad (False: return the product, write no .grad).
    (found,) = ENGINE((output,), (direction,), keep, create_graph, (leaf,), allow_unused, False)
    return found
