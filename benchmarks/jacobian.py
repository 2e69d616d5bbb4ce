"""tensorkit.autograd.jacobian against PyTorch's own ways of computing a Jacobian.

The function is ``f(x) = A @ tanh(x)`` with ``A`` of shape ``(m, n)``: ``n`` inputs and
``m`` outputs, at the square sizes 2 to 1024 (9, 16 and 32 sit just above
``LOOP_MAX_OUTPUTS`` and the old one, where the choice of method matters most), then
few outputs (1024 x 8) and few inputs (8 x 1024). A last case, ``expensive f``, computes
``A`` inside ``f`` as ``matrix_exp`` of a constant 256 x 256 matrix: evaluating ``f``
then costs far more than differentiating it, so a method that runs ``f`` more than once
shows it at once.

Methods, all in the same process on the same data:

* ``loop``: the row-by-row loop of the tutorials: one ``y.backward(v,
  retain_graph=True)`` per output with a one-hot ``v``, reading and clearing ``x.grad``;
* ``functional``: ``torch.autograd.functional.jacobian(f, x)``;
* ``functional_vec``: the same with ``vectorize=True``;
* ``functional_fwd``: the same with ``vectorize=True, strategy="forward-mode"``;
* ``jacrev``, ``jacfwd``: ``torch.func.jacrev(f)(x)`` and ``torch.func.jacfwd(f)(x)``;
* ``tensorkit``: ``tensorkit.autograd.jacobian(f, x)`` (the strategy it picks is in the
  verdict line).

Every method's result is first checked against ``torch.autograd.functional.jacobian``.
Then the methods take turns in ``--rounds`` rounds, in an order rotated every round and
reversed every other one, each turn a block of calls lasting about ``--block-time``
seconds after one untimed call. Before each round the machine's idle share is read
(``benchmarks/timing.py``). Threads are pinned, one by default: the ratios then compare
the work each method does rather than how well it spreads over cores, and a shared
machine disturbs one thread less. The tables give the median and the minimum over the
rounds of the time per call, with the ratio to the fastest method at that size; the
verdict lines compare tensorkit with the fastest *other* method, by both.

Run it with ``.venv/bin/python benchmarks/jacobian.py`` (``--help`` for options). The
target: ``tensorkit`` within 1.1x of the fastest other method at every size.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from timing import (
    QUIET_IDLE,
    QUIET_PATIENCE_S,
    LoadLog,
    Timing,
    ms,
    pin_threads,
    table,
    wait_until_quiet,
)

from tensorkit.autograd import jacobian, jacobian_strategy

#: (n inputs, m outputs): the square sizes, then few outputs, then few inputs.
SIZES = [(2, 2), (9, 9), (16, 16), (32, 32), (64, 64), (256, 256), (1024, 1024)]
SIZES += [(1024, 8), (8, 1024)]
#: The expensive f: its (n, m), and the side of the matrix whose exponential it takes.
EXPENSIVE = (64, 64)
EXPENSIVE_SIDE = 256
TARGET = 1.1
TOLERANCE = 1e-5
#: A method slower than this per call is timed in at most three rounds: its ratio to
#: the fastest is large either way.
SLOW_S = 1.0

Function = Callable[[torch.Tensor], torch.Tensor]
Method = Callable[[], torch.Tensor]
NAMES = [
    "loop",
    "functional",
    "functional_vec",
    "functional_fwd",
    "jacrev",
    "jacfwd",
    "tensorkit",
]


@dataclass(frozen=True)
class Case:
    """One function and point to differentiate."""

    label: str
    n: int
    m: int
    f: Function
    x: torch.Tensor


def tanh_case(n: int, m: int, device: torch.device, dtype: torch.dtype) -> Case:
    generator = torch.Generator().manual_seed(n * 10_000 + m)
    a = torch.randn(m, n, generator=generator, dtype=dtype).to(device)
    x = torch.randn(n, generator=generator, dtype=dtype).to(device)

    def f(x: torch.Tensor) -> torch.Tensor:
        return a @ torch.tanh(x)

    return Case(f"{n} x {m}", n, m, f, x)


def expensive_case(device: torch.device, dtype: torch.dtype) -> Case:
    n, m = EXPENSIVE
    generator = torch.Generator().manual_seed(7)
    side = EXPENSIVE_SIDE
    k = (torch.randn(side, side, generator=generator, dtype=dtype) / side).to(device)
    x = torch.randn(n, generator=generator, dtype=dtype).to(device)

    def f(x: torch.Tensor) -> torch.Tensor:
        # Recomputed on every call, as a model might rebuild its weights: costly to
        # evaluate, cheap to differentiate (the exponential does not depend on x).
        a = torch.linalg.matrix_exp(k)[:m, :n]
        return a @ torch.tanh(x)

    return Case(f"expensive f, {n} x {m}", n, m, f, x)


def tutorial_loop(f: Function, x: torch.Tensor) -> torch.Tensor:
    """The tutorials' Jacobian: one backward pass per output, with a one-hot vector."""
    x = x.detach().requires_grad_()
    y = f(x)
    rows = []
    for i in range(y.numel()):
        v = torch.zeros_like(y)
        v[i] = 1.0
        y.backward(v, retain_graph=True)  # type: ignore[no-untyped-call]
        assert x.grad is not None
        rows.append(x.grad)
        x.grad = None
    return torch.stack(rows)


