"""Inspect and use PyTorch's autograd (pages: ``docs/autograd/``)."""

from tensorkit.autograd.basics import GradInfo, GradTable, grad_table
from tensorkit.autograd.graph import ComputationGraph, GraphNode, draw_graph, trace_graph
from tensorkit.autograd.jacobian import (
    JacobianFallbackWarning,
    derivatives,
    hessian,
    jacobian,
    jacobian_strategy,
)

__all__ = [
    "ComputationGraph",
    "GradInfo",
    "GradTable",
    "GraphNode",
    "JacobianFallbackWarning",
    "derivatives",
    "draw_graph",
    "grad_table",
    "hessian",
    "jacobian",
    "jacobian_strategy",
    "trace_graph",
]
