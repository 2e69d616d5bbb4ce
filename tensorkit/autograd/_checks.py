"""Input checks shared by the autograd helpers that take tensors by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch


def check_named_tensors(tensors: Mapping[str, Any], caller: str) -> None:
    """Require at least one tensor, each passed by name as a ``torch.Tensor``.

    Raises:
        ValueError: If ``tensors`` is empty.
        TypeError: If a value is not a tensor; the message names the argument.
    """
    if not tensors:
        raise ValueError(
            f"{caller}() needs at least one tensor, passed by name: {caller}(w=w, x=x)"
        )
    for name, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{caller}() argument {name!r} must be a torch.Tensor, got "
                f"{type(value).__name__} ({value!r}); pass the tensor itself, e.g. "
                f"{caller}({name}=torch.tensor(...))"
            )
