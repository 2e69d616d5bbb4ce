"""What every benchmark here shares: pinned threads, a quiet machine, fair rounds, tables.

A benchmark compares tensorkit against the fastest baseline a user would otherwise pick,
side by side in one run. To make the ratios mean something:

* threads are pinned, for torch and for every BLAS and OpenMP pool (:func:`pin_threads`),
  and the count is printed with the results;
* before each round the machine's idle share is read from ``/proc/stat``
  (:func:`wait_until_quiet`); a busy machine is waited for, and reported if it stays busy;
* methods take turns in rounds, the second round in reverse order, so drift hits all
  alike, and both the median and the minimum are reported (:func:`time_methods`);
* a contender that uses its own BLAS (scikit-learn, NumPy) can run in a fresh process
  (:func:`in_fresh_process`): OpenBLAS threads keep spinning for a while after a call
  returns, and would slow whatever runs next in the same process.

Run a benchmark with ``.venv/bin/python benchmarks/<name>.py --help`` for its options.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

Result = TypeVar("Result")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tensorkit._table import format_table  # noqa: E402

#: The share of CPU time that must be idle, machine-wide, before a round starts.
QUIET_IDLE = 0.9
#: How long to wait for a quiet machine before measuring anyway, and saying so.
QUIET_PATIENCE_S = 30.0

_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def pin_threads(threads: int) -> str:
    """Use ``threads`` threads in torch and in every BLAS and OpenMP pool of this process.

    The environment variables reach pools not yet started and the fresh processes of
    :func:`in_fresh_process`; threadpoolctl limits pools already loaded (NumPy's
    OpenBLAS, scikit-learn's OpenMP).

    Returns:
        A line to print with the results, saying what was pinned.
    """
    for variable in _THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(threads)
    cores = os.cpu_count()
    return f"{threads} thread(s) for torch and BLAS, pinned ({cores} cores on this machine)"


def idle_share(interval: float = 0.5) -> float:
    """The share of CPU time, over all cores, spent idle during ``interval`` seconds."""

    def counters() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle and iowait
        return idle, sum(fields)

    idle_before, total_before = counters()
    time.sleep(interval)
    idle_after, total_after = counters()
    elapsed = total_after - total_before
    return (idle_after - idle_before) / elapsed if elapsed else 1.0


def wait_until_quiet(threshold: float = QUIET_IDLE, patience: float | None = None) -> float:
    """Wait until the machine is at least ``threshold`` idle, for up to ``patience`` s.

    ``patience`` defaults to :data:`QUIET_PATIENCE_S`, read at the call, so a script's
    ``--patience`` option can change it for every round.

    Returns:
        The last idle share read; below ``threshold`` when the machine stayed busy.
    """
    if not Path("/proc/stat").exists():
        return 1.0
    deadline = time.monotonic() + (QUIET_PATIENCE_S if patience is None else patience)
    share = idle_share()
    while share < threshold and time.monotonic() < deadline:
        share = idle_share()
    return share


@dataclass(frozen=True)
class Timing:
    """The seconds a method took, over every timed call."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def minimum(self) -> float:
        return min(self.times)


@dataclass
class LoadLog:
    """The idle share read before each round, to print with the results."""

    readings: list[float]

    def summary(self) -> str:
        if not self.readings:
            return "machine load not checked"
        busy = [share for share in self.readings if share < QUIET_IDLE]
        lowest = min(self.readings)
        verdict = (
            "quiet before every round"
            if not busy
            else f"BUSY before {len(busy)} of {len(self.readings)} rounds"
        )
        return f"machine {verdict} (idle share at least {lowest:.0%}, threshold {QUIET_IDLE:.0%})"


def time_methods(
    methods: Mapping[str, Callable[[], object]],
    *,
    repeat: int,
    synchronize: Callable[[], None] = lambda: None,
    load: LoadLog | None = None,
) -> dict[str, Timing]:
    """Time each method ``repeat`` times, in two rounds of turns, the second reversed.

    Turns are blocks of calls, not single calls, and each block starts with an untimed
    call, so the previous method's threads have gone quiet. The machine's load is read
    before each round.
    """
    for method in methods.values():  # warm-up: first calls pay for lazy initialisation
        method()
    times: dict[str, list[float]] = {name: [] for name in methods}
    order = list(methods)
    per_round = max(1, (repeat + 1) // 2)
    for names in (order, order[::-1]):
        share = wait_until_quiet()
        if load is not None:
            load.readings.append(share)
        for name in names:
            method = methods[name]
            method()
            for _ in range(per_round):
                synchronize()
                start = time.perf_counter()
                method()
                synchronize()
                times[name].append(time.perf_counter() - start)
    return {name: Timing(tuple(values)) for name, values in times.items()}


def in_fresh_process(function: Callable[..., Any], *args: Any, threads: int) -> Any:
    """Run ``function(*args)`` in a new Python process with ``threads`` threads pinned.

    ``function`` must be importable (defined at a module's top level) and return
    something picklable, such as a list of seconds.
    """
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=pin_threads, initargs=(threads,)
    ) as pool:
        return pool.submit(function, *args).result()


def ms(seconds: float) -> str:
    """Seconds as milliseconds, three significant digits, never in e-notation."""
    value = seconds * 1e3
    if value >= 100:
        return f"{value:.0f} ms"
    return f"{value:.3g} ms"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown-style table: left-aligned columns under a rule."""
    return format_table(header, rows, rule=True)


def recording(
    call: Callable[[], Result], store: dict[str, Result], seen: list[str], name: str
) -> Callable[[], None]:
    """``call`` with its result kept in ``store[name]`` and its warnings added to ``seen``.

    Warnings are recorded, one line each, so a benchmark shows them with its table
    instead of hiding them.
    """

    def run() -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            store[name] = call()
        for warning in caught:
            text = f"{warning.category.__name__}: {warning.message}".replace("\n", " ")
            if text not in seen:
                seen.append(text)

    return run


@dataclass
class Measured(Generic[Result]):
    """What timing one method gave: its seconds, its answer, its warnings."""

    times: list[float]
    parameters: Result
    warnings: list[str]


def merge_phases(found: Sequence[Measured[Result]]) -> Measured[Result]:
    """One method's measurements from several phases as one: every time, each warning
    once, and the last phase's answer."""
    seen: list[str] = []
    for measured in found:
        seen += [text for text in measured.warnings if text not in seen]
    times = [t for measured in found for t in measured.times]
    return Measured(times, found[-1].parameters, seen)


def footnote_marks(warnings: Sequence[str], notes: list[str]) -> str:
    """Add ``warnings`` to a table's ``notes``; return the marks for its row ("-" if none)."""
    marks = []
    for text in warnings:
        notes.append(text)
        marks.append(f"[{len(notes)}]")
    return " ".join(marks) or "-"


def section(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    load: LoadLog,
    calls: int,
    notes: Sequence[str],
) -> str:
    """One data set's results: its title, its table, the load and calls, the footnotes."""
    lines = [
        f"\n## {title}\n",
        table(header, rows),
        "",
        f"{load.summary()}; {calls} timed calls per method",
    ]
    lines += [f"[{index}] {text}" for index, text in enumerate(notes, start=1)]
    return "\n".join(lines)
