"""The model and the optimizer as ``train`` found them, to put back if it raises."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


def updated_tensors(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The tensors ``optimizer.step()`` changes."""
    return [p for group in optimizer.param_groups for p in group["params"]]


class Snapshot:
    """The model and the optimizer as ``train`` found them, to put back if it raises.

    Copies of the model's parameters and buffers (its ``state_dict``), of the optimizer's
    state, and of any tensor the optimizer updates outside the model; the training mode
    of each module; and the gradients, which ``optimizer.zero_grad()`` replaces rather
    than changes for the optimizer's tensors (so a reference keeps them), while the
    model's other parameters accumulate into theirs in place (so those are copied).
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.model, self.optimizer = model, optimizer
        self.state = {name: t.clone() for name, t in model.state_dict().items()}
        self.optimizer_state: dict[str, Any] = copy.deepcopy(optimizer.state_dict())
        self.modes = [(module, module.training) for module in model.modules()]
        updated = updated_tensors(optimizer)
        owned = {id(p) for p in model.parameters()}
        self.outside = [(p, p.detach().clone()) for p in updated if id(p) not in owned]
        zeroed = {id(p) for p in updated}
        self.grads = [(p, p.grad) for p in updated] + [
            (p, None if p.grad is None else p.grad.clone())
            for p in model.parameters()
            if id(p) not in zeroed
        ]

    def restore(self) -> None:
        with torch.no_grad():
            self.model.load_state_dict(self.state)
            for tensor, saved in self.outside:
                tensor.copy_(saved)
        self.optimizer.load_state_dict(self.optimizer_state)
        for module, mode in self.modes:
            module.training = mode
        for parameter, grad in self.grads:
            parameter.grad = grad