def methods(f: Function, x: torch.Tensor) -> dict[str, Method]:
    def functional(**options: object) -> torch.Tensor:
        result: torch.Tensor = torch.autograd.functional.jacobian(  # type: ignore[no-untyped-call]
            f, x, **options
        )
        return result

    def jacrev() -> torch.Tensor:
        result: torch.Tensor = torch.func.jacrev(f)(x)
        return result

    def jacfwd() -> torch.Tensor:
        result: torch.Tensor = torch.func.jacfwd(f)(x)
        return result

    return {
        "loop": lambda: tutorial_loop(f, x),
        "functional": lambda: functional(),
        "functional_vec": lambda: functional(vectorize=True),
        "functional_fwd": lambda: functional(vectorize=True, strategy="forward-mode"),
        "jacrev": jacrev,
        "jacfwd": jacfwd,
        "tensorkit": lambda: jacobian(f, x),
    }


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(method: Method, calls: int, device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    for _ in range(calls):
        method()
    synchronize(device)
    return (time.perf_counter() - start) / calls


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    scale = want.abs().max().item()
    return (got - want).abs().max().item() / (scale if scale > 0 else 1.0)


def measure(case: Case, options: argparse.Namespace, load: LoadLog) -> dict[str, Timing]:
    """Check every method's result, then time them in interleaved rounds."""
    device = case.x.device
    runs = methods(case.f, case.x)
    want = runs["functional"]()
    calls: dict[str, int] = {}
    for name, method in runs.items():
        error = relative_error(method(), want)  # also the warm-up call
        if error > TOLERANCE:
            raise AssertionError(f"{case.label}: {name} differs by {error:.2e} (relative)")
        once = seconds_per_call(method, 1, device)
        calls[name] = max(1, round(options.block_time / max(once, 1e-9)))
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for index in range(options.rounds):
        load.readings.append(wait_until_quiet(patience=options.patience))
        turn = order[index % len(order) :] + order[: index % len(order)]
        for name in turn if index % 2 == 0 else turn[::-1]:
            done = times[name]
            if len(done) >= min(3, options.rounds) and min(done) > SLOW_S:
                continue
            if not done or min(done) < SLOW_S / 10:
                runs[name]()  # untimed: the previous method's work and threads settle
            done.append(seconds_per_call(runs[name], calls[name], device))
    return {name: Timing(tuple(values)) for name, values in times.items()}


def cell(seconds: float, fastest: float) -> str:
    return f"{ms(seconds)} ({seconds / fastest:.2f}x)"


def verdict(case: Case, timings: dict[str, Timing]) -> str:
    others = {name: timing for name, timing in timings.items() if name != "tensorkit"}
    mine = timings["tensorkit"]
    by_median = min(others, key=lambda name: others[name].median)
    by_minimum = min(others, key=lambda name: others[name].minimum)
    median = mine.median / others[by_median].median
    minimum = mine.minimum / others[by_minimum].minimum
    met = median <= TARGET and minimum <= TARGET
    strategy = jacobian_strategy(case.n, case.m)
    return (
        f"{case.label}: tensorkit ({strategy}) is {median:.2f}x the fastest other method "
        f"by median ({by_median}), {minimum:.2f}x by minimum ({by_minimum}): "
        + ("meets" if met else "MISSES")
        + f" the {TARGET}x target"
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument(
        "--block-time", type=float, default=0.05, help="seconds of calls per turn (0.05)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads to pin (default 1)")
    parser.add_argument(
        "--patience",
        type=float,
        default=QUIET_PATIENCE_S,
        help=f"seconds to wait for a quiet machine before each round ({QUIET_PATIENCE_S:g})",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument(
        "--only",
        default=None,
        help="measure only these cases, e.g. 2x2,1024x8 (n x m), or 'expensive'",
    )
    return parser.parse_args()


def cases(options: argparse.Namespace) -> list[Case]:
    device = torch.device(options.device)
    dtype = getattr(torch, options.dtype)
    wanted = options.only.split(",") if options.only else None
    chosen = [
        tanh_case(n, m, device, dtype) for n, m in SIZES if wanted is None or f"{n}x{m}" in wanted
    ]
    if wanted is None or "expensive" in wanted:
        chosen.append(expensive_case(device, dtype))
    return chosen


def main() -> None:
    options = parse()
    pinned = pin_threads(options.threads)
    # torch.func.jacfwd warns the first time forward mode runs (torch builds its
    # forward-mode decompositions with the deprecated torch.jit.script); the baselines
    # here must not stop on it.
    warnings.filterwarnings("ignore", r"`torch\.jit\.script` is", DeprecationWarning)
    load = LoadLog([])
    rows: dict[str, list[list[str]]] = {"median": [], "minimum": []}
    verdicts = []
    for case in cases(options):
        timings = measure(case, options, load)
        for statistic, lines in rows.items():
            values = {name: getattr(timings[name], statistic) for name in NAMES}
            fastest = min(values.values())
            lines.append([case.label] + [cell(values[name], fastest) for name in NAMES])
        verdicts.append(verdict(case, timings))
        print(f"measured {case.label}", file=sys.stderr, flush=True)
    print(
        f"torch {torch.__version__}, device {options.device}, dtype {options.dtype}; "
        f"{pinned}; {options.rounds} rounds; {load.summary()}"
    )
    if any(share < QUIET_IDLE for share in load.readings):
        print("the machine was shared: compare the ratios within this run, not the times")
    for statistic, lines in rows.items():
        print(f"\n{statistic} time per call (ratio to the fastest at that size)\n")
        print(table(["n x m", *NAMES], lines))
    print(f"\nresults agree with torch.autograd.functional.jacobian to {TOLERANCE} (relative)")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
