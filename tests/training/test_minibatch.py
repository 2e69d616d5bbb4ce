"""tensorkit.regression.minibatch: every sample once per pass, in pairs, reshuffled."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

from tensorkit.regression import Batches, batches, minibatch


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


@pytest.mark.parametrize("shuffle", [True, False])
def test_changing_a_batch_in_place_leaves_the_data_alone(shuffle: bool) -> None:
    X, y = numbered(10)
    X_before, y_before = X.clone(), y.clone()
    for xb, yb in batches(X, y, 4, shuffle):
        assert not xb.untyped_storage().data_ptr() == X.untyped_storage().data_ptr()
        xb += 1
        yb += 1
    assert torch.equal(X, X_before) and torch.equal(y, y_before)


def test_the_in_place_test_sees_shared_memory() -> None:
    """The test above would catch views: a view of X, changed in place, changes X."""
    X, _ = numbered(10)
    view = torch.split(X, 4)[0]
    view += 1
    assert X[0, 0] == 1


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
            torch.ones(4, 2, dtype=torch.complex64),
            torch.ones(4),
            {},
            TypeError,
            r"'X' must be a real tensor \(floating, integer or bool\), got dtype "
            r"torch.complex64; .*torch.view_as_real\(X\)",
        ),
        (
            torch.ones(4, 2),
            torch.ones(4),
            {"batch_size": 2**63},
            ValueError,
            r"'batch_size' must be at most 2\*\*63 - 1, got 9223372036854775808",
        ),
        (torch.ones(4, 2, device="meta"), torch.ones(4), {}, ValueError, "meta device"),
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
@pytest.mark.parametrize("make", [batches, Batches], ids=["batches", "Batches"])
def test_bad_input(
    make: type[Batches],
    X: object,
    y: object,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    """The function and the public constructor check alike, each in its own name."""
    arguments: dict[str, object] = {"batch_size": 2, **kwargs}
    keep = [t.clone() for t in (X, y) if isinstance(t, torch.Tensor) and t.device.type == "cpu"]
    with pytest.raises(error, match=rf"^{make.__name__}\(\) .*{message}"):
        make(X, y, **arguments)  # type: ignore[arg-type]
    after = [t for t in (X, y) if isinstance(t, torch.Tensor) and t.device.type == "cpu"]
    for before, now in zip(keep, after, strict=True):  # nothing was changed in place
        torch.testing.assert_close(now, before, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((None, None, 3), TypeError, r"^Batches\(\) argument 'X' must be a torch.Tensor"),
        ((torch.ones(3), torch.ones(3), 0), ValueError, "'batch_size' must be at least 1"),
        ((torch.ones(3), torch.ones(2), 1), ValueError, "X has 3, y has 2 samples"),
    ],
)
def test_the_constructor_s_old_internal_errors_are_argument_errors(
    arguments: tuple[object, ...], error: type[Exception], message: str
) -> None:
    """These gave AttributeError, ZeroDivisionError in len() and a zip ValueError."""
    with pytest.raises(error, match=message):
        Batches(*arguments)  # type: ignore[arg-type]


def test_the_arguments_are_read_only() -> None:
    loader = batches(*numbered(10), batch_size=4)
    assert (loader.batch_size, loader.shuffle, loader.drop_last) == (4, True, False)
    with pytest.raises(AttributeError):
        loader.batch_size = 0  # type: ignore[misc]
    assert len(loader) == 3


@pytest.mark.parametrize(
    "X",
    [
        torch.randint(0, 1000, (11, 5)),  # token ids
        torch.randint(0, 256, (11, 1, 4, 4), dtype=torch.uint8),  # images
        torch.rand(11, 3) > 0.5,  # masks
    ],
    ids=["int64", "uint8", "bool"],
)
def test_integer_and_bool_inputs_batch_like_floats(X: torch.Tensor) -> None:
    y = torch.arange(11)
    seen = []
    for xb, yb in batches(X, y, 4, generator=torch.Generator().manual_seed(0)):
        assert xb.dtype == X.dtype and xb.shape[1:] == X.shape[1:]
        assert torch.equal(xb, X[yb])  # rows stay paired with their labels
        seen += yb.tolist()
    assert sorted(seen) == list(range(11))


def test_targets_of_any_dtype_and_nan_checked_only_in_floats() -> None:
    X = torch.randint(0, 9, (6, 2))
    for y in (torch.ones(6, dtype=torch.complex64), torch.ones(6, dtype=torch.bool)):
        assert len(list(batches(X, y, 4))) == 2
    with pytest.raises(ValueError, match="'y' holds NaN or infinite values, the first at index 2"):
        batches(X, torch.tensor([0.0, 1.0, float("nan"), 0.0, 0.0, 0.0]), 4)


def test_samples_without_features_are_samples() -> None:
    """X of shape (10, 0) has 10 samples of no feature: it batches, as a DataLoader does."""
    X = torch.ones(10, 0)
    shapes = [tuple(xb.shape) for xb, _ in batches(X, torch.arange(10), 4)]
    assert shapes == [(4, 0), (4, 0), (2, 0)]


def test_the_largest_batch_size_is_one_batch() -> None:
    loader = batches(*numbered(10), batch_size=2**63 - 1)
    assert len(loader) == 1
    assert [len(yb) for _, yb in loader] == [10]
    with pytest.raises(ValueError, match="drop_last=True and batch_size=9223372036854775807"):
        batches(*numbered(10), batch_size=2**63 - 1, drop_last=True)


@pytest.mark.parametrize("chunk_bytes", [1, 100, 1000, 2**20])
@pytest.mark.parametrize("drop_last", [False, True])
def test_the_order_is_randperm_whatever_the_chunk_size(
    chunk_bytes: int, drop_last: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The docstring's claim: the order is torch.randperm(len(X), generator=generator)."""
    monkeypatch.setattr(minibatch, "CHUNK_BYTES", chunk_bytes)
    X, y = numbered(53)
    loader = batches(X, y, 5, drop_last=drop_last, generator=torch.Generator().manual_seed(4))
    reference = torch.Generator().manual_seed(4)
    for _ in range(2):
        order = torch.randperm(53, generator=reference)
        kept = 50 if drop_last else 53
        expected = [part.tolist() for part in torch.split(order[:kept], 5)]
        assert [yb.tolist() for _, yb in loader] == expected


