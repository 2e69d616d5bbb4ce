"""tensorkit.autograd.jacobian: jacobian, jacobian_strategy, hessian and derivatives."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorkit.autograd import derivatives, hessian, jacobian, jacobian_strategy
from tensorkit.autograd.jacobian import LOOP_MAX_OUTPUTS

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = ("auto", "loop", "reverse", "forward")
#: The module itself: the package's attribute ``jacobian`` is the function.
MODULE = sys.modules["tensorkit.autograd.jacobian"]

Function = Callable[[torch.Tensor], torch.Tensor]


def reference(f: Function, x: torch.Tensor) -> torch.Tensor:
    result: torch.Tensor = torch.autograd.functional.jacobian(f, x)  # type: ignore[no-untyped-call]
    return result


def tanh_map(m: int, n: int, seed: int = 0) -> tuple[Function, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(m, n, generator=generator, dtype=torch.float64)
    x = torch.randn(n, generator=generator, dtype=torch.float64)
    return (lambda x: a @ torch.tanh(x)), x


# Shapes of input and output that each strategy must handle, with what picks it.
CASES: dict[str, tuple[Function, torch.Tensor]] = {
    "tutorial 2x2": (
        lambda x: torch.stack([x[0] ** 2 + 3 * x[1], x[1] ** 2 + 2 * x[0]]),
        torch.tensor([2.0, 3.0]),
    ),
    "few outputs": tanh_map(3, 20),
    "more outputs than inputs": tanh_map(30, 4),
    "more inputs than outputs": tanh_map(12, 40),
    "scalar input": (lambda x: torch.stack([x, x**2, x.sin()]), torch.tensor(0.5)),
    "scalar output": (lambda x: (x**2).sum(), torch.tensor([[1.0, 2.0], [3.0, 4.0]])),
    "matrix to matrix": (lambda x: x @ x.T, torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])),
}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("case", CASES)
def test_every_strategy_matches_pytorch(case: str, strategy: str) -> None:
    f, x = CASES[case]
    want = reference(f, x)
    got = jacobian(f, x, strategy=strategy)  # type: ignore[arg-type]
    assert got.shape == want.shape
    torch.testing.assert_close(got, want)


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 24),
    n=st.integers(1, 24),
    seed=st.integers(0, 2**16),
    strategy=st.sampled_from(STRATEGIES),
)
def test_property_agrees_with_pytorch_on_random_maps(
    m: int, n: int, seed: int, strategy: str
) -> None:
    f, x = tanh_map(m, n, seed)
    got = jacobian(f, x, strategy=strategy)  # type: ignore[arg-type]
    torch.testing.assert_close(got, reference(f, x), rtol=1e-12, atol=1e-12)


def test_the_tutorial_jacobian() -> None:
    f, x = CASES["tutorial 2x2"]
    assert torch.equal(jacobian(f, x), torch.tensor([[4.0, 3.0], [2.0, 6.0]]))


@pytest.mark.parametrize(
    ("inputs", "outputs", "expected"),
    [
        (2, 2, "loop"),
        (1024, LOOP_MAX_OUTPUTS, "loop"),
        (1, LOOP_MAX_OUTPUTS, "loop"),
        (64, 64, "reverse"),
        (1024, 256, "reverse"),
        (8, 1024, "forward"),
        (LOOP_MAX_OUTPUTS, LOOP_MAX_OUTPUTS + 1, "forward"),
    ],
)
def test_strategy_rule(inputs: int, outputs: int, expected: str) -> None:
    assert jacobian_strategy(inputs, outputs) == expected


@pytest.mark.parametrize(("m", "n"), [(2, 2), (8, 1024), (64, 64), (300, 10)])
def test_auto_runs_the_strategy_the_rule_names(
    m: int, n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []
    for name in ("loop", "reverse", "forward"):
        original = getattr(MODULE, f"_{name}")

        def spy(*args: object, _name: str = name, _original: object = original) -> object:
            used.append(_name)
            return _original(*args)  # type: ignore[operator]

        monkeypatch.setattr(MODULE, f"_{name}", spy)
    f, x = tanh_map(m, n)
    jacobian(f, x)
    assert used == [jacobian_strategy(n, m)]


def test_auto_falls_back_to_reverse_when_forward_mode_cannot_run() -> None:
    # grid_sample has no forward-mode formula in torch 2.13.
    grid = torch.tensor([[[[-1.0, 0.0], [0.0, 0.0], [0.5, 0.5], [1.0, -1.0]]]])

    def f(x: torch.Tensor) -> torch.Tensor:
        image = x.view(1, 1, 1, 3).expand(1, 1, 2, 3)
        sampled = torch.nn.functional.grid_sample(
            image, grid.expand(1, 4, 4, 2), align_corners=True
        )
        return sampled.flatten()

    x = torch.tensor([1.0, 2.0, 0.5])
    assert jacobian_strategy(3, 16) == "forward"
    with pytest.raises(NotImplementedError, match="forward AD"):
        jacobian(f, x, strategy="forward")
    torch.testing.assert_close(jacobian(f, x), reference(f, x))


class OldStyleSquare(torch.autograd.Function):
    """An autograd.Function without setup_context: torch.func cannot transform it."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        result: torch.Tensor = 2 * x * grad
        return result


