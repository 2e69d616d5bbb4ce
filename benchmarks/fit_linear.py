"""tensorkit.regression.fit_linear against like-for-like least-squares solvers, in one run.

Least squares with an intercept on ``--n`` x ``--d`` features (default 1 000 000 x 10),
in float32 and float64, with the features as drawn and shifted by +100, for:

* ``fit_linear``: ``fit_linear(X, y)``, one pass of blocked normal equations;
* ``torch normal equations``: the same done plainly in torch, on centred data:
  ``Xc = X - X.mean(0)``, then ``torch.linalg.solve(Xc.T @ Xc, Xc.T @ yc)``;
* ``torch lstsq gelsy``: ``torch.linalg.lstsq(Xc, yc, driver="gelsy")`` on centred data,
  the CPU default (QR with column pivoting);
* ``torch lstsq gelsd``: the same with ``driver="gelsd"`` (SVD, rank-revealing), what
  scikit-learn and NumPy use;
* ``sklearn Ridge cholesky``: ``Ridge(alpha=1e-10, solver="cholesky")``, scikit-learn's
  normal equations (it centres a copy of X first);
* ``sklearn LinearRegression``: scikit-learn's least squares (a centred copy of X, then
  SciPy's ``gelsd``), the accuracy baseline.

The coefficient error is ``max |w - w_exact| / max |w_exact|``, where ``w_exact`` is the
least-squares solution of the data as stored (in each dtype), computed in NumPy's
extended precision (``longdouble``, about 18 digits) on centred data; the bias error is
``|b - b_exact|``. It isolates rounding error: the data's noise (0.01) does not enter
it.

Timing (:mod:`timing`): threads are pinned and printed; the machine's idle share is read
before each round; both the median and the minimum are shown. scikit-learn runs in a
fresh process per contender (:func:`timing.in_fresh_process`), because its OpenBLAS
threads keep spinning after it returns and would slow whatever ran next. To share out
drift, every method is measured in two phases, the second in reverse order, each with its
own warm-up. Warnings that any method raised are shown under its table, not hidden.

The target: ``fit_linear`` at least 2x faster than the fastest baseline (by median and
by minimum), with a coefficient error no worse than scikit-learn's (or below 16 units of
float64's rounding, 3.6e-15, where errors cannot be ranked).

Run it with ``.venv/bin/python benchmarks/fit_linear.py`` (``--help`` for the options;
``--n 100000 --repeat 4`` for a quick run).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from timing import (
    LoadLog,
    Measured,
    Timing,
    footnote_marks,
    in_fresh_process,
    merge_phases,
    ms,
    pin_threads,
    recording,
    section,
    time_methods,
)

from tensorkit.regression import fit_linear

TARGET = "fit_linear at least 2x faster than the fastest baseline, error no worse than sklearn's"
SHIFTS = (0.0, 100.0)
DTYPES = ("float32", "float64")
NOISE = 0.01
#: Coefficient errors below this many units of float64's rounding count as equal.
ROUNDING_UNITS = 16
#: Rows per partial sum of the extended-precision reference.
EXACT_CHUNK = 1000
#: The methods run in this process; scikit-learn's each run in a fresh one.
TORCH_METHODS = (
    "fit_linear",
    "torch normal equations",
    "torch lstsq gelsy",
    "torch lstsq gelsd",
)
SKLEARN_METHODS = ("sklearn Ridge cholesky", "sklearn LinearRegression")

#: What a method returns: its weights and bias, in float64.
Parameters = tuple[np.ndarray, float]


@dataclass(frozen=True)
class Case:
    """One data set: sizes, dtype name and shift; the same data in every process."""

    n: int
    d: int
    dtype: str
    shift: float


def linear_data(case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``randn + shift`` and targets ``X @ w + 0.5 + noise``, seeded."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(case.d, generator=generator, dtype=torch.float64)
    features = torch.randn(case.n, case.d, generator=generator, dtype=torch.float64)
    noise = NOISE * torch.randn(case.n, generator=generator, dtype=torch.float64)
    target = features @ weight + 0.5 + noise
    dtype = getattr(torch, case.dtype)
    return (features + case.shift).to(dtype), (target + case.shift * weight.sum()).to(dtype)


def exact(X: torch.Tensor, y: torch.Tensor) -> Parameters:
    """The least-squares solution of the stored data, in extended precision.

    NumPy's ``longdouble`` (a 64-bit mantissa on x86) holds the centred data and their
    products, summed in chunks of ``EXACT_CHUNK`` rows and then pairwise, so that they
    keep about 18 digits; two steps of refinement then solve the normal equations to
    that precision. A float64 reference would share the float64 solvers' own rounding
    (scikit-learn's above all, whose method it would be), and could not rank them.
    """
    A, b = X.double().numpy().astype(np.longdouble), y.double().numpy().astype(np.longdouble)
    mean_x, mean_y = A.mean(axis=0), b.mean()
    A, b = A - mean_x, b - mean_y
    gram, cross = chunked_products(A, b)
    coarse = gram.astype(np.float64)
    weight = np.linalg.solve(coarse, cross.astype(np.float64)).astype(np.longdouble)
    for _ in range(2):
        residual = cross - gram @ weight
        weight = weight + np.linalg.solve(coarse, residual.astype(np.float64))
    return weight.astype(np.float64), float(mean_y - mean_x @ weight)


def chunked_products(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A.T @ A`` and ``A.T @ b``, summed ``EXACT_CHUNK`` rows at a time, then pairwise."""
    whole = len(A) - len(A) % EXACT_CHUNK
    blocks = A[:whole].reshape(-1, EXACT_CHUNK, A.shape[1])
    targets = b[:whole].reshape(-1, EXACT_CHUNK, 1)
    gram = np.matmul(blocks.transpose(0, 2, 1), blocks).sum(axis=0) + A[whole:].T @ A[whole:]
    cross = (
        np.matmul(blocks.transpose(0, 2, 1), targets).sum(axis=0)[:, 0] + A[whole:].T @ b[whole:]
    )
    return gram, cross


def torch_methods(X: torch.Tensor, y: torch.Tensor) -> dict[str, Callable[[], Parameters]]:
    """The contenders that run in torch, each returning float64 weights and bias."""

    def ours() -> Parameters:
        fit = fit_linear(X, y)
        return fit.weight.double().numpy(), float(fit.bias)

    def centred() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        mean_x, mean_y = X.mean(dim=0), y.mean()
        return X - mean_x, (y - mean_y)[:, None], mean_x, mean_y

    def finish(weight: torch.Tensor, mean_x: torch.Tensor, mean_y: torch.Tensor) -> Parameters:
        return weight.double().numpy(), float(mean_y - mean_x @ weight)

    def normal() -> Parameters:
        Xc, yc, mean_x, mean_y = centred()
        weight = torch.linalg.solve(Xc.mT @ Xc, Xc.mT @ yc)[:, 0]
        return finish(weight, mean_x, mean_y)

    def lstsq(driver: str) -> Parameters:
        Xc, yc, mean_x, mean_y = centred()
        weight = torch.linalg.lstsq(Xc, yc, driver=driver).solution[:, 0]
        return finish(weight, mean_x, mean_y)

    return {
        "fit_linear": ours,
        "torch normal equations": normal,
        "torch lstsq gelsy": lambda: lstsq("gelsy"),
        "torch lstsq gelsd": lambda: lstsq("gelsd"),
    }


def sklearn_fit(method: str, X: np.ndarray, y: np.ndarray) -> Parameters:
    """One scikit-learn fit, as its users write it."""
    from sklearn.linear_model import LinearRegression, Ridge  # type: ignore[import-untyped]

    if method == "sklearn Ridge cholesky":
        model = Ridge(alpha=1e-10, solver="cholesky").fit(X, y)
    else:
        model = LinearRegression().fit(X, y)
    return model.coef_.astype(np.float64), float(model.intercept_)


def time_sklearn(case: Case, method: str, repeat: int) -> tuple[Measured[Parameters], list[float]]:
    """Time one scikit-learn contender, run in a fresh process; also the load readings."""
    X, y = (tensor.numpy() for tensor in linear_data(case))
    store: dict[str, Parameters] = {}
    seen: list[str] = []
    load = LoadLog([])
    run = recording(lambda: sklearn_fit(method, X, y), store, seen, method)
    timing = time_methods({method: run}, repeat=repeat, load=load)[method]
    return Measured(list(timing.times), store[method], seen), load.readings


def time_torch(
    methods: dict[str, Callable[[], Parameters]], repeat: int, load: LoadLog
) -> dict[str, Measured[Parameters]]:
    """Time the torch contenders, in this process."""
    store: dict[str, Parameters] = {}
    seen: dict[str, list[str]] = {name: [] for name in methods}
    runs = {name: recording(method, store, seen[name], name) for name, method in methods.items()}
    times = time_methods(runs, repeat=repeat, load=load)
    return {name: Measured(list(times[name].times), store[name], seen[name]) for name in methods}


def measure(
    case: Case, repeat: int, threads: int
) -> tuple[dict[str, Measured[Parameters]], LoadLog]:
    """Every method on one data set, in two phases, the second in reverse order."""
    X, y = linear_data(case)
    methods = torch_methods(X, y)
    half = max(1, math.ceil(repeat / 2))  # per phase; time_methods splits it in two rounds
    order = ["torch", *SKLEARN_METHODS]
    parts: list[dict[str, Measured[Parameters]]] = []
    load = LoadLog([])
    for steps in (order, order[::-1]):
        for step in steps:
            if step == "torch":
                parts.append(time_torch(methods, half, load))
                continue
            measured, readings = in_fresh_process(time_sklearn, case, step, half, threads=threads)
            parts.append({step: measured})
            load.readings.extend(readings)
    return merge(parts, [*TORCH_METHODS, *SKLEARN_METHODS]), load


def merge(
    parts: list[dict[str, Measured[Parameters]]], names: list[str]
) -> dict[str, Measured[Parameters]]:
    """The phases' measurements of each method as one, in the order of ``names``."""
    return {name: merge_phases([part[name] for part in parts if name in part]) for name in names}


def report(
    case: Case, results: dict[str, Measured[Parameters]], load: LoadLog
) -> tuple[str, bool]:
    """The table for one data set, and whether fit_linear met the target."""
    X, y = linear_data(case)
    exact_weight, exact_bias = exact(X, y)
    scale = float(np.abs(exact_weight).max())
    timings = {name: Timing(tuple(measured.times)) for name, measured in results.items()}
    baselines = [name for name in results if name != "fit_linear"]
    fastest_median = min(timings[name].median for name in baselines)
    fastest_minimum = min(timings[name].minimum for name in baselines)
    errors = {
        name: float(np.abs(measured.parameters[0] - exact_weight).max()) / scale
        for name, measured in results.items()
    }
    rows: list[list[str]] = []
    notes: list[str] = []
    for name, measured in results.items():
        timing = timings[name]
        rows.append(
            [
                name,
                ms(timing.median),
                ms(timing.minimum),
                f"{fastest_median / timing.median:.2f}x",
                f"{fastest_minimum / timing.minimum:.2f}x",
                f"{errors[name]:.1e}",
                f"{abs(measured.parameters[1] - exact_bias):.1e}",
                footnote_marks(measured.warnings, notes),
            ]
        )
    ours = timings["fit_linear"]
    speed = min(fastest_median / ours.median, fastest_minimum / ours.minimum)
    sklearn_error = min(errors[name] for name in SKLEARN_METHODS)
    # Errors within a few units of float64's rounding, that of every solver's last
    # steps, cannot be ranked.
    floor = ROUNDING_UNITS * float(torch.finfo(torch.float64).eps)
    met = speed >= 2 and errors["fit_linear"] <= max(sklearn_error, floor)
    header = [
        "method",
        "median",
        "min",
        "speed vs fastest baseline (median)",
        "(min)",
        "coef error",
        "bias error",
        "warnings",
    ]
    title = (
        f"{case.dtype}, features shifted by +{case.shift:g}: "
        f"{'MET' if met else 'MISSED'} (fit_linear {speed:.2f}x the fastest baseline, "
        f"error {errors['fit_linear']:.1e} against scikit-learn's {sklearn_error:.1e}, "
        f"rounding floor {floor:.1e})"
    )
    return section(title, header, rows, load, len(ours.times), notes), met


def main() -> None:
    import sklearn  # type: ignore[import-untyped]

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="samples (default 1000000)")
    parser.add_argument("--d", type=int, default=10, help="features (default 10)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=12,
        help="timed calls per method, in 4 rounds (rounded up to a multiple of 4; default 12)",
    )
    parser.add_argument("--threads", type=int, default=2, help="threads to pin (default 2)")
    arguments = parser.parse_args()
    pinned = pin_threads(arguments.threads)
    print(
        f"torch {torch.__version__}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}; {pinned}\nleast squares with an intercept on "
        f"{arguments.n} x {arguments.d} features, noise {NOISE}; scikit-learn in a fresh "
        "process per contender"
    )
    verdicts = []
    for dtype in DTYPES:
        for shift in SHIFTS:
            case = Case(arguments.n, arguments.d, dtype, shift)
            text, met = report(case, *measure(case, arguments.repeat, arguments.threads))
            print(text, flush=True)
            verdicts.append((case, met))
    missed = [f"{case.dtype} +{case.shift:g}" for case, met in verdicts if not met]
    print(f"\ntarget ({TARGET}): " + ("met in every case" if not missed else f"MISSED: {missed}"))


if __name__ == "__main__":
    main()
