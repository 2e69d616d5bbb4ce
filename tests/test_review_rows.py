"""Every INTERNAL, MISLEADING, SILENT and MUTATES row of the tensorkit review, as it is now.

`../shared/reviews/TENSORKIT.md` called each public function with bad input and gave
each call a verdict. This module replays the calls whose verdict was a defect and asserts
what they give now: an error that names the argument, or the right answer. Inputs are
snapshotted before each call and compared after it, so an error that leaves an argument
changed fails too.

``python -m tests.test_review_rows`` prints the table of what each row gives now, for the
closing note of the issue that fixed them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from tensorkit.autograd import (
    ComputationGraph,
    GradInfo,
    GradTable,
    GraphNode,
    derivatives,
    hessian,
    jacobian,
)
from tensorkit.creation import seeded_randint, seeded_randn
from tensorkit.regression import (
    Batches,
    batches,
    fit_linear,
    fit_logistic,
    synthetic_linear,
    train,
    two_blobs,
)
from tensorkit.shape import view_or_copy


@dataclass(frozen=True)
class Raises:
    """The call raises ``error`` with a message matching ``message``."""

    error: type[Exception]
    message: str


@dataclass(frozen=True)
class Returns:
    """The call returns a value for which ``check`` is true; ``shown`` says what it is."""

    check: Callable[[object], bool]
    shown: str


def no_inputs() -> tuple[object, ...]:
    return ()


@dataclass(frozen=True)
class Row:
    """One review row: the function, the input as the review wrote it, and its verdict.

    ``inputs`` makes the tensors and models the call is given, fresh for each run, and
    ``call`` takes them; they are compared with a snapshot after the call.
    """

    function: str
    given: str
    verdict: str
    call: Callable[..., object]
    now: Raises | Returns
    inputs: Callable[[], tuple[object, ...]] = no_inputs


def regression_setup(*, nan_target: bool = False, lr: float = 0.03) -> tuple[object, ...]:
    """A model, its optimizer and seeded data, as the training pages make them."""
    X, y = synthetic_linear(100, [2.0, -3.4], 4.2, seed=0)
    if nan_target:
        y[25, 0] = float("nan")
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    return model, torch.optim.SGD(model.parameters(), lr=lr), X, y


def train_on(
    model: nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor
) -> object:
    return train(model, nn.MSELoss(), optimizer, batches(X, y, 10, shuffle=False), epochs=5)


def writes_through_data(t: torch.Tensor) -> torch.Tensor:
    t.data[0] = 100.0
    return t * 2


def in_inference_mode(x: torch.Tensor) -> object:
    with torch.inference_mode():
        return jacobian(torch.sin, x)


def linear_data(n: int = 50, d: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return X, X @ torch.arange(1.0, d + 1, dtype=torch.float64) + 0.5


def blobs_data(scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    X, y = two_blobs(100, seed=0, dtype=torch.float64)
    return X * scale, y


def numpy_min_norm(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
    """NumPy's minimum-norm least squares on centred data: sklearn's and NumPy's answer."""
    import numpy as np

    Xn, yn = X.double().numpy(), y.double().numpy()
    mean_x, mean_y = Xn.mean(0), yn.mean()
    w = np.linalg.lstsq(Xn - mean_x, yn - mean_y, rcond=None)[0]
    return torch.from_numpy(w), float(mean_y - mean_x @ w)


def fits_min_norm(fit: object, X: torch.Tensor, y: torch.Tensor) -> bool:
    w, b = numpy_min_norm(X, y)
    return torch.allclose(fit.weight.double(), w, atol=1e-8) and abs(float(fit.bias) - b) < 1e-8  # type: ignore[attr-defined]


def duplicated_column() -> tuple[torch.Tensor, torch.Tensor]:
    X, y = linear_data()
    return torch.cat([X, X[:, :1]], dim=1), y


def wide_data() -> tuple[torch.Tensor, torch.Tensor]:
    return linear_data(n=5, d=10)


