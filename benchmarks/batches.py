"""tensorkit.regression.batches against the ways a reader would otherwise shuffle tensors.

One shuffled epoch (every batch drawn, nothing else done with it) over ``--samples`` x
``--features`` float32 inputs and float32 targets, at each ``--batch-sizes``, for:

* ``batches``: ``batches(X, y, b)``, made once, one pass per epoch;
* ``DataLoader fast path``: ``DataLoader(ds, sampler=BatchSampler(RandomSampler(ds), b,
  False), batch_size=None)`` with ``ds = TensorDataset(X, y)``, which indexes the
  dataset once per batch, the fastest way a ``DataLoader`` serves tensors in memory;
* ``DataLoader shuffle=True``: ``DataLoader(TensorDataset(X, y), b, shuffle=True)``, the
  common way: one ``__getitem__`` per sample, then ``default_collate``;
* ``randperm loop``: ``perm = torch.randperm(n)``, then ``X[idx], y[idx]`` for each
  ``idx = perm[i:i + b]``, the four lines one would write by hand;
* ``one full copy``: one ``index_select`` of all of ``X`` and ``y`` per epoch, then
  ``split`` into views; what ``batches`` did before it gathered in chunks of
  ``CHUNK_BYTES``, kept here to show what the chunks cost and save. It is a design
  alternative, not one of the baselines of the target.

Every loader is made before the clock starts, as a training script makes it once. The
methods take turns in rounds (:func:`timing.time_methods`): threads are pinned and
printed, the machine's idle share is read before each round, and both the median and
the minimum are shown. The target: ``batches`` at least as fast as the fastest of the
three baselines (both ``DataLoader`` forms and the ``randperm`` loop), by median and by
minimum, at every batch size.

Memory is the peak extra memory of one epoch, measured for each method in a fresh
process (so that no other method's freed memory is reused): on the CPU, the process's
peak resident set (``VmHWM`` in ``/proc/self/status``, reset through
``/proc/self/clear_refs`` just before the epoch) minus its resident set at that moment,
after a warm-up epoch whose freed memory has been handed back (``malloc_trim``); on a
GPU, ``torch.cuda.max_memory_allocated`` over the epoch minus the memory allocated before
it. Both count every allocation of the epoch (tensors, index lists, Python objects on
the CPU), with the batch in hand released before the next is drawn, as a training loop
does. The data themselves are not counted.

Run it with ``.venv/bin/python benchmarks/batches.py`` (``--help`` for the options).
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import gc
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch
from timing import LoadLog, in_fresh_process, ms, pin_threads, table, time_methods

#: A pair of batch tensors, as every method yields them.
Pair = tuple[torch.Tensor, torch.Tensor]
TARGET = "batches at least as fast as the fastest baseline, by median and by minimum"
#: The methods batches must beat; "one full copy" is a design it was measured against.
BASELINES = ("DataLoader fast path", "DataLoader shuffle=True", "randperm loop")


class RandpermLoop:
    """The hand-written loop: a permutation per epoch, one fancy index per batch."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int) -> None:
        self.X, self.y, self.batch_size = X, y, batch_size

    def __iter__(self) -> Iterator[Pair]:
        n, b = len(self.X), self.batch_size
        perm = torch.randperm(n).to(self.X.device)
        for i in range(0, n, b):
            idx = perm[i : i + b]
            yield self.X[idx], self.y[idx]


class FullCopy:
    """One shuffled copy of all of X and y per epoch, then views: batches before."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int) -> None:
        self.X, self.y, self.batch_size = X, y, batch_size

    def __iter__(self) -> Iterator[Pair]:
        order = torch.randperm(len(self.X)).to(self.X.device)
        X, y = self.X.index_select(0, order), self.y.index_select(0, order)
        return zip(torch.split(X, self.batch_size), torch.split(y, self.batch_size), strict=True)


def loaders(X: torch.Tensor, y: torch.Tensor, batch_size: int) -> dict[str, Iterable[Pair]]:
    """Each method's loader, made once, to be iterated once per epoch."""
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    from tensorkit.regression import batches

    dataset = TensorDataset(X, y)
    sampler = BatchSampler(RandomSampler(dataset), batch_size, drop_last=False)
    return {
        "batches": batches(X, y, batch_size),
        "DataLoader fast path": DataLoader(dataset, sampler=sampler, batch_size=None),
        "DataLoader shuffle=True": DataLoader(dataset, batch_size, shuffle=True),
        "randperm loop": RandpermLoop(X, y, batch_size),
        "one full copy": FullCopy(X, y, batch_size),
    }


