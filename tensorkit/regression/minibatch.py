"""Mini-batches of in-memory tensors, shuffled with a few large gathers per pass.

``DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)`` fetches every sample on
its own and stacks each batch back together: tens of Python calls per sample. Even its
fast path for tensors (a ``BatchSampler`` with ``batch_size=None``) and a hand-written
``X[perm[i:i + b]]`` loop pay one indexing call per batch. When the data already sit in
two tensors, one random permutation per pass, a gather of a whole chunk of it at a time
(``index_select``) and ``split`` into views give the same batches for a fraction of the
cost. ``benchmarks/batches.py`` measures all four side by side.

Why chunks, not one shuffled copy of everything: a full copy doubles the data's memory
for the whole pass (and on a GPU whose memory the data nearly fill, it does not fit),
while chunks of about :data:`CHUNK_BYTES` cost that much beside the data and are about as
fast: a chunk holds many batches, so the calls per chunk are few.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch

from tensorkit._checks import (
    check_bool,
    check_finite,
    check_pair,
    check_positive_int,
    check_samples,
    describe_value,
)

#: About how many bytes of ``X`` and ``y`` together one gather copies: whole batches,
#: at least one. A pass needs at most two chunks beside the data (the one being gathered
#: and the one the batch in hand is a view of), plus its permutation.
CHUNK_BYTES = 2**20


def _draws_from(generator: object, function: str) -> torch.Generator | None:
    if generator is None:
        return None
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{function}() argument 'generator' must be a torch.Generator or None, got "
            f"{describe_value(generator)}"
        )
    if generator.device.type != "cpu":
        raise ValueError(
            f"{function}() argument 'generator' must be a CPU generator, got one on "
            f"{generator.device}: the order is drawn on the CPU so that it is the same "
            "on every device"
        )
    return generator


def _row_bytes(tensor: torch.Tensor) -> int:
    """The bytes one sample of ``tensor`` takes."""
    return tensor[0].numel() * tensor.element_size()


class Batches:
    """The mini-batches of ``(X, y)``, in a new random order each time they are iterated.

    [`batches`][tensorkit.regression.batches] makes one and documents the order, the
    memory and the checks; the constructor takes the same arguments and checks them
    the same way. Iterate it once per epoch, like a ``DataLoader``; ``len()`` is the
    number of batches in one pass. The arguments are read-only attributes.

    Args:
        X: The inputs: a real tensor (floating, integer or bool) of shape
            ``(samples, ...)``.
        y: The targets, any dtype, with as many samples as ``X`` and on its device.
        batch_size: Samples per batch, from 1 to ``2**63 - 1``.
        shuffle: Whether each pass visits the samples in a new random order.
        drop_last: Leave out the last batch if it is smaller than ``batch_size``.
        generator: A CPU ``torch.Generator`` that draws the order, or ``None`` for the
            global one.

    Raises:
        TypeError: If ``X`` or ``y`` is not a tensor, ``X`` is complex, ``batch_size``
            is not an int, a flag is not a bool, or ``generator`` is not a generator.
        ValueError: If ``X`` has no samples, ``X`` and ``y`` differ in length or
            device, a floating ``X`` or ``y`` holds NaN or infinite values,
            ``batch_size`` is out of range, ``drop_last`` would leave no batch, or
            ``generator`` is not on the CPU.

    Examples:
        >>> import torch
        >>> from tensorkit.regression import Batches
        >>> loader = Batches(torch.zeros(10, 3), torch.arange(10), 4, shuffle=False)
        >>> loader
        Batches(10 samples, batch_size=4, shuffle=False, drop_last=False, 3 batches)
        >>> [yb.tolist() for _, yb in loader]
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
        >>> Batches(torch.zeros(10, 3), torch.arange(10), 0)
        Traceback (most recent call last):
        ...
        ValueError: Batches() argument 'batch_size' must be at least 1, got 0
    """

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool = True,
        *,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        self._set("Batches", X, y, batch_size, shuffle, drop_last, generator)

    def _set(
        self,
        function: str,
        X: object,
        y: object,
        batch_size: object,
        shuffle: object,
        drop_last: object,
        generator: object,
    ) -> None:
        """Check the arguments in ``function``'s name, then keep them."""
        X = check_samples(X, function)
        y = check_pair(X, y, function, floating=False)
        self._batch_size = check_positive_int("batch_size", batch_size, function)
        self._shuffle = check_bool("shuffle", shuffle, function)
        self._drop_last = check_bool("drop_last", drop_last, function)
        self._generator = _draws_from(generator, function)
        n = X.shape[0]
        if self._drop_last and n < self._batch_size:
            raise ValueError(
                f"{function}() with drop_last=True and batch_size={self._batch_size} "
                f"leaves no batch of {n} samples; use a batch_size of at most {n}"
            )
        check_finite("X", X, function)  # integer and bool tensors pass without a look
        check_finite("y", y, function)
        self._X, self._y = X, y

    @property
    def X(self) -> torch.Tensor:
        """The inputs, as given (not a copy)."""
        return self._X

    @property
    def y(self) -> torch.Tensor:
        """The targets, as given (not a copy)."""
        return self._y

    @property
    def batch_size(self) -> int:
        """Samples per batch; the last batch of a pass may have fewer."""
        return self._batch_size

    @property
    def shuffle(self) -> bool:
        """Whether each pass draws a new order."""
        return self._shuffle

    @property
    def drop_last(self) -> bool:
        """Whether a last batch smaller than ``batch_size`` is left out."""
        return self._drop_last

    @property
    def generator(self) -> torch.Generator | None:
        """The CPU generator that draws the order; ``None`` means the global one."""
        return self._generator

    def __len__(self) -> int:
        n = self._X.shape[0]
        if self._drop_last:
            return n // self._batch_size
        return -(-n // self._batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = self._X.shape[0]
        kept = n - n % self._batch_size if self._drop_last else n
        order = None
        if self._shuffle:
            # Drawn now, when the pass starts, and on the CPU, so that a seed gives the
            # same order on every device; the whole permutation moves to the data once.
            order = torch.randperm(n, generator=self._generator, device="cpu")
            order = order.to(self._X.device)
        rows = self._chunk_rows()
        chunks = (
            self._chunk(order, start, min(start + rows, kept)) for start in range(0, kept, rows)
        )
        # Chunks are gathered one at a time, when the previous one has run out; the
        # batches of a chunk are views of it.
        return itertools.chain.from_iterable(chunks)

    def _chunk_rows(self) -> int:
        """Rows per gather: as many whole batches as fit in CHUNK_BYTES, at least one."""
        row_bytes = max(1, _row_bytes(self._X) + _row_bytes(self._y))
        return self._batch_size * max(1, CHUNK_BYTES // (self._batch_size * row_bytes))

    def _chunk(
        self, order: torch.Tensor | None, start: int, stop: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of rows ``start:stop`` of the pass, as views of a fresh copy.

        A copy even without shuffling, so that changing a batch in place never changes
        ``X`` or ``y``, as with a ``DataLoader``.
        """
        if order is None:
            X = self._X[start:stop].clone(memory_format=torch.contiguous_format)
            y = self._y[start:stop].clone(memory_format=torch.contiguous_format)
        else:
            index = order[start:stop]
            X, y = self._X.index_select(0, index), self._y.index_select(0, index)
        size = self._batch_size
        return zip(torch.split(X, size), torch.split(y, size), strict=True)

    def __repr__(self) -> str:
        return (
            f"Batches({self._X.shape[0]} samples, batch_size={self._batch_size}, "
            f"shuffle={self._shuffle}, drop_last={self._drop_last}, {len(self)} batches)"
        )


def batches(
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    shuffle: bool = True,
    *,
    drop_last: bool = False,
    generator: torch.Generator | None = None,
) -> Batches:
    """Split ``(X, y)`` into mini-batches, in a new random order on every pass.

    It gives the batches ``DataLoader(TensorDataset(X, y), batch_size, shuffle=shuffle,
    drop_last=drop_last)`` gives for tensors in memory: the same number, the same sizes
    (the last one smaller unless ``drop_last``), every sample once per pass, ``X`` and
    ``y`` rows kept in pairs, many times faster. Each pass draws one permutation and
    gathers about a mebibyte of shuffled rows at a time (``minibatch.CHUNK_BYTES``); the
    batches are views of that chunk.

    **Order.** The order is ``torch.randperm(len(X), generator=generator)``, drawn
    when a pass starts: the same seed gives the same passes, on every device. It is not
    the order a ``DataLoader`` gives for the same seed: each ``DataLoader`` pass first
    draws a base seed for its workers (one ``int64``) from the same generator, and only
    then the permutation. So ``batches`` with a generator ``g`` that made that one draw
    first (``torch.empty((), dtype=torch.int64).random_(generator=g)``) gives the
    ``DataLoader``'s first pass; later passes differ further, because the
    ``DataLoader``'s sampler also draws a permutation it does not use at the end of each
    pass. Without a generator they differ too: the ``DataLoader`` takes two draws from
    the global generator, the second seeding a new one for the permutation, while
    ``batches`` draws the permutation from the global generator itself.

    **Memory.** The batches never share memory with ``X`` or ``y``, shuffled or not:
    changing a batch in place leaves your data alone, as with a ``DataLoader``. A pass
    needs, beside the data, at most two chunks (about 2 MiB, or two batches if a batch
    is larger) and the permutation (8 bytes a sample), not a second copy of the data.
    Holding on to a batch keeps its whole chunk alive.

    **Checks.** The arguments are checked when it is called, not when the first batch
    is drawn; a NaN written into ``X`` later is not noticed. ``X`` and ``y`` are held,
    not copied, so later changes to them show in later passes.

    Args:
        X: The inputs: a real tensor (floating, integer or bool, such as token ids or
            ``uint8`` images) of shape ``(samples, ...)``.
        y: The targets, any dtype, with as many samples as ``X`` and on its device.
        batch_size: Samples per batch, from 1 to ``2**63 - 1``. The last batch may be
            smaller.
        shuffle: Whether each pass visits the samples in a new random order.
        drop_last: Leave out the last batch if it is smaller than ``batch_size``.
        generator: A CPU ``torch.Generator`` that draws the order; ``None`` uses the
            global one, seeded by ``torch.manual_seed``. Either way the order is the
            same on every device.

    Returns:
        The batches, as an iterable you can loop over once per epoch.

    Raises:
        TypeError: If ``X`` or ``y`` is not a tensor, ``X`` is complex, ``batch_size``
            is not an int, ``shuffle`` or ``drop_last`` is not a bool, or
            ``generator`` is not a ``torch.Generator``.
        ValueError: If ``X`` has no samples or is 0-d, ``X`` and ``y`` differ in length
            or device, a floating ``X`` or ``y`` holds NaN or infinite values,
            ``batch_size`` is below 1 or above ``2**63 - 1``, ``drop_last`` would leave
            no batch, or ``generator`` is not a CPU generator.

    Examples:
        >>> import torch
        >>> from tensorkit.regression import batches
        >>> X = torch.arange(10.0).reshape(5, 2)
        >>> y = torch.arange(5)
        >>> loader = batches(X, y, batch_size=2, shuffle=False)
        >>> len(loader)
        3
        >>> [yb.tolist() for _, yb in loader]
        [[0, 1], [2, 3], [4]]
        >>> _ = torch.manual_seed(0)
        >>> [yb.tolist() for _, yb in batches(X, y, 2, drop_last=True)]
        [[4, 0], [1, 3]]

        Token ids batch as well as floats:

        >>> tokens = torch.randint(0, 1000, (6, 8))
        >>> [tuple(xb.shape) for xb, _ in batches(tokens, torch.zeros(6), 4)]
        [(4, 8), (2, 8)]
    """
    loader = Batches.__new__(Batches)
    loader._set("batches", X, y, batch_size, shuffle, drop_last, generator)
    return loader
