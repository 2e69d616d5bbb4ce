"""tensorkit.autograd.jacobian: jacobian, jacobian_strategy, hessian and derivatives."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorkit.autograd import _probes, derivatives, hessian, jacobian, jacobian_strategy
from tensorkit.autograd.jacobian import LOOP_MAX_OUTPUTS, MAX_ORDER, JacobianFallbackWarning

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = ("auto", "loop", "reverse", "forward")
#: The module itself: the package's attribute ``jacobian`` is the function.
MODULE = sys.modules["tensorkit.autograd.jacobian"]
WAYS = sys.modules["tensorkit.autograd._graph_ways"]

Function = Callable[[torch.Tensor], torch.Tensor]


def reference(f: Function, x: torch.Tensor) -> torch.Tensor:
    result: torch.Tensor = torch.autograd.functional.jacobian(f, x)  # type: ignore[no-untyped-call]
    return result


def tanh_map(m: int, n: int, seed: int = 0) -> tuple[Function, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(m, n, generator=generator, dtype=torch.float64)
    x = torch.randn(n, generator=generator, dtype=torch.float64)
    return (lambda x: a @ torch.tanh(x)), x


@pytest.fixture
def no_warnings() -> Iterator[None]:
    """Fail on any warning, JacobianFallbackWarning included."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


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
    "scalar to scalar": (lambda x: x**2, torch.tensor(3.0)),
    "matrix to matrix": (lambda x: x @ x.T, torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])),
}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("case", CASES)
def test_every_strategy_matches_pytorch(case: str, strategy: str, no_warnings: None) -> None:
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


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_number_to_a_number_is_a_number(strategy: str) -> None:
    x = torch.tensor(3.0)
    got = jacobian(lambda x: x**2, x, strategy=strategy)  # type: ignore[arg-type]
    assert got.shape == () and torch.equal(got, torch.func.jacrev(lambda x: x**2)(x))
    assert torch.equal(got, torch.tensor(6.0))


def test_hessian_of_a_number_is_its_second_derivative() -> None:
    assert torch.equal(hessian(lambda x: x**3, torch.tensor(2.0)), torch.tensor(12.0))


def test_an_empty_output_has_an_empty_jacobian() -> None:
    got = jacobian(lambda x: x[:0] * 2, torch.ones(3))
    assert got.shape == (0, 3)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_an_output_reaching_x_through_nothing_has_zero_derivatives(strategy: str) -> None:
    # f(x) requires grad through w alone: x plays no part, so every derivative is 0.
    w = torch.tensor(2.0, requires_grad=True)
    got = jacobian(lambda x: w * torch.ones(3), torch.ones(4), strategy=strategy)  # type: ignore[arg-type]
    assert torch.equal(got, torch.zeros(3, 4)) and w.grad is None


# Where the strategies disagree -------------------------------------------------------


def test_at_an_infinite_derivative_rows_and_columns_put_the_nan_apart() -> None:
    x = torch.tensor([0.0, 4.0])
    rows = [[float("inf"), 0.0], [float("nan"), 0.25]]
    columns = [[float("inf"), float("nan")], [0.0, 0.25]]
    for strategy, want in (("loop", rows), ("reverse", rows), ("forward", columns)):
        got = jacobian(torch.sqrt, x, strategy=strategy)  # type: ignore[arg-type]
        torch.testing.assert_close(got, torch.tensor(want), equal_nan=True)
    torch.testing.assert_close(
        jacobian(torch.sqrt, x, strategy="reverse"),
        torch.func.jacrev(torch.sqrt)(x),
        equal_nan=True,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`torch\.jit\.script`", DeprecationWarning)
        forward = torch.func.jacfwd(torch.sqrt)(x)
    torch.testing.assert_close(
        jacobian(torch.sqrt, x, strategy="forward"), forward, equal_nan=True
    )


# Which strategy auto picks -----------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "outputs", "expected"),
    [
        (2, 2, "loop"),
        (1024, LOOP_MAX_OUTPUTS, "loop"),
        (1, LOOP_MAX_OUTPUTS, "loop"),
        (9, 9, "reverse"),
        (64, 64, "reverse"),
        (1024, 256, "reverse"),
        (8, 1024, "forward"),
        (LOOP_MAX_OUTPUTS, LOOP_MAX_OUTPUTS + 1, "forward"),
        (np.int64(4), np.int64(4), "reverse"),
    ],
)
def test_strategy_rule(inputs: int, outputs: int, expected: str) -> None:
    assert jacobian_strategy(inputs, outputs) == expected


