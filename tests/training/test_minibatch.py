"""tensorkit.regression.minibatch: every sample once per pass, in pairs, reshuffled."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

from tensorkit.regression import Batches, batches


def numbered(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs whose rows say which sample they are, and labels equal to that number."""
    X = torch.arange(n, dtype=torch.float32)[:, None].repeat(1, 3)
    return X, torch.arange(n)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 120),
    batch_size=st.integers(1, 40),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_each_pass_gives_each_sample_once_and_keeps_pairs(
    n: int, batch_size: int, shuffle: bool, drop_last: bool, seed: int
) -> None:
    X, y = numbered(n)
    if drop_last and n < batch_size:
        with pytest.raises(ValueError, match="leaves no batch"):
            batches(X, y, batch_size, shuffle, drop_last=drop_last)
        return
    loader = batches(
        X,
        y,
        batch_size,
        shuffle,
        drop_last=drop_last,
        generator=torch.Generator().manual_seed(seed),
    )
    for _ in range(2):  # a second pass works as the first does
        pairs = list(loader)
        assert len(pairs) == len(loader)
        sizes = [len(yb) for _, yb in pairs]
        assert all(size == batch_size for size in sizes[:-1])
        assert 1 <= sizes[-1] <= batch_size
        seen = torch.cat([yb for _, yb in pairs])
        expected = n - n % batch_size if drop_last else n
        assert len(seen) == expected and len(set(seen.tolist())) == expected
        if not shuffle:
            assert seen.tolist() == list(range(expected))
        for xb, yb in pairs:
            assert torch.equal(xb[:, 0].long(), yb) and xb.shape[1:] == (3,)


def test_len_matches_dataloader() -> None:
    X, y = numbered(103)
    for batch_size in (1, 10, 103, 200):
        for drop_last in (False, True):
            if drop_last and batch_size > 103:
                continue
            ours = batches(X, y, batch_size, drop_last=drop_last)
            theirs = DataLoader(TensorDataset(X, y), batch_size=batch_size, drop_last=drop_last)
            assert len(ours) == len(theirs)


def test_every_pass_is_a_new_order() -> None:
    X, y = numbered(100)
    loader = batches(X, y, 100, generator=torch.Generator().manual_seed(0))
    (_, first), (_, second) = next(iter(loader)), next(iter(loader))
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(100))
    assert not torch.equal(first, second)


def test_the_order_follows_the_global_seed_without_a_generator() -> None:
    X, y = numbered(50)
    torch.manual_seed(7)
    first = [yb.tolist() for _, yb in batches(X, y, 8)]
    torch.manual_seed(7)
    again = [yb.tolist() for _, yb in batches(X, y, 8)]
    assert first == again


def test_same_generator_seed_same_order() -> None:
    X, y = numbered(50)
    orders = [
        [yb.tolist() for _, yb in batches(X, y, 8, generator=torch.Generator().manual_seed(3))]
        for _ in range(2)
    ]
    assert orders[0] == orders[1]


def test_inputs_are_not_modified() -> None:
    X, y = numbered(40)
    X_before, y_before = X.clone(), y.clone()
    for _ in batches(X, y, 7):
        pass
    assert torch.equal(X, X_before) and torch.equal(y, y_before)


def test_unshuffled_batches_are_views_of_the_data() -> None:
    X, y = numbered(10)
    xb, _ = next(iter(batches(X, y, 4, shuffle=False)))
    assert xb.data_ptr() == X.data_ptr()
    shuffled, _ = next(iter(batches(X, y, 4)))
    assert shuffled.untyped_storage().data_ptr() != X.untyped_storage().data_ptr()


def test_inputs_of_any_rank_and_integer_labels() -> None:
    images = torch.rand(12, 1, 4, 4)
    labels = torch.randint(0, 10, (12,))
    shapes = [(xb.shape, yb.shape) for xb, yb in batches(images, labels, 5)]
    assert shapes == [((5, 1, 4, 4), (5,)), ((5, 1, 4, 4), (5,)), ((2, 1, 4, 4), (2,))]
    assert [len(xb) for xb, _ in batches(torch.rand(7), torch.rand(7), 3)] == [3, 3, 1]


def test_repr_says_what_it_holds() -> None:
    loader = batches(*numbered(10), batch_size=4)
    assert isinstance(loader, Batches)
    assert repr(loader) == (
        "Batches(10 samples, batch_size=4, shuffle=True, drop_last=False, 3 batches)"
    )


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "error", "message"),
    [
        ([[1.0]], torch.ones(1), {}, TypeError, "'X' must be a torch.Tensor, got list"),
        (
            torch.ones(4, 2, dtype=torch.int64),
            torch.ones(4),
            {},
            TypeError,
            "'X' must be a floating tensor, got dtype torch.int64",
        ),
        (torch.tensor(1.0), torch.ones(1), {}, ValueError, "0-d tensor"),
        (torch.ones(0, 2), torch.ones(0), {}, ValueError, "'X' has no samples"),
        (torch.ones(4, 2), torch.ones(3), {}, ValueError, "X has 4, y has 3 samples"),
        (torch.ones(4, 2), [1, 2, 3, 4], {}, TypeError, "'y' must be a torch.Tensor"),
        (torch.ones(4, 2), torch.ones(4, device="meta"), {}, ValueError, "same device"),
        (
            torch.ones(4, 2),
            torch.ones(4),
            {"batch_size": 0},
            ValueError,
            "'batch_size' must be at least 1, got 0",
        ),
        (
            torch.ones(4, 2),
            torch.ones(4),
            {"batch_size": -3},
            ValueError,
            "'batch_size' must be at least 1, got -3",
        ),
        (
            torch.ones(4, 2),
            torch.ones(4),
            {"batch_size": 2.0},
            TypeError,
            "'batch_size' must be an int",
        ),
        (
            torch.ones(4, 2),
            torch.ones(4),
            {"shuffle": 1},
            TypeError,
            "'shuffle' must be True or False",
        ),
        (
            torch.ones(4, 2),
            torch.ones(4),
            {"drop_last": None},
            TypeError,
            "'drop_last' must be True or False",
        ),
        (
            torch.ones(4, 2),
            torch.ones(4),
            {"batch_size": 5, "drop_last": True},
            ValueError,
            "leaves no batch of 4 samples",
        ),
        (
            torch.ones(4, 2),
            torch.ones(4),
            {"generator": 0},
            TypeError,
            "'generator' must be a torch.Generator",
        ),
        (
            torch.tensor([[1.0], [float("nan")]]),
            torch.ones(2),
            {},
            ValueError,
            r"'X' holds NaN or infinite values, the first at index \(1, 0\)",
        ),
        (
            torch.ones(2, 1),
            torch.tensor([0.0, float("inf")]),
            {},
            ValueError,
            "'y' holds NaN or infinite values, the first at index 1",
        ),
    ],
)
def test_bad_input(
    X: object, y: object, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {"batch_size": 2, **kwargs}
    keep = [t.clone() for t in (X, y) if isinstance(t, torch.Tensor) and t.device.type == "cpu"]
    with pytest.raises(error, match=rf"batches\(\) .*{message}"):
        batches(X, y, **arguments)  # type: ignore[arg-type]
    after = [t for t in (X, y) if isinstance(t, torch.Tensor) and t.device.type == "cpu"]
    for before, now in zip(keep, after, strict=True):  # nothing was changed in place
        torch.testing.assert_close(now, before, rtol=0, atol=0, equal_nan=True)
