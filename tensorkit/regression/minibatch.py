"""Mini-batches of in-memory tensors, shuffled with one gather instead of one index at a time.

``DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)`` fetches every sample on
its own and stacks each batch back together: tens of Python calls per sample. When the
data already sit in two tensors, one shuffled copy of each (``index_select`` with a random
permutation) followed by ``split`` gives the same batches for a tiny fraction of the cost.
"""

from __future__ import annotations

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


class Batches:
    """The mini-batches of ``(X, y)``, re-shuffled each time they are iterated.

    Made by [`batches`][tensorkit.regression.batches]; iterate it once per epoch, like a
    ``DataLoader``. ``len()`` is the number of batches in one pass.
    """

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        generator: torch.Generator | None,
    ) -> None:
        self.X = X
        self.y = y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator

    def __len__(self) -> int:
        n = self.X.shape[0]
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        X, y = self.X, self.y
        n = X.shape[0]
        if self.shuffle:
            # Drawn on the CPU, so that a seed gives the same order on every device.
            order = torch.randperm(n, generator=self.generator, device="cpu").to(X.device)
            X = X.index_select(0, order)
            y = y.index_select(0, order)
        if self.drop_last:
            kept = n - n % self.batch_size
            X, y = X[:kept], y[:kept]
        return zip(torch.split(X, self.batch_size), torch.split(y, self.batch_size), strict=True)

    def __repr__(self) -> str:
        return (
            f"Batches({self.X.shape[0]} samples, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, {len(self)} batches)"
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

    It gives what ``DataLoader(TensorDataset(X, y), batch_size, shuffle=shuffle,
    drop_last=drop_last)`` gives for tensors in memory, many times faster: each pass
    shuffles with one gather of ``X`` and one of ``y``, then takes views of them.

    The arguments are checked when it is called, not when the first batch is drawn. The
    batches of a shuffled pass are views of that pass's shuffled copies; without
    shuffling they are views of ``X`` and ``y`` themselves, so changing a batch in place
    would change your data.

    Args:
        X: The inputs, a floating tensor of shape ``(samples, ...)``.
        y: The targets, any dtype, with as many samples as ``X`` and on its device.
        batch_size: Samples per batch, at least 1. The last batch may be smaller.
        shuffle: Whether each pass visits the samples in a new random order.
        drop_last: Leave out the last batch if it is smaller than ``batch_size``.
        generator: A CPU ``torch.Generator`` that draws the order; ``None`` uses the
            global one, seeded by ``torch.manual_seed``. Either way the order is the
            same on every device.

    Returns:
        The batches, as an iterable you can loop over once per epoch.

    Raises:
        TypeError: If ``X`` or ``y`` is not a tensor, ``X`` is not floating, or
            ``batch_size`` is not an int.
        ValueError: If ``X`` and ``y`` differ in length or device, the data are empty or
            hold NaN or infinite values, ``batch_size`` is below 1, ``drop_last`` would
            leave no batch, or ``generator`` is not a CPU generator.

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
    """
    function = "batches"
    X = check_samples(X, function)
    y = check_pair(X, y, function, floating=False)
    batch_size = check_positive_int("batch_size", batch_size, function)
    shuffle = check_bool("shuffle", shuffle, function)
    drop_last = check_bool("drop_last", drop_last, function)
    if generator is not None:
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
    if drop_last and X.shape[0] < batch_size:
        raise ValueError(
            f"{function}() with drop_last=True and batch_size={batch_size} leaves no batch "
            f"of {X.shape[0]} samples; use a batch_size of at most {X.shape[0]}"
        )
    check_finite("X", X, function)
    check_finite("y", y, function)
    return Batches(X, y, batch_size, shuffle, drop_last, generator)