@pytest.mark.parametrize(("m", "n"), [(2, 2), (8, 1024), (64, 64), (300, 10)])
def test_auto_runs_the_strategy_the_rule_names(
    m: int, n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []
    for name, original in dict(WAYS._WAYS).items():

        def spy(*args: Any, _name: str = name, _original: Any = original) -> Any:
            used.append(_name)
            return _original(*args)

        monkeypatch.setitem(WAYS._WAYS, name, spy)
    f, x = tanh_map(m, n)
    jacobian(f, x)
    assert used == [jacobian_strategy(n, m)]


# f runs once, and its errors are its own ---------------------------------------------


class Counting:
    """A function that counts its calls."""

    def __init__(self, f: Function) -> None:
        self.f = f
        self.calls = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.f(x)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("m", "n"), [(2, 5), (5, 5), (20, 3)])
def test_f_runs_once(strategy: str, m: int, n: int) -> None:
    weights = torch.linspace(-1, 1, m * n).reshape(m, n)
    f = Counting(lambda x: weights @ torch.tanh(x))
    jacobian(f, torch.ones(n), strategy=strategy)  # type: ignore[arg-type]
    assert f.calls == 1


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_f_runs_once_on_a_batch(strategy: str) -> None:
    f = Counting(torch.sin)
    jacobian(f, torch.ones(4, 3), batched=True, strategy=strategy)  # type: ignore[arg-type]
    assert f.calls == 1


def test_hessian_and_derivatives_run_f_once() -> None:
    f = Counting(lambda x: (x**3).sum())
    hessian(f, torch.ones(5))
    g = Counting(lambda x: x - x.mean() + x.mean())  # not known elementwise: probed
    derivatives(g, torch.ones(5), order=3)
    assert (f.calls, g.calls) == (1, 1)


def test_the_counter_counts() -> None:
    f = Counting(torch.sin)
    f(torch.ones(1))
    f(torch.ones(1))
    assert f.calls == 2


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_an_error_of_f_propagates_unchanged(strategy: str) -> None:
    error = RuntimeError("boom")

    def f(x: torch.Tensor) -> torch.Tensor:
        raise error

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError) as caught:
            jacobian(f, torch.ones(3), strategy=strategy)  # type: ignore[arg-type]
    assert caught.value is error