def data(samples: int, features: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(samples, features, generator=generator)
    y = torch.randn(samples, generator=generator)
    return X.to(device), y.to(device)


def epoch(loader: Iterable[Pair]) -> int:
    """Draw every batch of one epoch; the count keeps the loop from being optimised out."""
    count = 0
    for inputs, _ in loader:
        count += len(inputs)
    return count


# --- Memory ----------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text(encoding="ascii")
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    if found is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(found.group(1))


def epoch_memory(name: str, samples: int, features: int, batch_size: int, device: str) -> int:
    """Peak extra bytes of one epoch of method ``name``; run it in a fresh process."""
    X, y = data(samples, features, device)
    loader = loaders(X, y, batch_size)[name]
    epoch(loader)  # warm-up: lazy initialisation is not the epoch's memory
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        epoch(loader)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed heap pages back to the system
    Path("/proc/self/clear_refs").write_text("5", encoding="ascii")  # reset VmHWM
    before = _status_kib("VmRSS")
    epoch(loader)
    return (_status_kib("VmHWM") - before) * 1024


def mib(size: int) -> str:
    return f"{size / 2**20:.2f} MiB"


# --- The tables ------------------------------------------------------------------------


def compare(
    samples: int, features: int, batch_size: int, repeat: int, device: str, threads: int
) -> tuple[str, bool]:
    """The table for one batch size, and whether batches met the target."""
    X, y = data(samples, features, device)
    made = loaders(X, y, batch_size)

    def synchronize() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    load = LoadLog([])
    times = time_methods(
        {name: functools.partial(epoch, loader) for name, loader in made.items()},
        repeat=repeat,
        synchronize=synchronize,
        load=load,
    )
    memory = {
        name: in_fresh_process(
            epoch_memory, name, samples, features, batch_size, device, threads=threads
        )
        for name in made
    }
    ours = times["batches"]
    rows = [
        [
            name,
            ms(timing.median),
            ms(timing.minimum),
            f"{samples / timing.minimum / 1e6:.1f} M",
            f"{timing.median / ours.median:.2f}",
            f"{timing.minimum / ours.minimum:.2f}",
            mib(memory[name]),
        ]
        for name, timing in times.items()
    ]
    others = [times[name] for name in BASELINES]
    met = ours.median <= min(t.median for t in others) and ours.minimum <= min(
        t.minimum for t in others
    )
    header = [
        "method",
        "median",
        "min",
        "samples/s (min)",
        "median / batches'",
        "min / batches'",
        "peak memory",
    ]
    verdict = "MET" if met else "MISSED"
    text = (
        f"\n## batch {batch_size}: {verdict} ({TARGET})\n\n{table(header, rows)}\n\n"
        f"{load.summary()}; {repeat} epochs per method"
    )
    return text, met


def main() -> None:
    from tensorkit.regression import minibatch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=100_000, help="rows (default 100000)")
    parser.add_argument("--features", type=int, default=10, help="columns (default 10)")
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", default=[64, 1024], help="default: 64 1024"
    )
    parser.add_argument("--repeat", type=int, default=10, help="epochs per method (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="threads to pin (default 2)")
    parser.add_argument("--device", default="cpu", help="where X and y live (default cpu)")
    arguments = parser.parse_args()
    pinned = pin_threads(arguments.threads)
    data_bytes = arguments.samples * (arguments.features + 1) * 4
    print(
        f"torch {torch.__version__}; {pinned}; device {arguments.device}\n"
        f"one shuffled epoch over {arguments.samples} x {arguments.features} float32 "
        f"inputs and {arguments.samples} float32 targets ({mib(data_bytes)} of data); peak "
        "memory: the epoch's extra memory, in a fresh process per method "
        + ("(CUDA allocator peak)" if arguments.device.startswith("cuda") else "(VmHWM)")
        + f"; batches gathers chunks of about {mib(minibatch.CHUNK_BYTES)}"
    )
    results = [
        compare(
            arguments.samples,
            arguments.features,
            batch_size,
            arguments.repeat,
            arguments.device,
            arguments.threads,
        )
        for batch_size in arguments.batch_sizes
    ]
    for text, _ in results:
        print(text)
    missed = [b for (_, met), b in zip(results, arguments.batch_sizes, strict=True) if not met]
    print(
        f"\ntarget ({TARGET}): "
        + ("met at every batch size" if not missed else f"MISSED at batch {missed}")
    )


if __name__ == "__main__":
    main()
