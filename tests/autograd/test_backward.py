"""tensorkit.autograd._backward: one backward pass, straight to the engine where it can."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from tensorkit.autograd import _backward, hessian, jacobian
from tensorkit.autograd._backward import backward_pass

Engine = Callable[..., tuple[torch.Tensor | None, ...]]


class Spy:
    """Counts the calls to the engine's entry and passes them on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls = 0

    def __call__(self, *args: Any) -> tuple[torch.Tensor | None, ...]:
        self.calls += 1
        return self.engine(*args)


class Marked(torch.Tensor):
    """A tensor subclass: ``__torch_function__`` could reroute anything done to it."""


def graph(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(3, 4, generator=generator, dtype=torch.float64)
    leaf = torch.randn(4, generator=generator, dtype=torch.float64).requires_grad_()
    return leaf, a @ torch.tanh(leaf), a


def test_this_torch_has_the_engine_entry() -> None:
    # Without it every pass takes the slower public way: still right, but the small
    # Jacobians lose the speed benchmarks/jacobian.py measures.
    assert _backward.ENGINE is not None


@pytest.mark.parametrize("keep", [True, False])
def test_the_engine_gives_what_torch_autograd_grad_gives(keep: bool) -> None:
    leaf, output, _ = graph()
    direction = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    (want,) = torch.autograd.grad(output, leaf, direction, retain_graph=True)
    got = backward_pass(output, leaf, direction, keep=keep)
    assert got is not None
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_keep_false_frees_the_graph() -> None:
    leaf, output, _ = graph()
    direction = torch.ones(3, dtype=torch.float64)
    backward_pass(output, leaf, direction, keep=False)
    with pytest.raises(RuntimeError, match="second time"):
        backward_pass(output, leaf, direction)


def test_create_graph_records_the_pass() -> None:
    leaf, output, _ = graph()
    product = backward_pass(output, leaf, torch.ones(3, dtype=torch.float64), create_graph=True)
    assert product is not None and product.requires_grad


def test_an_unused_leaf_gives_none_or_the_engines_error() -> None:
    leaf, _, _ = graph()
    other = torch.ones(2, dtype=torch.float64, requires_grad=True)
    output = other * 2
    assert backward_pass(output, leaf, torch.ones(2, dtype=torch.float64)) is None
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        backward_pass(output, leaf, torch.ones(2, dtype=torch.float64), allow_unused=False)


def test_the_leaf_keeps_no_grad() -> None:
    # accumulate_grad=False: the pass returns the product and writes no .grad anywhere.
    leaf, output, _ = graph()
    backward_pass(output, leaf, torch.ones(3, dtype=torch.float64))
    assert leaf.grad is None


def test_plain_tensors_go_to_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _backward.ENGINE is not None
    spy = Spy(_backward.ENGINE)
    monkeypatch.setattr(_backward, "ENGINE", spy)
    jacobian(lambda x: x**2, torch.tensor([1.0, 2.0]))  # the loop: two passes
    assert spy.calls == 2


def test_a_subclass_goes_through_torch_autograd_grad(monkeypatch: pytest.MonkeyPatch) -> None:
    # The companion of the test above: the same spy sees no call for a subclass, whose
    # __torch_function__ torch.autograd.grad must be given the chance to run.
    assert _backward.ENGINE is not None
    spy = Spy(_backward.ENGINE)
    monkeypatch.setattr(_backward, "ENGINE", spy)
    leaf = torch.tensor([1.0, 2.0]).as_subclass(Marked).requires_grad_()
    output = leaf**2
    product = backward_pass(output, leaf, torch.ones(2))
    assert spy.calls == 0
    assert product is not None
    torch.testing.assert_close(product.as_subclass(torch.Tensor), torch.tensor([2.0, 4.0]))


@pytest.mark.parametrize("strategy", ["loop", "reverse", "forward"])
def test_without_the_engine_every_way_gives_the_same_jacobian(
    monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    generator = torch.Generator().manual_seed(3)
    a = torch.randn(5, 4, generator=generator, dtype=torch.float64)
    x = torch.randn(4, generator=generator, dtype=torch.float64)

    def f(x: torch.Tensor) -> torch.Tensor:
        return a @ torch.tanh(x)

    fast = jacobian(f, x, strategy=strategy)  # type: ignore[arg-type]
    monkeypatch.setattr(_backward, "ENGINE", None)
    public = jacobian(f, x, strategy=strategy)  # type: ignore[arg-type]
    torch.testing.assert_close(fast, public, rtol=0, atol=0)


def test_without_the_engine_hessian_gives_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)

    def f(x: torch.Tensor) -> torch.Tensor:
        return (x.sin() * x.roll(1)).sum()

    fast = hessian(f, x)
    monkeypatch.setattr(_backward, "ENGINE", None)
    torch.testing.assert_close(fast, hessian(f, x), rtol=0, atol=0)