@pytest.mark.parametrize(("m", "n"), [(20, 2), (20, 40)])
def test_auto_falls_back_to_the_loop_when_torch_func_cannot_run(m: int, n: int) -> None:
    weights = torch.linspace(-1, 1, m * n).reshape(m, n)

    def f(x: torch.Tensor) -> torch.Tensor:
        squared: torch.Tensor = OldStyleSquare.apply(x)  # type: ignore[no-untyped-call]
        return weights @ squared

    x = torch.linspace(0.5, 2, n)
    for strategy in ("reverse", "forward"):
        with pytest.raises(RuntimeError, match="setup_context"):
            jacobian(f, x, strategy=strategy)
    torch.testing.assert_close(jacobian(f, x), weights * (2 * x))


@pytest.mark.parametrize("strategy", ["loop", "reverse", "forward"])
def test_batched_gives_each_samples_jacobian(strategy: str) -> None:
    generator = torch.Generator().manual_seed(1)
    w = torch.randn(5, 3, generator=generator)
    batch = torch.randn(4, 3, generator=generator)

    def layer(x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ w.T)

    got = jacobian(layer, batch, batched=True, strategy=strategy)  # type: ignore[arg-type]
    want = torch.stack([reference(layer, sample) for sample in batch])
    assert got.shape == (4, 5, 3)
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("strategy", ["loop", "reverse", "forward"])
def test_batched_with_shaped_samples(strategy: str) -> None:
    batch = torch.arange(12.0).reshape(2, 3, 2) / 10

    def f(x: torch.Tensor) -> torch.Tensor:
        return x.sin().sum(-1)  # (B, 3, 2) -> (B, 3)

    got = jacobian(f, batch, batched=True, strategy=strategy)  # type: ignore[arg-type]
    want = torch.stack([reference(f, sample) for sample in batch])
    assert got.shape == (2, 3, 3, 2)
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_input_is_left_alone_and_result_is_detached(strategy: str) -> None:
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    before = x.detach().clone()
    result = jacobian(lambda x: x**2, x, strategy=strategy)  # type: ignore[arg-type]
    assert not result.requires_grad
    assert torch.equal(x.detach(), before) and x.grad is None
    assert torch.equal(result, torch.diag(2 * before))


def test_results_are_fresh_tensors_each_call() -> None:
    # The loop reuses its one-hot directions between calls; no result may share them.
    x = torch.tensor([1.0, 2.0])
    first = jacobian(lambda x: x * 1, x)
    first.add_(100)
    assert torch.equal(jacobian(lambda x: x * 1, x), torch.eye(2))


def test_works_inside_no_grad() -> None:
    f, x = CASES["tutorial 2x2"]
    with torch.no_grad():
        got = jacobian(f, x)
    assert torch.equal(got, torch.tensor([[4.0, 3.0], [2.0, 6.0]]))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_dtype_is_kept(strategy: str) -> None:
    x = torch.tensor([0.5, 1.5], dtype=torch.float64)
    result = jacobian(torch.sin, x, strategy=strategy)  # type: ignore[arg-type]
    assert result.dtype == torch.float64


