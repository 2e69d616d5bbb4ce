"""What autograd records about each tensor: the table used on ``docs/autograd/basics.md``.

When a gradient is not where a learner expects it, the answer is in four attributes of
each tensor: ``requires_grad``, ``is_leaf``, ``grad_fn`` and ``grad``. `grad_table`
shows them side by side for tensors the caller names.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tensorkit._checks import check_named_tensors
from tensorkit._table import format_table

#: Gradients with more elements than this are summarised by their shape in the table.
MAX_SHOWN_ELEMENTS = 8

_COLUMNS = ("name", "requires_grad", "is_leaf", "grad_fn", "grad")


@dataclass(frozen=True)
class GradInfo:
    """Autograd's view of one named tensor.

    Attributes:
        name: The name the caller gave the tensor.
        requires_grad: Whether autograd records operations on the tensor.
        is_leaf: Whether the tensor is a leaf of the graph (made by the user, not by an
            operation on tensors that require grad).
        grad_fn: The name of the backward node that made the tensor, such as
            ``"MulBackward0"``, or ``None`` for a leaf.
        grad: The gradient as torch prints it, ``"None"`` if there is none yet, or
            ``"None (non-leaf)"`` for a non-leaf whose gradient autograd does not keep.
    """

    name: str
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    grad: str

    @classmethod
    def of(cls, name: str, tensor: torch.Tensor) -> GradInfo:
        """Read the autograd attributes of ``tensor`` without changing or warning about it.

        Args:
            name: The name to show for the tensor.
            tensor: The tensor to inspect.

        Returns:
            The tensor's autograd attributes.
        """
        node = tensor.grad_fn
        return cls(
            name=name,
            requires_grad=tensor.requires_grad,
            is_leaf=tensor.is_leaf,
            grad_fn=None if node is None else node.name(),
            grad=_describe_grad(tensor),
        )


def _describe_grad(tensor: torch.Tensor) -> str:
    if not (tensor.is_leaf or tensor.retains_grad):
        # Reading .grad here would only give None and a UserWarning.
        return "None (non-leaf)"
    grad = tensor.grad
    if grad is None:
        return "None"
    if grad.numel() > MAX_SHOWN_ELEMENTS:
        return f"<shape {tuple(grad.shape)}>"
    # One line per row of the table, whatever the gradient's shape.
    return " ".join(repr(grad).split())


class GradTable(tuple[GradInfo, ...]):
    """The rows [`grad_table`][tensorkit.autograd.grad_table] returns.

    Printing it, or its repr in a session, shows the rows as an aligned table.
    """

    def __str__(self) -> str:
        cells = [list(_COLUMNS)] + [
            [row.name, str(row.requires_grad), str(row.is_leaf), str(row.grad_fn), row.grad]
            for row in self
        ]
        return format_table(cells[0], cells[1:])

    def __repr__(self) -> str:
        return str(self)


def grad_table(**tensors: torch.Tensor) -> GradTable:
    """Report ``requires_grad``, ``is_leaf``, ``grad_fn`` and ``grad`` for named tensors.

    Reading the table never changes a tensor and never triggers the warning PyTorch gives
    when the ``.grad`` of a non-leaf tensor is read.

    Args:
        **tensors: The tensors to report, each under the name to show for it.

    Returns:
        One row per tensor, in the order given; it prints as an aligned table.

    Raises:
        ValueError: If no tensor is given.
        TypeError: If a value is not a ``torch.Tensor``.

    Examples:
        >>> import torch
        >>> from tensorkit.autograd import grad_table
        >>> w = torch.tensor(1.0, requires_grad=True)
        >>> x = torch.tensor(2.0)
        >>> y = (w + x) * (w + 1)
        >>> y.backward()
        >>> grad_table(w=w, x=x, y=y)
        name  requires_grad  is_leaf  grad_fn       grad
        w     True           True     None          tensor(5.)
        x     False          True     None          None
        y     True           False    MulBackward0  None (non-leaf)
    """
    check_named_tensors(tensors, "grad_table")
    return GradTable(GradInfo.of(name, tensor) for name, tensor in tensors.items())