class BrokenBackward(torch.autograd.Function):
    """x ** 2, whose backward pass raises: a bug in the code, not a limit of vmap."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x**2

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom in backward")


def test_an_error_of_the_backward_pass_propagates_without_a_warning() -> None:
    weights = torch.linspace(-1, 1, 60).reshape(20, 3)

    def f(x: torch.Tensor) -> torch.Tensor:
        squared: torch.Tensor = BrokenBackward.apply(x)  # type: ignore[no-untyped-call]
        return weights @ squared

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match="^boom in backward$"):
            jacobian(f, torch.ones(3))


class NumpySquare(torch.autograd.Function):
    """x ** 2 with its backward pass in NumPy, which torch.func.vmap cannot batch."""

    calls = 0

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        NumpySquare.calls += 1
        (x,) = ctx.saved_tensors
        return torch.from_numpy(2 * x.detach().numpy() * grad.detach().numpy())


def numpy_square(x: torch.Tensor) -> torch.Tensor:
    result: torch.Tensor = NumpySquare.apply(x)  # type: ignore[no-untyped-call]
    return result


def test_a_backward_pass_vmap_cannot_run_falls_back_to_the_loop_with_a_warning() -> None:
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    f = Counting(numpy_square)
    with pytest.raises(RuntimeError):
        jacobian(f, x, strategy="reverse")  # chosen: no fallback
    f.calls = 0
    with pytest.warns(JacobianFallbackWarning, match=r"used strategy 'loop'.*without running f"):
        got = jacobian(f, x)
    assert torch.equal(got, torch.diag(2 * x))
    assert f.calls == 1


def test_hessians_fallback_warning_offers_no_strategy() -> None:
    # hessian() has no strategy argument, so its warning must not suggest one.
    recorded = WAYS.record(numpy_square, torch.ones(4), "hessian", batched=False)
    with pytest.warns(JacobianFallbackWarning) as caught:
        found = WAYS.differentiate(recorded, "reverse", fall_back=True, probe=False)
        MODULE._warn_of_fallback(found, "hessian")
    (warning,) = caught
    assert str(warning.message).startswith("hessian() used strategy 'loop'")
    assert "strategy=" not in str(warning.message)


def test_the_loop_needs_no_fallback(no_warnings: None) -> None:
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert torch.equal(jacobian(numpy_square, x, strategy="loop"), torch.diag(2 * x))


def test_forward_refuses_a_custom_function_whose_backward_it_cannot_trust() -> None:
    # Differentiating NumpySquare's backward pass would silently drop its terms.
    weights = torch.linspace(-1, 1, 40).reshape(20, 2)
    x = torch.tensor([1.0, 2.0])

    def f(x: torch.Tensor) -> torch.Tensor:
        return weights @ (numpy_square(x) + x)

    with pytest.raises(ValueError, match=r"custom autograd.Function \(NumpySquareBackward\)"):
        jacobian(f, x, strategy="forward")
    assert jacobian_strategy(2, 20) == "forward"
    with pytest.warns(JacobianFallbackWarning, match=r"'reverse' failed with RuntimeError"):
        got = jacobian(f, x)  # reverse instead of forward, then the loop
    torch.testing.assert_close(got, reference(f, x))


def test_forward_would_drop_the_terms_of_such_a_function(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the refusal prevents: the NumPy backward pass records nothing to differentiate.
    monkeypatch.setattr(MODULE, "custom_function", lambda recorded: None)
    weights = torch.linspace(-1, 1, 40).reshape(20, 2)
    x = torch.tensor([1.0, 2.0])

    def f(x: torch.Tensor) -> torch.Tensor:
        return weights @ (numpy_square(x) + x)

    got = jacobian(f, x, strategy="forward")
    assert torch.allclose(got, weights) and not torch.allclose(got, reference(f, x))


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


@pytest.mark.parametrize("strategy", ["auto", "loop", "reverse"])
@pytest.mark.parametrize(("m", "n"), [(20, 40), (40, 4)])
def test_old_style_functions_need_no_fallback(
    strategy: str, m: int, n: int, no_warnings: None
) -> None:
    # f runs under plain autograd, and only its backward passes under vmap; with more
    # outputs than inputs, auto reads rows, not columns, as the graph holds a custom
    # Function.
    weights = torch.linspace(-1, 1, m * n).reshape(m, n)

    def f(x: torch.Tensor) -> torch.Tensor:
        squared: torch.Tensor = OldStyleSquare.apply(x)  # type: ignore[no-untyped-call]
        return weights @ squared

    x = torch.linspace(0.5, 2, n)
    with pytest.raises(RuntimeError, match="setup_context"):
        torch.func.jacrev(f)(x)
    got = jacobian(f, x, strategy=strategy)  # type: ignore[arg-type]
    torch.testing.assert_close(got, weights * (2 * x))


class OutOfMemory(torch.autograd.Function):
    """x ** 2, whose backward pass runs out of memory."""

    calls = 0

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x**2

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        OutOfMemory.calls += 1
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_running_out_of_memory_is_never_retried() -> None:
    OutOfMemory.calls = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(torch.OutOfMemoryError):
            jacobian(OutOfMemory.apply, torch.ones(5))  # reverse, with the loop after it
    assert OutOfMemory.calls == 1


@pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")
def test_the_forward_way_falls_back_where_a_second_derivative_is_missing() -> None:
    # pdist's backward pass has no derivative of its own in torch 2.13 (nor a batching
    # rule: vmap runs it one direction at a time, and says so).
    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pdist(x.reshape(2, 2)).repeat(20)

    x = torch.tensor([0.2, 0.4, 0.7, 0.9])
    assert jacobian_strategy(4, 20) == "forward"
    with pytest.raises(NotImplementedError, match="_pdist_backward"):
        jacobian(f, x, strategy="forward")
    with pytest.warns(JacobianFallbackWarning, match=r"used strategy 'reverse'"):
        got = jacobian(f, x)
    torch.testing.assert_close(got, reference(f, x))


# batched ------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_batched_gives_each_samples_jacobian(strategy: str, no_warnings: None) -> None:
    generator = torch.Generator().manual_seed(1)
    w = torch.randn(5, 3, generator=generator)
    batch = torch.randn(4, 3, generator=generator)

    def layer(x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ w.T)

    got = jacobian(layer, batch, batched=True, strategy=strategy)  # type: ignore[arg-type]
    want = torch.stack([reference(layer, sample) for sample in batch])
    assert got.shape == (4, 5, 3)
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_batched_with_shaped_samples(strategy: str) -> None:
    batch = torch.arange(12.0).reshape(2, 3, 2) / 10

    def f(x: torch.Tensor) -> torch.Tensor:
        return x.sin().sum(-1)  # (B, 3, 2) -> (B, 3)

    got = jacobian(f, batch, batched=True, strategy=strategy)  # type: ignore[arg-type]
    want = torch.stack([reference(f, sample) for sample in batch])
    assert got.shape == (2, 3, 3, 2)
    torch.testing.assert_close(got, want)


MIXING: dict[str, Function] = {
    "flip": lambda x: x.flip(0),
    "centred": lambda x: x - x.mean(0),
    "batch norm": lambda x: torch.nn.functional.batch_norm(x, None, None, training=True),
    "a 1% leak": lambda x: torch.tanh(x) + 0.01 * x.roll(1, 0),
}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("mixing", MIXING)
def test_batched_refuses_an_f_that_mixes_samples(mixing: str, strategy: str) -> None:
    batch = torch.linspace(-1, 2, 12).reshape(4, 3)
    with pytest.raises(ValueError, match=r"batched=True needs f to map each sample on its own"):
        jacobian(MIXING[mixing], batch, batched=True, strategy=strategy)  # type: ignore[arg-type]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_blocks_are_wrong_when_samples_mix(
    strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the check prevents: without it, the per-sample blocks of a centring f are 0.
    monkeypatch.setattr(MODULE, "require_samples_apart", lambda check: None)
    batch = torch.linspace(-1, 2, 12).reshape(4, 3)
    got = jacobian(MIXING["centred"], batch, batched=True, strategy=strategy)  # type: ignore[arg-type]
    truth = reference(MIXING["centred"], batch)[torch.arange(4), :, torch.arange(4)]
    assert torch.equal(got, torch.zeros(4, 3, 3)) and not torch.allclose(got, truth)


LEGIT: dict[str, tuple[Function, torch.Tensor]] = {
    "wide layer, float32": (
        lambda x: torch.tanh(x @ torch.linspace(-3, 3, 64 * 512).reshape(512, 64).T),
        torch.linspace(-1, 1, 16 * 64).reshape(16, 64),
    ),
    "large values, float32": (
        lambda x: (x * 1e6) @ torch.linspace(-1, 1, 30).reshape(3, 10) + 1e12,
        torch.linspace(-1, 1, 24).reshape(8, 3),
    ),
    "cancelling, float64": (
        lambda x: (x @ torch.ones(3, 40, dtype=torch.float64) * 1e8) - 1e8 * x.sum(1, True),
        torch.linspace(-1, 1, 24, dtype=torch.float64).reshape(8, 3),
    ),
    "float16": (
        lambda x: torch.sigmoid(x @ torch.linspace(-1, 1, 48).reshape(12, 4).half().T),
        torch.linspace(-2, 2, 32).reshape(8, 4).half(),
    ),
    "infinite derivatives": (torch.sqrt, torch.tensor([[0.0, 1.0], [4.0, 0.0]])),
    "eval-mode batch norm": (
        lambda x: torch.nn.functional.batch_norm(x, torch.zeros(3), torch.ones(3)),
        torch.linspace(-1, 2, 12).reshape(4, 3),
    ),
}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("case", LEGIT)
def test_batched_check_allows_for_rounding(case: str, strategy: str) -> None:
    f, batch = LEGIT[case]
    got = jacobian(f, batch, batched=True, strategy=strategy)  # type: ignore[arg-type]
    assert got.shape[0] == batch.shape[0]


def test_batched_on_meta_tensors_gives_the_shape() -> None:
    got = jacobian(torch.sin, torch.ones(4, 3, device="meta"), batched=True)
    assert got.shape == (4, 3, 3) and got.device.type == "meta"


def test_the_checks_leave_the_global_random_generator_alone() -> None:
    state = torch.random.get_rng_state()
    jacobian(torch.tanh, torch.ones(6, 3), batched=True)
    derivatives(lambda x: x - x.mean() + x.mean(), torch.ones(3), order=1)  # probed
    assert torch.equal(torch.random.get_rng_state(), state)


# The caller's tensors ----------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_input_is_left_alone_and_result_is_detached(strategy: str) -> None:
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    before = x.detach().clone()
    result = jacobian(lambda x: x**2, x, strategy=strategy)  # type: ignore[arg-type]
    assert not result.requires_grad
    assert torch.equal(x.detach(), before) and x.grad is None
    assert torch.equal(result, torch.diag(2 * before))


def writes_through_data(x: torch.Tensor) -> torch.Tensor:
    x.data[0] = 5.0  # out of autograd's sight
    return x**2


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_an_f_writing_through_data_leaves_the_callers_x_alone(strategy: str) -> None:
    x = torch.tensor([1.0, 2.0, 3.0])
    jacobian(writes_through_data, x, strategy=strategy)  # type: ignore[arg-type]
    hessian(lambda t: writes_through_data(t).sum(), x)
    derivatives(writes_through_data, x, order=2)
    assert torch.equal(x, torch.tensor([1.0, 2.0, 3.0]))


def test_writing_through_data_would_reach_a_detached_x() -> None:
    # Why jacobian copies x: x.detach() shares x's memory.
    x = torch.tensor([1.0, 2.0, 3.0])
    writes_through_data(x.detach().requires_grad_())
    assert x[0] == 5.0


def test_results_are_fresh_tensors_each_call() -> None:
    x = torch.tensor([1.0, 2.0])
    first = jacobian(lambda x: x * 1, x)
    first.add_(100)
    assert torch.equal(jacobian(lambda x: x * 1, x), torch.eye(2))


def test_works_inside_no_grad() -> None:
    x = torch.tensor([0.0, 1.0])
    with torch.no_grad():
        first = jacobian(torch.sin, x)
        second = hessian(lambda x: x.sin().sum(), x)
        both = derivatives(torch.sin, x, order=2)
    torch.testing.assert_close(first, torch.diag(torch.cos(x)))
    torch.testing.assert_close(second, torch.diag(-torch.sin(x)))
    torch.testing.assert_close(both, (torch.cos(x), -torch.sin(x)))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_forward_way_works_inside_no_grad(strategy: str) -> None:
    f, x = CASES["more outputs than inputs"]
    with torch.no_grad():
        got = jacobian(f, x, strategy=strategy)  # type: ignore[arg-type]
    torch.testing.assert_close(got, reference(f, x))


@pytest.mark.parametrize(
    "call",
    [
        lambda: jacobian(torch.sin, torch.ones(2)),
        lambda: hessian(lambda x: x.sum(), torch.ones(2)),
        lambda: derivatives(torch.sin, torch.ones(2), order=1),
    ],
    ids=["jacobian", "hessian", "derivatives"],
)
def test_inference_mode_is_named_as_the_cause(call: Callable[[], object]) -> None:
    with torch.inference_mode(), pytest.raises(ValueError, match=r"inside torch.inference_mode"):
        call()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_dtype_is_kept(strategy: str) -> None:
    x = torch.tensor([0.5, 1.5], dtype=torch.float64)
    result = jacobian(torch.sin, x, strategy=strategy)  # type: ignore[arg-type]
    assert result.dtype == torch.float64


def test_first_forward_use_raises_no_warning() -> None:
    # A fresh interpreter, with warnings as errors, is the only place to show it.
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
    with pytest.raises(TypeError, match=r"jacobian\(\) argument 'f' must be a function, got"):
        jacobian(f, torch.ones(2))  # type: ignore[arg-type]


@pytest.mark.parametrize("x", [[1.0, 2.0], 2.0, None])
def test_x_not_a_tensor_is_a_type_error(x: object) -> None:
    with pytest.raises(TypeError) as caught:
        jacobian(torch.sin, x)  # type: ignore[arg-type]
    assert f"argument 'x' must be a torch.Tensor, got {type(x).__name__}" in str(caught.value)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.complex64])
def test_x_not_floating_is_a_type_error(dtype: torch.dtype) -> None:
    with pytest.raises(TypeError, match=rf"'x' must be a floating tensor, got dtype {dtype}"):
        jacobian(torch.sin, torch.ones(2, dtype=dtype))


def test_empty_x_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"at least one element, got shape \(0,\)"):
        jacobian(torch.sin, torch.ones(0))


@pytest.mark.parametrize("strategy", ["fastest", None, 1])
def test_unknown_strategy_is_a_value_error(strategy: object) -> None:
    with pytest.raises(ValueError, match=r"'strategy' must be one of 'auto', .*got"):
        jacobian(torch.sin, torch.ones(2), strategy=strategy)  # type: ignore[arg-type]


@pytest.mark.parametrize("batched", ["yes", 1, None])
def test_batched_must_be_a_bool(batched: object) -> None:
    with pytest.raises(TypeError, match=r"jacobian\(\) argument 'batched' must be True or False"):
        jacobian(torch.sin, torch.ones(3, 2), batched=batched)  # type: ignore[arg-type]


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


@pytest.mark.parametrize(("inputs", "outputs"), [(0, 2), (2, -1), (2**63, 2)])
def test_strategy_counts_must_be_in_range(inputs: int, outputs: int) -> None:
    with pytest.raises(ValueError, match=r"jacobian_strategy\(\) argument '\w+' must be at"):
        jacobian_strategy(inputs, outputs)


def test_strategy_counts_must_be_ints() -> None:
    with pytest.raises(TypeError, match=r"argument 'inputs' must be an int, got float"):
        jacobian_strategy(2.0, 2)  # type: ignore[arg-type]


# hessian -----------------------------------------------------------------------------


HESSIAN_CASES: dict[str, tuple[Function, torch.Tensor]] = {
    "polynomial": (lambda x: x[0] ** 2 * x[1] + x[1] ** 3, torch.tensor([1.0, 2.0])),
    "log-sum-exp": (lambda x: torch.logsumexp(x, 0), torch.tensor([0.1, -0.3, 0.7])),
    "matrix input": (lambda x: (x.sin() * x).sum(), torch.tensor([[0.2, 0.4], [0.6, 0.8]])),
    "many inputs": (lambda x: (x.sin() * x.roll(1)).sum(), torch.linspace(-1, 1, 30)),
    "a number": (lambda x: x**3, torch.tensor(2.0)),
}


@pytest.mark.parametrize("case", HESSIAN_CASES)
def test_hessian_matches_pytorch(case: str, no_warnings: None) -> None:
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
    with pytest.raises(TypeError, match=r"hessian\(\) argument 'x' must be a floating"):
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


def test_derivatives_order_has_a_ceiling() -> None:
    with pytest.raises(ValueError, match=rf"'order' must be at most {MAX_ORDER}, got 1000000"):
        derivatives(torch.sin, torch.ones(1), order=10**6)
    found = derivatives(torch.sin, torch.tensor([0.5], dtype=torch.float64), order=MAX_ORDER)
    torch.testing.assert_close(found[-1], torch.sin(torch.tensor([0.5], dtype=torch.float64)))


def test_derivatives_need_an_elementwise_function() -> None:
    with pytest.raises(ValueError, match=r"apply elementwise.*got shape \(\)"):
        derivatives(torch.sum, torch.ones(3), order=1)


NOT_ELEMENTWISE: dict[str, Function] = {
    "softmax": lambda x: torch.softmax(x, 0),
    "cumsum": lambda x: torch.cumsum(x, 0),
    "flip": lambda x: x.flip(0),
    "normalise": lambda x: x / x.norm(),
    "one pair mixed": lambda x: x**2 + torch.nn.functional.pad(x[:1] * x[1:2], (0, 99)),
}


@pytest.mark.parametrize("name", NOT_ELEMENTWISE)
def test_derivatives_refuse_a_function_that_mixes_elements(name: str) -> None:
    x = torch.linspace(0.5, 2.0, 100)
    with pytest.raises(ValueError, match=r"needs f to apply elementwise .* but f mixes elements"):
        derivatives(NOT_ELEMENTWISE[name], x, order=2)


@pytest.mark.parametrize("name", ["softmax", "cumsum"])
def test_the_sum_gives_wrong_numbers_for_such_functions(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the check prevents: the derivative of the sum is not the diagonal.
    monkeypatch.setattr(MODULE, "require_elementwise", lambda *args: None)
    f, x = NOT_ELEMENTWISE[name], torch.tensor([1.0, 2.0])
    (first,) = derivatives(f, x, order=1)
    assert not torch.allclose(first, reference(f, x).diagonal())


ELEMENTWISE: dict[str, tuple[Function, torch.Tensor]] = {
    "sin minus x near 0, float32": (
        lambda x: torch.sin(x) - x,
        torch.tensor([3e-3, 1e-2, 1e-4, 0.5]),
    ),
    "through a reduction that cancels": (
        lambda x: x - x.mean() + x.mean(),
        torch.linspace(-1e3, 1e3, 1000),
    ),
    "float16": (lambda x: torch.exp(x) * x, torch.linspace(-3, 3, 50).half()),
    "tiny values": (lambda x: x**3, torch.linspace(1e-15, 1e-13, 30)),
    "a matrix, through a view and back": (
        lambda x: (x.T.sin()).T * 2,
        torch.linspace(-1, 1, 12).reshape(3, 4),
    ),
    "infinite derivative": (torch.sqrt, torch.tensor([0.0, 1.0, 4.0])),
    "a closed-over parameter": (
        lambda x: x * torch.tensor(2.0, requires_grad=True).exp(),
        torch.ones(4),
    ),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivatives_check_allows_for_rounding(name: str) -> None:
    f, x = ELEMENTWISE[name]
    found = derivatives(f, x, order=2)
    assert found[0].shape == x.shape


def test_an_elementwise_graph_needs_no_extra_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    probes: list[torch.Tensor] = []
    real = _probes.probe_direction

    def counting(like: torch.Tensor) -> torch.Tensor:
        probes.append(like)
        return real(like)

    monkeypatch.setattr(_probes, "probe_direction", counting)
    derivatives(lambda x: torch.sigmoid(2 * x + 1) ** 2, torch.ones(5), order=2)
    assert probes == []
    derivatives(lambda x: x - x.mean() + x.mean(), torch.ones(5), order=1)
    assert len(probes) == 1


def test_derivatives_on_meta_tensors_give_the_shape() -> None:
    (first,) = derivatives(lambda x: x - x.mean() + x.mean(), torch.ones(4, device="meta"), 1)
    assert first.shape == (4,) and first.device.type == "meta"