def test_a_pass_holds_a_chunk_not_a_copy_of_the_data() -> None:
    X, y = torch.randn(20_000, 32), torch.randn(20_000)  # about 2.6 MB
    assert X.nbytes + y.nbytes > 2 * minibatch.CHUNK_BYTES
    for shuffle in (True, False):
        for xb, _ in batches(X, y, 100, shuffle):
            assert xb.untyped_storage().nbytes() <= minibatch.CHUNK_BYTES


def test_the_memory_test_sees_a_full_copy() -> None:
    """The test above would catch one shuffled copy of X per pass, as batches once made."""
    X = torch.randn(20_000, 32)
    copy = X.index_select(0, torch.randperm(20_000))
    assert torch.split(copy, 100)[0].untyped_storage().nbytes() > minibatch.CHUNK_BYTES


def _loader_order(loader: DataLoader[tuple[torch.Tensor, ...]]) -> list[list[int]]:
    return [yb.tolist() for _, yb in loader]


def test_dataloader_order_differs_for_the_same_generator_seed() -> None:
    """The docstring's claims: the orders differ; one int64 draw first gives the
    DataLoader's first pass; later passes also differ by the unused permutation the
    DataLoader's sampler draws at the end of each pass."""
    X, y = numbered(30)
    theirs = DataLoader(
        TensorDataset(X, y), 7, shuffle=True, generator=torch.Generator().manual_seed(5)
    )
    plain = [yb.tolist() for _, yb in batches(X, y, 7, generator=torch.Generator().manual_seed(5))]
    generator = torch.Generator().manual_seed(5)
    ours = batches(X, y, 7, generator=generator)
    for epoch in range(3):
        expected = _loader_order(theirs)
        if epoch == 0:
            assert plain != expected
        torch.empty((), dtype=torch.int64).random_(generator=generator)  # the base seed
        assert [yb.tolist() for _, yb in ours] == expected
        torch.randperm(30, generator=generator)  # the sampler's unused permutation


def test_dataloader_order_differs_for_the_same_global_seed() -> None:
    """Without a generator: DataLoader draws two seeds, the second seeding a new generator."""
    X, y = numbered(30)
    torch.manual_seed(11)
    theirs = _loader_order(DataLoader(TensorDataset(X, y), 7, shuffle=True))
    torch.manual_seed(11)
    plain = [yb.tolist() for _, yb in batches(X, y, 7)]
    assert plain != theirs
    torch.manual_seed(11)
    torch.empty((), dtype=torch.int64).random_()  # the DataLoader's base seed
    seed = int(torch.empty((), dtype=torch.int64).random_().item())  # the sampler's
    generator = torch.Generator().manual_seed(seed)
    assert [yb.tolist() for _, yb in batches(X, y, 7, generator=generator)] == theirs
