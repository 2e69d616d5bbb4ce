"""tensorkit.regression against the tools a reader would otherwise use, in one run.

Three tables, each comparing methods side by side on the same data in the same process:

* ``batches``: one epoch of shuffled mini-batches over 100 000 x 10 float32, against
  ``DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)`` at batch 64, and
  against one shuffled gather ``X[perm]`` at batch 1024.
* ``fit_linear``: least squares at N = 1 000 000, d = 10, against scikit-learn's
  ``LinearRegression``, in float32 and float64, with the features as drawn and shifted
  by +100. The parameter error is the largest absolute difference from the true
  parameters (noise 0.01, so about 2e-5 is the statistical floor), and from the exact
  least-squares solution of the same data (computed in float64), which isolates
  rounding error. ``torch.linalg.lstsq`` and plain normal equations are shown for context.
* ``fit_logistic``: N = 100 000, d = 10, against scikit-learn's ``LogisticRegression``
  (lbfgs, C = 1, i.e. ``l2 = 1 / N``), with the training loss of each.

Every time is the median of ``--repeat`` runs, the methods taking turns, so that a busy
machine slows all of them alike. Ratios are computed from the medians of the same run.

Run it with ``.venv/bin/python benchmarks/regression.py [--repeat N] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tensorkit.regression import batches, fit_linear, fit_logistic  # noqa: E402


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def medians(
    methods: dict[str, Callable[[], Any]], repeat: int, device: torch.device
) -> dict[str, float]:
    """Median seconds of each method over ``repeat`` calls, the methods taking turns.

    Turns are blocks of calls, not single calls: right after scikit-learn returns, its
    BLAS threads keep spinning for a while, and on a small machine a torch call made in
    that moment competes with them for the cores (and the other way round). Two rounds
    of blocks, the second in reverse order, share out any drift of the machine's speed.
    """
    for method in methods.values():  # warm-up: first calls pay for lazy initialisation
        method()
    times: dict[str, list[float]] = {name: [] for name in methods}
    order = list(methods)
    for names in (order, order[::-1]):
        for name in names:
            method = methods[name]
            method()  # let the previous method's threads go quiet
            for _ in range((repeat + 1) // 2):
                synchronize(device)
                start = time.perf_counter()
                method()
                synchronize(device)
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def bench_batches(repeat: int, device: torch.device) -> None:
    n, d = 100_000, 10
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=generator).to(device)
    y = torch.randn(n, generator=generator).to(device)

    def epoch(loader: Any) -> None:
        for _ in loader:
            pass

    def gather_x() -> None:
        perm = torch.randperm(n, device="cpu").to(device)
        X[perm]

    def gather_xy() -> None:
        perm = torch.randperm(n, device="cpu").to(device)
        X[perm], y[perm]

    def index_select_xy() -> None:
        perm = torch.randperm(n, device="cpu").to(device)
        X.index_select(0, perm), y.index_select(0, perm)

    print(f"\n## batches: one shuffled epoch over {n} x {d} float32 on {device}\n")
    small = medians(
        {
            "DataLoader(TensorDataset(X, y), 64, shuffle=True)": lambda: epoch(
                DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
            ),
            "batches(X, y, 64)": lambda: epoch(batches(X, y, 64)),
        },
        max(3, repeat // 4),  # the DataLoader takes about a second per epoch
        device,
    )
    reference = small["DataLoader(TensorDataset(X, y), 64, shuffle=True)"]
    rows = [
        [name, ms(t), f"{n / t / 1e6:.2f} M", f"{reference / t:.1f}x"] for name, t in small.items()
    ]
    print("batch 64 (target: batches at least 40x the DataLoader's throughput)\n")
    print(table(["method", "epoch", "samples/s", "throughput vs DataLoader"], rows))
    large = medians(
        {
            "X[torch.randperm(n)]": gather_x,
            "X[perm], y[perm]": gather_xy,
            "X.index_select(0, perm), y.index_select(0, perm)": index_select_xy,
            "batches(X, y, 1024)": lambda: epoch(batches(X, y, 1024)),
        },
        repeat,
        device,
    )
    ours = large["batches(X, y, 1024)"]
    rows = [[name, ms(t), f"{ours / t:.2f}"] for name, t in large.items()]
    print("\nbatch 1024 (target: batches within 1.5x of one shuffled gather X[perm])\n")
    print(table(["method", "time", "batches time / this"], rows))


def linear_data(
    dtype: torch.dtype, shift: float, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray, float]:
    n, d = 1_000_000, 10
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(d, generator=generator, dtype=torch.float64)
    bias = 0.5
    features = torch.randn(n, d, generator=generator, dtype=torch.float64) + shift
    noise = 0.01 * torch.randn(n, generator=generator, dtype=torch.float64)
    target = features @ weight + bias + noise
    return features.to(device, dtype), target.to(device, dtype), weight.numpy(), bias


def exact_least_squares(X: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, float]:
    """The least-squares solution of the stored data, by QR in float64 on centred data."""
    X64, y64 = X.double().cpu(), y.double().cpu()
    mean = X64.mean(dim=0)
    solution = torch.linalg.lstsq(X64 - mean, y64 - y64.mean(), driver="gels").solution
    return solution.numpy(), float(y64.mean() - mean @ solution)


def error(w: np.ndarray, b: float, true_w: np.ndarray, true_b: float) -> float:
    return float(max(np.abs(np.asarray(w, dtype=np.float64) - true_w).max(), abs(b - true_b)))


def linear_case(
    dtype: torch.dtype, shift: float, repeat: int, device: torch.device
) -> list[list[str]]:
    from sklearn.linear_model import LinearRegression  # type: ignore[import-untyped]

    X, y, true_w, true_b = linear_data(dtype, shift, device)
    X_np, y_np = X.cpu().numpy(), y.cpu().numpy()
    ones = torch.ones(X.shape[0], 1, dtype=dtype, device=device)
    fits: dict[str, tuple[np.ndarray, float]] = {}

    def ours() -> None:
        fit = fit_linear(X, y)
        fits["fit_linear"] = (fit.weight.cpu().numpy(), float(fit.bias))

    def sklearn() -> None:
        model = LinearRegression().fit(X_np, y_np)
        fits["scikit-learn LinearRegression"] = (model.coef_, float(model.intercept_))

    def lstsq() -> None:
        solution = torch.linalg.lstsq(torch.cat([X, ones], 1), y[:, None]).solution
        fits["torch.linalg.lstsq"] = (solution[:-1, 0].cpu().numpy(), float(solution[-1]))

    def normal() -> None:
        A = torch.cat([X, ones], 1)
        solution = torch.linalg.solve(A.mT @ A, A.mT @ y)
        fits["normal equations"] = (solution[:-1].cpu().numpy(), float(solution[-1]))

    times = medians(
        {
            "fit_linear": ours,
            "scikit-learn LinearRegression": sklearn,
            "torch.linalg.lstsq": lstsq,
            "normal equations": normal,
        },
        repeat,
        device,
    )
    exact_w, exact_b = exact_least_squares(X, y)
    reference = times["scikit-learn LinearRegression"]
    rows = []
    for name, seconds in times.items():
        w, b = fits[name]
        rows.append(
            [
                str(dtype).removeprefix("torch."),
                f"+{shift:g}",
                name,
                ms(seconds),
                f"{reference / seconds:.1f}x",
                f"{error(w, b, true_w, true_b):.2e}",
                f"{error(w, b, exact_w, exact_b):.2e}",
            ]
        )
    return rows


def bench_linear(repeat: int, device: torch.device) -> None:
    print(
        "\n## fit_linear: N = 1 000 000, d = 10 (target: at least 5x faster than "
        "scikit-learn, parameter error no worse)\n"
    )
    rows = [
        row
        for dtype in (torch.float32, torch.float64)
        for shift in (0.0, 100.0)
        for row in linear_case(dtype, shift, repeat, device)
    ]
    print(
        table(
            [
                "dtype",
                "shift",
                "method",
                "time",
                "speed vs sklearn",
                "error vs true",
                "error vs exact LS",
            ],
            rows,
        )
    )


LOGISTIC_N, LOGISTIC_D, LOGISTIC_C = 100_000, 10, 1.0


def logistic_case(
    dtype: torch.dtype, shift: float, repeat: int, device: torch.device
) -> list[list[str]]:
    from sklearn.linear_model import LogisticRegression

    n, d, C = LOGISTIC_N, LOGISTIC_D, LOGISTIC_C
    l2 = 1 / (C * n)
    generator = torch.Generator().manual_seed(0)
    true_w = torch.randn(d, generator=generator, dtype=torch.float64)
    base = torch.randn(n, d, generator=generator, dtype=torch.float64) + shift
    probability = torch.sigmoid((base - shift) @ true_w + 0.3)
    labels = (torch.rand(n, generator=generator, dtype=torch.float64) < probability).double()
    X, y = base.to(device, dtype), labels.to(device, dtype)
    X_np, y_np = X.cpu().numpy(), y.cpu().numpy()
    fits: dict[str, tuple[np.ndarray, float, str]] = {}

    def ours() -> None:
        fit = fit_logistic(X, y, l2=l2)
        fits["fit_logistic"] = (
            fit.weight.cpu().double().numpy(),
            float(fit.bias),
            str(fit.iterations),
        )

    def sklearn() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs may stop at max_iter; the table says so
            model = LogisticRegression(C=C).fit(X_np, y_np)
        steps = int(model.n_iter_[0])
        fits["scikit-learn lbfgs"] = (
            model.coef_[0].astype(np.float64),
            float(model.intercept_[0]),
            f"{steps}" + (" (max_iter)" if steps >= model.max_iter else ""),
        )

    times = medians({"fit_logistic": ours, "scikit-learn lbfgs": sklearn}, repeat, device)
    # Both fits are scored on the same float64 copy of the data they were given.
    X64, y64 = X.double().cpu(), y.double().cpu()
    losses = {}
    for name, (w, b, _) in fits.items():
        z = X64 @ torch.from_numpy(w) + b
        mean_loss = float(torch.nn.functional.binary_cross_entropy_with_logits(z, y64))
        losses[name] = (mean_loss, mean_loss + 0.5 * l2 * float(np.dot(w, w)))
    reference = times["scikit-learn lbfgs"]
    rows = []
    for name, seconds in times.items():
        loss, objective = losses[name]
        rows.append(
            [
                str(dtype).removeprefix("torch."),
                f"+{shift:g}",
                name,
                ms(seconds),
                f"{seconds / reference:.2f}",
                fits[name][2],
                f"{loss:.8f}",
                f"{loss - losses['scikit-learn lbfgs'][0]:+.1e}",
                f"{objective - losses['scikit-learn lbfgs'][1]:+.1e}",
            ]
        )
    return rows


def bench_logistic(repeat: int, device: torch.device) -> None:
    print(
        f"\n## fit_logistic: N = {LOGISTIC_N}, d = {LOGISTIC_D}, C = {LOGISTIC_C:g} "
        "(l2 = 1/(C N)) (target: at most 0.5x scikit-learn's time, training loss within "
        "1e-5)\n"
    )
    rows = [
        row
        for dtype in (torch.float32, torch.float64)
        for shift in (0.0, 100.0)
        for row in logistic_case(dtype, shift, repeat, device)
    ]
    print(
        table(
            [
                "dtype",
                "shift",
                "method",
                "time",
                "time / sklearn",
                "Newton/lbfgs steps",
                "training loss",
                "loss - sklearn's",
                "objective - sklearn's",
            ],
            rows,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per method (default 15)")
    parser.add_argument("--device", default="cpu", help="device for the torch side")
    parser.add_argument(
        "--only", choices=["batches", "linear", "logistic"], help="run one table only"
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads for torch and for NumPy/SciPy's BLAS alike (default: their own)",
    )
    arguments = parser.parse_args()
    device = torch.device(arguments.device)
    if arguments.threads is not None:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        torch.set_num_threads(arguments.threads)
        threadpool_limits(arguments.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}")
    if arguments.only in (None, "batches"):
        bench_batches(arguments.repeat, device)
    if arguments.only in (None, "linear"):
        bench_linear(arguments.repeat, device)
    if arguments.only in (None, "logistic"):
        bench_logistic(arguments.repeat, device)


if __name__ == "__main__":
    main()
