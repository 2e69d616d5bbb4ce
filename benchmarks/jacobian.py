"""tensorkit.autograd.jacobian against PyTorch's own ways of computing a Jacobian.

The function is ``f(x) = A @ tanh(x)`` with ``A`` of shape ``(m, n)``: ``n`` inputs and
``m`` outputs. For each size, every method runs in the same process, interleaved round
by round (so that a busy moment of the machine hits them all alike); the table shows
the median time per call and its ratio to the fastest method at that size. Every
method's result is first checked against ``torch.autograd.functional.jacobian``.

Methods:

* ``loop``: the row-by-row loop of the tutorials: one ``y.backward(v,
  retain_graph=True)`` per output with a one-hot ``v``, reading and clearing ``x.grad``.
* ``functional``: ``torch.autograd.functional.jacobian(f, x)``.
* ``functional_vec``: the same with ``vectorize=True``.
* ``jacrev``, ``jacfwd``: ``torch.func.jacrev(f)(x)``, ``torch.func.jacfwd(f)(x)``.
* ``tensorkit``: ``tensorkit.autograd.jacobian(f, x)`` (its strategy in brackets).

Run it with ``.venv/bin/python benchmarks/jacobian.py`` (``--help`` for options). The
target: ``tensorkit`` within 1.15x of the fastest method at every size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tensorkit.autograd import jacobian, jacobian_strategy  # noqa: E402

#: (n inputs, m outputs): the square sizes, then few outputs, then few inputs.
SIZES = [(2, 2), (64, 64), (256, 256), (1024, 1024), (1024, 8), (8, 1024)]
TARGET = 1.15
TOLERANCE = 1e-6

Method = Callable[[], torch.Tensor]


def loop(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
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


def methods(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> dict[str, Method]:
    def functional(vectorize: bool) -> torch.Tensor:
        result: torch.Tensor = torch.autograd.functional.jacobian(  # type: ignore[no-untyped-call]
            f, x, vectorize=vectorize
        )
        return result

    def jacrev() -> torch.Tensor:
        result: torch.Tensor = torch.func.jacrev(f)(x)
        return result

    def jacfwd() -> torch.Tensor:
        result: torch.Tensor = torch.func.jacfwd(f)(x)
        return result

    return {
        "loop": lambda: loop(f, x),
        "functional": lambda: functional(vectorize=False),
        "functional_vec": lambda: functional(vectorize=True),
        "jacrev": jacrev,
        "jacfwd": jacfwd,
        "tensorkit": lambda: jacobian(f, x),
    }


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(method: Method, calls: int, device: torch.device) -> float:
    """Seconds per call, over ``calls`` calls."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(calls):
        method()
    synchronize(device)
    return (time.perf_counter() - start) / calls


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    scale = want.abs().max().item()
    return (got - want).abs().max().item() / (scale if scale > 0 else 1.0)


def measure(
    n: int, m: int, rounds: int, batch_time: float, device: torch.device, dtype: torch.dtype
) -> dict[str, float]:
    generator = torch.Generator().manual_seed(n * 10_000 + m)
    a = torch.randn(m, n, generator=generator, dtype=dtype).to(device)
    x = torch.randn(n, generator=generator, dtype=dtype).to(device)

    def f(x: torch.Tensor) -> torch.Tensor:
        return a @ torch.tanh(x)

    runs = methods(f, x)
    want = runs["functional"]()
    calls: dict[str, int] = {}
    for name, method in runs.items():
        error = relative_error(method(), want)  # also the warm-up call
        if error > TOLERANCE:
            raise AssertionError(f"n={n}, m={m}: {name} differs by {error:.2e} (relative)")
        once = time_calls(method, 1, device)
        calls[name] = max(1, round(batch_time / max(once, 1e-9)))
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for index in range(rounds):
        # Rotate the order so that no method always runs first or last in a round.
        turn = names[index % len(names) :] + names[: index % len(names)]
        for name in turn:
            if once_too_slow(times[name], rounds):
                continue
            times[name].append(time_calls(runs[name], calls[name], device))
    return {name: statistics.median(values) for name, values in times.items()}


def once_too_slow(times: list[float], rounds: int) -> bool:
    # A method that takes seconds per call is timed three times, not `rounds` times:
    # its ratio to the fastest is large either way.
    return len(times) >= min(3, rounds) and min(times) > 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per method")
    parser.add_argument(
        "--batch-time", type=float, default=0.05, help="seconds of calls per timed round"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument(
        "--only", default=None, help="measure only these sizes, e.g. 2x2,1024x8 (n x m)"
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    # torch.func.jacfwd warns the first time forward mode runs (torch builds its
    # forward-mode decompositions with the deprecated torch.jit.script); tensorkit
    # handles that itself, the baseline here must not stop on it.
    warnings.filterwarnings("ignore", r"`torch\.jit\.script` is", DeprecationWarning)

    print(
        f"torch {torch.__version__}, device {device}, dtype {args.dtype}, "
        f"{torch.get_num_threads()} threads, {args.rounds} rounds; "
        "median ms per call (ratio to the fastest at that size)"
    )
    names = ["loop", "functional", "functional_vec", "jacrev", "jacfwd", "tensorkit"]
    header = ["n", "m"] + names
    rows = []
    verdicts = []
    sizes = SIZES
    if args.only:
        sizes = [(int(n), int(m)) for n, m in (size.split("x") for size in args.only.split(","))]
    for n, m in sizes:
        medians = measure(n, m, args.rounds, args.batch_time, device, dtype)
        fastest = min(medians.values())
        cells = [str(n), str(m)]
        for name in names:
            label = f"{medians[name] * 1e3:.3g} ({medians[name] / fastest:.2f}x)"
            cells.append(label)
        rows.append(cells)
        ratio = medians["tensorkit"] / fastest
        winner = min(medians, key=medians.__getitem__)
        strategy = jacobian_strategy(n, m)
        verdicts.append(
            f"n={n}, m={m}: tensorkit ({strategy}) is {ratio:.2f}x the fastest ({winner}): "
            + ("meets" if ratio <= TARGET else "MISSES")
            + f" the {TARGET}x target"
        )
        print(f"measured n={n}, m={m}", file=sys.stderr, flush=True)
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    for line in [header, *rows]:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    print(f"results agree with torch.autograd.functional.jacobian to {TOLERANCE} (relative)")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