def test_first_forward_mode_use_raises_no_warning() -> None:
    # torch 2.13 warns (DeprecationWarning) the first time forward mode runs in a
    # process; only a fresh interpreter, with warnings as errors, can show it is handled.
    code = textwrap.dedent(
        """
        import torch
        from tensorkit.autograd import jacobian
        x = torch.tensor([1.0, 2.0])
        j = jacobian(lambda x: torch.ones(20) * x.sum(), x, strategy="forward")
        assert torch.equal(j, torch.ones(20, 2))
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


# Bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("f", [None, 3, "torch.sin", [torch.sin]])
def test_f_not_callable_is_a_type_error(f: object) -> None:
    with pytest.raises(TypeError, match=r"argument 'f' must be a function of one tensor, got"):
        jacobian(f, torch.ones(2))  # type: ignore[arg-type]


@pytest.mark.parametrize("x", [[1.0, 2.0], 2.0, None])
def test_x_not_a_tensor_is_a_type_error(x: object) -> None:
    with pytest.raises(TypeError) as caught:
        jacobian(torch.sin, x)  # type: ignore[arg-type]
    assert f"argument 'x' must be a torch.Tensor, got {type(x).__name__}" in str(caught.value)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.complex64])
def test_x_not_floating_is_a_value_error(dtype: torch.dtype) -> None:
    with pytest.raises(ValueError, match=rf"floating-point dtype, got {dtype}"):
        jacobian(torch.sin, torch.ones(2, dtype=dtype))


def test_empty_x_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"at least one element, got shape \(0,\)"):
        jacobian(torch.sin, torch.ones(0))


def test_unknown_strategy_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"'strategy' must be one of .*got 'fastest'"):
        jacobian(torch.sin, torch.ones(2), strategy="fastest")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "f",
    [
        lambda x: torch.ones(3),
        lambda x: x.detach() * 2,
        lambda x: (x > 0).float(),
        lambda x: x.argmax(),
    ],
)
def test_output_not_depending_on_x_is_a_value_error(f: Function) -> None:
    with pytest.raises(ValueError, match=r"argument 'f' returned a tensor that does not depend"):
        jacobian(f, torch.tensor([1.0, -2.0]))


def test_output_not_a_tensor_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"'f' must return a torch.Tensor, got tuple"):
        jacobian(lambda x: (x, x), torch.ones(2))  # type: ignore[arg-type, return-value]


def test_batched_needs_a_batch_dimension() -> None:
    with pytest.raises(ValueError, match=r"batched=True needs a batch dimension"):
        jacobian(torch.sin, torch.tensor(1.0), batched=True)


def test_batched_f_must_keep_the_batch() -> None:
    with pytest.raises(ValueError, match=r"x has 3 samples, f\(x\) has shape \(2,\)"):
        jacobian(lambda x: x.sum(0), torch.ones(3, 2), batched=True)


@pytest.mark.parametrize(("inputs", "outputs"), [(0, 2), (2, -1)])
def test_strategy_counts_must_be_positive(inputs: int, outputs: int) -> None:
    with pytest.raises(ValueError, match=r"must be at least 1"):
        jacobian_strategy(inputs, outputs)


def test_strategy_counts_must_be_ints() -> None:
    with pytest.raises(TypeError, match=r"argument 'inputs' must be an int, got float"):
        jacobian_strategy(2.0, 2)  # type: ignore[arg-type]


# hessian -----------------------------------------------------------------------------


HESSIAN_CASES: dict[str, tuple[Function, torch.Tensor]] = {
    "polynomial": (lambda x: x[0] ** 2 * x[1] + x[1] ** 3, torch.tensor([1.0, 2.0])),
    "log-sum-exp": (lambda x: torch.logsumexp(x, 0), torch.tensor([0.1, -0.3, 0.7])),
    "matrix input": (lambda x: (x.sin() * x).sum(), torch.tensor([[0.2, 0.4], [0.6, 0.8]])),
}


@pytest.mark.parametrize("case", HESSIAN_CASES)
def test_hessian_matches_pytorch(case: str) -> None:
    f, x = HESSIAN_CASES[case]
    want = torch.autograd.functional.hessian(f, x)  # type: ignore[no-untyped-call]
    torch.testing.assert_close(hessian(f, x), want)


def test_hessian_of_a_linear_function_is_zero() -> None:
    result = hessian(lambda x: 3 * x.sum(), torch.tensor([1.0, 2.0]))
    assert torch.equal(result, torch.zeros(2, 2))


def test_hessian_needs_a_scalar_output() -> None:
    with pytest.raises(ValueError, match=r"one number, got a tensor of shape \(2,\)"):
        hessian(lambda x: x**2, torch.tensor([1.0, 2.0]))


def test_hessian_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match=r"hessian\(\) argument 'f'"):
        hessian(1, torch.ones(2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"hessian\(\) argument 'x' must have a floating"):
        hessian(torch.sum, torch.ones(2, dtype=torch.int64))


# derivatives -------------------------------------------------------------------------


def test_derivatives_of_the_tutorial_square() -> None:
    assert derivatives(lambda x: x**2, torch.tensor(3.0), order=2) == (
        torch.tensor(6.0),
        torch.tensor(2.0),
    )


@settings(max_examples=30, deadline=None)
@given(value=st.floats(-3, 3), order=st.integers(1, 5))
def test_property_derivatives_of_exp_are_exp(value: float, order: int) -> None:
    x = torch.tensor([value], dtype=torch.float64)
    found = derivatives(torch.exp, x, order=order)
    assert len(found) == order
    for derivative in found:
        torch.testing.assert_close(derivative, torch.exp(x))


def test_derivatives_after_a_constant_are_zero() -> None:
    found = derivatives(lambda x: x**3, torch.tensor([2.0, -1.0]), order=5)
    expected = [[12.0, 3.0], [12.0, -6.0], [6.0, 6.0], [0.0, 0.0], [0.0, 0.0]]
    assert [d.tolist() for d in found] == expected


def test_derivatives_are_detached() -> None:
    found = derivatives(torch.sin, torch.tensor([0.5]), order=3)
    assert not any(d.requires_grad for d in found)


@pytest.mark.parametrize("order", [0, -2])
def test_derivatives_order_must_be_positive(order: int) -> None:
    with pytest.raises(ValueError, match=rf"'order' must be at least 1, got {order}"):
        derivatives(torch.sin, torch.ones(1), order=order)


@pytest.mark.parametrize("order", [2.0, "2", True])
def test_derivatives_order_must_be_an_int(order: object) -> None:
    with pytest.raises(TypeError, match=r"'order' must be an int"):
        derivatives(torch.sin, torch.ones(1), order=order)  # type: ignore[arg-type]


def test_derivatives_need_an_elementwise_function() -> None:
    with pytest.raises(ValueError, match=r"apply elementwise.*got shape \(\)"):
        derivatives(torch.sum, torch.ones(3), order=1)
