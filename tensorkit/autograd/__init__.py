"""Inspect and use PyTorch's autograd (pages: ``docs/autograd/``)."""

from tensorkit.autograd.basics import GradInfo, GradTable, grad_table

__all__ = ["GradInfo", "GradTable", "grad_table"]
