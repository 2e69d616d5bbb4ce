"""What autograd records about each tensor: the table used on ``docs/autograd/basics.md``.

When a gradient is not where a learner expects it, the answer is in four attributes of
each tensor: ``requires_grad``, ``is_leaf``, ``grad_fn`` and ``grad``. `grad_table`
shows them side by side for tensors the caller names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from tensorkit._checks import check_bool, check_named_tensors, check_tensor, describe_value
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

    Raises:
        TypeError: If a field has another type than the one above.
    """

    name: str
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    grad: str

    def __post_init__(self) -> None:
        _require_str("name", self.name, "GradInfo")
        check_bool("requires_grad", self.requires_grad, "GradInfo")
        check_bool("is_leaf", self.is_leaf, "GradInfo")
        if self.grad_fn is not None:
            _require_str("grad_fn", self.grad_fn, "GradInfo", hint=" or None (for a leaf)")
        _require_str("grad", self.grad, "GradInfo")

    @classmethod
    def of(cls, name: str, tensor: torch.Tensor) -> GradInfo:
        """Read the autograd attributes of ``tensor`` without changing or warning about it.

        Args:
            name: The name to show for the tensor.
            tensor: The tensor to inspect.

        Returns:
            The tensor's autograd attributes.

        Raises:
            TypeError: If ``name`` is not a str or ``tensor`` is not a tensor.
        """
        _require_str("name", name, "GradInfo.of")
        check_tensor("tensor", tensor, "GradInfo.of", example="torch.ones(2, requires_grad=True)")
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


def _require_str(name: str, value: object, function: str, *, hint: str = "") -> None:
    if not isinstance(value, str):
        raise TypeError(
            f"{function}() argument {name!r} must be a str{hint}, got {describe_value(value)}"
        )


class GradTable(tuple[GradInfo, ...]):
    """The rows [`grad_table`][tensorkit.autograd.grad_table] returns.

    Printing it, or its repr in a session, shows the rows as an aligned table.
    ``GradTable(rows)`` makes one from an iterable of
    [`GradInfo`][tensorkit.autograd.GradInfo] rows, and raises a ``TypeError`` if
    ``rows`` is not iterable or holds anything else.
    """

    def __new__(cls, rows: Iterable[GradInfo] = ()) -> GradTable:
        if not isinstance(rows, Iterable):
            raise TypeError(
                f"GradTable() argument 'rows' must be an iterable of GradInfo rows, got "
                f"{describe_value(rows)}; make a table with grad_table(name=tensor, ...)"
            )
        items = tuple(rows)
        for position, row in enumerate(items):
            if not isinstance(row, GradInfo):
                raise TypeError(
                    f"GradTable() argument 'rows' must hold GradInfo rows, got "
                    f"{describe_value(row)} at position {position}; make a row with "
                    "GradInfo.of(name, tensor), or the table with grad_table(name=tensor, ...)"
                )
        return super().__new__(cls, items)

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