def fit_quietly(fit: Callable[..., object], *args: object) -> object:
    """A fit whose RuntimeWarning (rank deficiency) the row does not check."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fit(*args)


def batch_in_place(X: torch.Tensor, y: torch.Tensor) -> object:
    for xb, _ in batches(X, y, 2, shuffle=False):
        xb += 1
    return X


ROWS = [
    Row(
        "seeded_randn",
        "shape=(2**40, 2**40)",
        "INTERNAL",
        lambda: seeded_randn((2**40, 2**40), seed=0),
        Raises(ValueError, r"argument 'shape' \(1099511627776, 1099511627776\) would need"),
    ),
    Row(
        "seeded_randn",
        "device='mps'",
        "INTERNAL",
        lambda: seeded_randn((2,), seed=0, device="mps"),
        Raises(ValueError, r"argument 'device' is 'mps', but .* not available"),
    ),
    Row(
        "seeded_randint",
        "high=2**63",
        "INTERNAL",
        lambda: seeded_randint(0, 2**63, (2,), seed=0),
        Raises(ValueError, r"argument 'high' must be at most 2\*\*63 - 1"),
    ),
    Row(
        "seeded_randint",
        "dtype=uint8, high=1000",
        "INTERNAL",
        lambda: seeded_randint(0, 1000, (2,), seed=0, dtype=torch.uint8),
        Raises(ValueError, r"\[0, 1000\), but torch.uint8 holds integers from 0 to 255"),
    ),
    Row(
        "seeded_randint",
        "dtype=int8, low=-500",
        "INTERNAL",
        lambda: seeded_randint(-500, 0, (2,), seed=0, dtype=torch.int8),
        Raises(ValueError, r"but torch.int8 holds integers from -128 to 127"),
    ),
    Row(
        "seeded_randint",
        "dtype=float16, high=10**6",
        "INTERNAL",
        lambda: seeded_randint(0, 10**6, (2,), seed=0, dtype=torch.float16),
        Raises(ValueError, r"but torch.float16 holds integers from -2048 to 2048"),
    ),
    Row(
        "view_or_copy",
        "shape=(4, 2) for 6 elements",
        "MISLEADING",
        lambda: view_or_copy(torch.zeros(2, 3), (4, 2)),
        Raises(ValueError, r"^view_or_copy\(\) argument 'shape' \(4, 2\) has 8 elements"),
    ),
    Row(
        "synthetic_linear",
        "seed=-1",
        "SILENT",
        lambda: synthetic_linear(5, [1.0], 0.0, seed=-1),
        Raises(ValueError, r"argument 'seed' must be between 0 and 2\*\*64 - 1, got -1"),
    ),
    Row(
        "two_blobs",
        "seed=2**64",
        "INTERNAL",
        lambda: two_blobs(5, seed=2**64),
        Raises(ValueError, r"argument 'seed' must be between 0 and 2\*\*64 - 1"),
    ),
    Row(
        "synthetic_linear",
        "device='gpu'",
        "INTERNAL",
        lambda: synthetic_linear(5, [1.0], 0.0, device="gpu"),
        Raises(ValueError, r"argument 'device' is not a device name: 'gpu'"),
    ),
    Row(
        "batches",
        "batch_size=2**63",
        "INTERNAL",
        lambda: batches(torch.ones(4, 2), torch.ones(4), 2**63),
        Raises(ValueError, r"argument 'batch_size' must be at most 2\*\*63 - 1"),
    ),
    Row(
        "batches",
        "X on the meta device",
        "INTERNAL",
        lambda: batches(torch.ones(4, 2, device="meta"), torch.ones(4, device="meta"), 2),
        Raises(ValueError, r"argument 'X' is on the meta device"),
    ),
    Row(
        "train",
        "loss_fn=nn.MSELoss (the class)",
        "INTERNAL",
        lambda model, optimizer, X, y: train(model, nn.MSELoss, optimizer, batches(X, y, 10)),
        Raises(
            TypeError,
            r"argument 'loss_fn' .* got the class nn.MSELoss itself; write nn.MSELoss\(\)",
        ),
        regression_setup,
    ),
    Row(
        "train",
        "targets (N,) for output (N, 1)",
        "SILENT",
        lambda model, optimizer, X, y: train(
            model, nn.MSELoss(), optimizer, batches(X, y[:, 0], 10)
        ),
        Raises(
            ValueError,
            r"output has shape \(10, 1\) and the targets \(10,\), .* y.reshape\(-1, 1\)",
        ),
        regression_setup,
    ),
    Row(
        "train",
        "a NaN target in a batch",
        "MUTATES",
        lambda model, optimizer, X, y: train(
            model, nn.MSELoss(), optimizer, list(zip(X.split(10), y.split(10), strict=True))
        ),
        Raises(
            ValueError, r"batch holding NaN or infinite values in epoch 1, batch 3 \(its targets\)"
        ),
        lambda: regression_setup(nan_target=True),
    ),
    Row(
        "train",
        "lr=10, diverges",
        "MUTATES",
        train_on,
        Raises(
            FloatingPointError,
            r"the loss became (inf|nan) in epoch \d+, batch \d+: training diverged",
        ),
        lambda: regression_setup(lr=10.0),
    ),
    Row(
        "Batches",
        "X=None",
        "INTERNAL",
        lambda: Batches(None, torch.ones(3), 2),  # type: ignore[arg-type]
        Raises(TypeError, r"Batches\(\) argument 'X' must be a torch.Tensor, got NoneType"),
    ),
    Row(
        "Batches",
        "batch_size=0",
        "INTERNAL",
        lambda: Batches(torch.ones(3, 2), torch.ones(3), 0),
        Raises(ValueError, r"Batches\(\) argument 'batch_size' must be at least 1, got 0"),
    ),
    Row(
        "Batches",
        "y shorter than X",
        "INTERNAL",
        lambda: Batches(torch.ones(3, 2), torch.ones(2), 2),
        Raises(ValueError, r"X has 3, y has 2 samples"),
    ),
    Row(
        "batches",
        "X int64 (token ids)",
        "over-strict",
        lambda: [xb.dtype for xb, _ in batches(torch.arange(6).reshape(3, 2), torch.ones(3), 2)],
        Returns(
            lambda dtypes: dtypes == [torch.int64, torch.int64], "int64 batches, as DataLoader"
        ),
    ),
    Row(
        "batches",
        "in-place xb += 1 with shuffle=False",
        "MUTATES",
        batch_in_place,
        Returns(lambda X: bool((X == 0).all()), "X unchanged: batches are copies"),
        lambda: (torch.zeros(4, 2), torch.zeros(4)),
    ),
    Row(
        "two_blobs",
        "center=1e300, std=1e300, float32",
        "SILENT",
        lambda: two_blobs(5, center=1e300, std=1e300),
        Raises(ValueError, r"must give data that torch.float32 can hold"),
    ),
    Row(
        "synthetic_linear",
        "weight on the meta device",
        "INTERNAL",
        lambda: synthetic_linear(5, torch.ones(2, device="meta"), 0.0),
        Raises(ValueError, r"argument 'weight' is on the meta device"),
    ),
    Row(
        "jacobian",
        "0-d x, 0-d f(x)",
        "INTERNAL",
        lambda: jacobian(lambda x: x**2, torch.tensor(3.0)),
        Returns(lambda j: torch.equal(j, torch.tensor(6.0)), "tensor(6.), as torch.func.jacrev"),
    ),
    Row(
        "hessian",
        "0-d x, 0-d f(x)",
        "INTERNAL",
        lambda: hessian(lambda x: x**3, torch.tensor(2.0)),
        Returns(lambda h: torch.equal(h, torch.tensor(12.0)), "tensor(12.)"),
    ),
    Row(
        "jacobian",
        "f writes through t.data",
        "MUTATES",
        lambda x: jacobian(writes_through_data, x),
        Returns(lambda j: torch.equal(j, 2 * torch.eye(2)), "2 * eye(2); x unchanged"),
        lambda: (torch.tensor([1.0, 2.0]),),
    ),
    Row(
        "jacobian",
        "inside torch.inference_mode()",
        "MISLEADING",
        in_inference_mode,
        Raises(ValueError, r"jacobian\(\) cannot run inside torch.inference_mode\(\)"),
        lambda: (torch.tensor([1.0, 2.0]),),
    ),
    Row(
        "jacobian",
        "batched='yes'",
        "SILENT",
        lambda x: jacobian(torch.sin, x, batched="yes"),  # type: ignore[arg-type]
        Raises(TypeError, r"argument 'batched' must be True or False, got str \('yes'\)"),
        lambda: (torch.ones(3, 2),),
    ),
    Row(
        "jacobian",
        "batched=True, f = x.flip(0) mixes samples",
        "SILENT",
        lambda x: jacobian(lambda t: t.flip(0), x, batched=True),
        Raises(
            ValueError, r"batched=True needs f to map each sample on its own, but f mixes samples"
        ),
        lambda: (torch.randn(4, 3, generator=torch.Generator().manual_seed(0)),),
    ),
    Row(
        "jacobian",
        "batched=True, f = x - x.mean(0)",
        "SILENT",
        lambda x: jacobian(lambda t: t - t.mean(0), x, batched=True),
        Raises(ValueError, r"but f mixes samples"),
        lambda: (torch.randn(4, 3, generator=torch.Generator().manual_seed(0)),),
    ),
    Row(
        "derivatives",
        "softmax (same shape, not elementwise)",
        "SILENT",
        lambda x: derivatives(lambda t: torch.softmax(t, 0), x, 1),
        Raises(
            ValueError, r"derivatives\(\) needs f to apply elementwise .* but f mixes elements"
        ),
        lambda: (torch.tensor([1.0, 2.0]),),
    ),
    Row(
        "derivatives",
        "cumsum (same shape, not elementwise)",
        "SILENT",
        lambda x: derivatives(lambda t: t.cumsum(0), x, 1),
        Raises(ValueError, r"but f mixes elements"),
        lambda: (torch.tensor([1.0, 2.0]),),
    ),
    Row(
        "derivatives",
        "order=10**6",
        "SLOW",
        lambda: derivatives(torch.tanh, torch.tensor([0.5]), 10**6),
        Raises(ValueError, r"argument 'order' must be at most 100, got 1000000"),
    ),
    Row(
        "GradInfo.of",
        "tensor=None",
        "INTERNAL",
        lambda: GradInfo.of("w", None),  # type: ignore[arg-type]
        Raises(
            TypeError, r"GradInfo.of\(\) argument 'tensor' must be a torch.Tensor, got NoneType"
        ),
    ),
    Row(
        "GradTable",
        "[1, 2]",
        "INTERNAL",
        lambda: GradTable([1, 2]),  # type: ignore[list-item]
        Raises(TypeError, r"GradTable\(\) argument 'rows' must hold GradInfo rows, got int"),
    ),
    Row(
        "ComputationGraph",
        "None",
        "INTERNAL",
        lambda: ComputationGraph(None),  # type: ignore[arg-type]
        Raises(TypeError, r"ComputationGraph\(\) argument 'nodes' must be a tuple of GraphNode"),
    ),
    Row(
        "GraphNode",
        "kind='bogus'",
        "SILENT",
        lambda: GraphNode(kind="bogus", label="x"),  # type: ignore[call-arg,arg-type]
        Raises(ValueError, r"GraphNode\(\) argument 'kind' must be one of"),
    ),
    Row(
        "fit_linear",
        "X and y that require grad",
        "INTERNAL",
        lambda X, y: fit_linear(X, y),
        Returns(lambda fit: not fit.weight.requires_grad, "a detached fit, inputs unchanged"),  # type: ignore[attr-defined]
        lambda: tuple(t.requires_grad_() for t in linear_data()),
    ),
    Row(
        "fit_logistic",
        "X that requires grad (an nn.Parameter)",
        "INTERNAL",
        lambda X, y: fit_logistic(X, y, l2=1e-3),
        Returns(lambda fit: not fit.weight.requires_grad, "a detached fit, inputs unchanged"),  # type: ignore[attr-defined]
        lambda: (nn.Parameter(blobs_data()[0]), blobs_data()[1]),
    ),
    Row(
        "fit_linear",
        "1 row",
        "MISLEADING",
        lambda X, y: fit_quietly(fit_linear, X, y),
        Returns(lambda fit: fit.rank == 0 and float(fit.bias) == 2.0, "weight 0, bias y, rank 0"),  # type: ignore[attr-defined]
        lambda: (torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([2.0])),
    ),
    Row(
        "fit_linear",
        "duplicated column",
        "MISLEADING",
        lambda X, y: fit_quietly(fit_linear, X, y),
        Returns(
            lambda fit: fit.rank == 3 and fits_min_norm(fit, *duplicated_column()),  # type: ignore[attr-defined]
            "the minimum-norm fit NumPy gives, rank 3 of 4",
        ),
        duplicated_column,
    ),
    Row(
        "fit_linear",
        "d > N (5 x 10)",
        "MISLEADING",
        lambda X, y: fit_quietly(fit_linear, X, y),
        Returns(
            lambda fit: fit.rank == 4 and fits_min_norm(fit, *wide_data()),  # type: ignore[attr-defined]
            "the minimum-norm fit NumPy gives, rank 4",
        ),
        wide_data,
    ),
    Row(
        "fit_logistic",
        "float64 X * 1e40",
        "MISLEADING",
        lambda X, y: fit_logistic(X, y, l2=1e-3 * 1e-80),
        Returns(lambda fit: bool(torch.isfinite(fit.weight).all()), "a finite fit"),  # type: ignore[attr-defined]
        lambda: blobs_data(1e40),
    ),
    Row(
        "LinearFit.predict",
        "X=None",
        "INTERNAL",
        lambda X, y: fit_linear(X, y).predict(None),  # type: ignore[arg-type]
        Raises(
            TypeError, r"LinearFit.predict\(\) argument 'X' must be a torch.Tensor, got NoneType"
        ),
        linear_data,
    ),
    Row(
        "LinearFit.predict",
        "wrong column count",
        "INTERNAL",
        lambda X, y: fit_linear(X, y).predict(X[:, :2]),
        Raises(
            ValueError, r"must have 3 columns, one per feature of the fit, got shape \(50, 2\)"
        ),
        linear_data,
    ),
    Row(
        "LogisticFit.probability",
        "other dtype",
        "INTERNAL",
        lambda X, y: fit_logistic(X, y, l2=1e-3).probability(X.float()),
        Raises(TypeError, r"LogisticFit.probability\(\) argument 'X' must have the fit's dtype"),
        blobs_data,
    ),
]
if not torch.cuda.is_available():
    ROWS.append(
        Row(
            "synthetic_linear",
            "device='cuda' without CUDA",
            "INTERNAL",
            lambda: synthetic_linear(5, [1.0], 0.0, device="cuda"),
            Raises(ValueError, r"'cuda', but CUDA is not available on this machine"),
        )
    )


def snapshot(values: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(copy.deepcopy(value) for value in values)


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal values, NaN where NaN was: torch.equal alone calls a NaN changed."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_floating_point():
        return torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)
    return torch.equal(a, b)


def unchanged(before: tuple[object, ...], after: tuple[object, ...]) -> bool:
    for old, new in zip(before, after, strict=True):
        if isinstance(old, torch.Tensor) and isinstance(new, torch.Tensor):
            if not same(old, new):
                return False
        elif isinstance(old, torch.nn.Module) and isinstance(new, torch.nn.Module):
            for a, b in zip(old.state_dict().values(), new.state_dict().values(), strict=True):
                if not same(a, b):
                    return False
    return True


def outcome(row: Row) -> str:
    """What the row's call gives now, as one line for the table."""
    try:
        value = row.call(*row.inputs())
    except Exception as error:  # noqa: BLE001  # the table reports whatever happens
        return f"{type(error).__name__}: {error}"
    shown = row.now.shown if isinstance(row.now, Returns) else repr(value)
    return f"returns {shown}"


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.function}: {row.given}")
def test_review_row_gives_a_named_error_or_the_right_answer(row: Row) -> None:
    inputs = row.inputs()
    before = snapshot(inputs)
    if isinstance(row.now, Raises):
        with pytest.raises(row.now.error, match=row.now.message):
            row.call(*inputs)
    else:
        assert row.now.check(row.call(*inputs)), row.now.shown
    assert unchanged(before, inputs), "the call changed its inputs"


def test_a_row_that_expects_the_wrong_message_fails() -> None:
    row = Row(
        "f", "x", "INTERNAL", lambda: seeded_randn((2,), seed=-1), Raises(ValueError, "nope")
    )
    with pytest.raises(AssertionError, match="Regex pattern did not match"):
        test_review_row_gives_a_named_error_or_the_right_answer(row)


def test_the_input_comparison_sees_a_change() -> None:
    x = torch.zeros(2)
    model = torch.nn.Linear(1, 1)
    before = snapshot((x, model))
    x += 1
    assert not unchanged(before, (x, model))
    x -= 1
    with torch.no_grad():
        model.weight += 1
    assert not unchanged(before, (x, model))
    nan = torch.tensor([float("nan"), 1.0])
    assert unchanged(snapshot((nan,)), (nan,))
    assert not unchanged(snapshot((nan,)), (torch.tensor([float("nan"), 2.0]),))


def main() -> None:
    print("| function | input | verdict then | now |")
    print("|---|---|---|---|")
    for row in ROWS:
        now = re.sub(r"\s+", " ", outcome(row)).replace("|", "\\|")
        print(f"| {row.function} | `{row.given}` | {row.verdict} | {now} |")


if __name__ == "__main__":
    main()
