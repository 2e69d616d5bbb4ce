"""tensorkit.creation: seeded draws equal torch's with a seeded CPU generator, on any device."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorkit.creation import TensorInfo, describe, seeded_rand, seeded_randint, seeded_randn

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)
seeds = st.integers(0, 2**64 - 1)
floating = st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64])
integers = st.sampled_from([torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64])

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="compares CPU and CUDA results: needs a CUDA GPU"
)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=seeds, dtype=floating)
def test_randn_and_rand_equal_torch_with_a_seeded_cpu_generator(
    shape: tuple[int, ...], seed: int, dtype: torch.dtype
) -> None:
    expected = torch.randn(shape, generator=generator(seed), dtype=dtype)
    assert torch.equal(seeded_randn(shape, seed=seed, dtype=dtype, device="cpu"), expected)
    expected = torch.rand(shape, generator=generator(seed), dtype=dtype)
    assert torch.equal(seeded_rand(shape, seed=seed, dtype=dtype, device="cpu"), expected)


@settings(max_examples=40, deadline=None)
@given(
    shape=shapes,
    seed=seeds,
    dtype=integers,
    low=st.integers(0, 50),
    width=st.integers(1, 50),
)
def test_randint_equals_torch_with_a_seeded_cpu_generator(
    shape: tuple[int, ...], seed: int, dtype: torch.dtype, low: int, width: int
) -> None:
    high = low + width
    expected = torch.randint(low, high, shape, generator=generator(seed), dtype=dtype)
    drawn = seeded_randint(low, high, shape, seed=seed, dtype=dtype, device="cpu")
    assert torch.equal(drawn, expected)
    assert drawn.dtype == dtype
    if drawn.numel():
        assert low <= int(drawn.min()) and int(drawn.max()) < high


def test_same_seed_same_values_other_seed_other_values() -> None:
    assert torch.equal(seeded_randn((50,), seed=3), seeded_randn((50,), seed=3))
    assert not torch.equal(seeded_randn((50,), seed=3), seeded_randn((50,), seed=4))


def test_global_generator_is_left_alone() -> None:
    torch.manual_seed(0)
    expected = torch.randn(5)
    torch.manual_seed(0)
    seeded_randn((5,), seed=123)
    seeded_rand((5,), seed=123)
    seeded_randint(0, 9, (5,), seed=123)
    assert torch.equal(torch.randn(5), expected)


def test_default_device_is_followed() -> None:
    # The meta device stores no values, but it shows where the tensor was put.
    with torch.device("meta"):
        assert seeded_randn((2,), seed=0).device.type == "meta"
        assert seeded_randint(0, 5, (2,), seed=0).device.type == "meta"
    assert seeded_randn((2,), seed=0).device.type == "cpu"


def test_requires_grad_gives_a_leaf() -> None:
    w = seeded_randn((3,), seed=0, requires_grad=True)
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    assert not seeded_rand((3,), seed=0).requires_grad


@needs_cuda
def test_cuda_gets_the_cpu_values() -> None:
    cpu = seeded_randn((4, 5), seed=7, device="cpu")
    cuda = seeded_randn((4, 5), seed=7, device="cuda", requires_grad=True)
    assert cuda.device.type == "cuda" and cuda.is_leaf
    assert torch.equal(cuda.detach().cpu(), cpu)
    assert torch.equal(
        seeded_randint(0, 9, (6,), seed=7, device="cuda").cpu(),
        seeded_randint(0, 9, (6,), seed=7, device="cpu"),
    )


Factory = Callable[..., torch.Tensor]
FACTORIES: list[tuple[Factory, tuple[Any, ...]]] = [
    (seeded_randn, ()),
    (seeded_rand, ()),
    (seeded_randint, (0, 10)),
]


@pytest.mark.parametrize(("factory", "bounds"), FACTORIES)
@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (3, r"argument 'shape' must be a tuple of ints, got the int 3; write shape=\(3,\)"),
        ("2, 3", r"argument 'shape' must be a tuple of ints such as \(2, 3\), got str"),
        ((2, 3.0), r"argument 'shape' must hold ints, got \(2, 3.0\) with float 3.0"),
        ((2, True), r"argument 'shape' must hold ints"),
    ],
)
def test_bad_shape_type(
    factory: Factory, bounds: tuple[Any, ...], shape: Any, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        factory(*bounds, shape, seed=0)


@pytest.mark.parametrize(("factory", "bounds"), FACTORIES)
def test_negative_size(factory: Factory, bounds: tuple[Any, ...]) -> None:
    with pytest.raises(
        ValueError, match=r"argument 'shape' must hold sizes >= 0 .*, got \(2, -1\)"
    ):
        factory(*bounds, (2, -1), seed=0)


@pytest.mark.parametrize(("factory", "bounds"), FACTORIES)
@pytest.mark.parametrize(
    ("seed", "error", "message"),
    [
        (1.5, TypeError, r"argument 'seed' must be an int, got float \(1.5\)"),
        (None, TypeError, r"argument 'seed' must be an int, got NoneType"),
        (True, TypeError, r"argument 'seed' must be an int, got bool"),
        (-1, ValueError, r"argument 'seed' must be between 0 and 2\*\*64 - 1, got -1"),
        (2**64, ValueError, r"argument 'seed' must be between 0 and 2\*\*64 - 1"),
    ],
)
def test_bad_seed(
    factory: Factory, bounds: tuple[Any, ...], seed: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        factory(*bounds, (2,), seed=seed)


@pytest.mark.parametrize("factory", [seeded_randn, seeded_rand])
def test_integer_dtype_for_a_float_draw(factory: Factory) -> None:
    with pytest.raises(
        ValueError,
        match=r"argument 'dtype' must be a floating dtype, got "
        r"torch.int64; use torch.float32",
    ):
        factory((2,), seed=0, dtype=torch.int64)


@pytest.mark.parametrize(("factory", "bounds"), FACTORIES)
def test_dtype_that_is_not_a_dtype(factory: Factory, bounds: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError, match=r"argument 'dtype' must be a torch.dtype .* got str"):
        factory(*bounds, (2,), seed=0, dtype="float32")


@pytest.mark.parametrize("dtype", [torch.bool, torch.complex64])
def test_randint_rejects_bool_and_complex(dtype: torch.dtype) -> None:
    with pytest.raises(ValueError, match=r"argument 'dtype' must be an integer or floating"):
        seeded_randint(0, 2, (2,), seed=0, dtype=dtype)


@pytest.mark.parametrize(("low", "high"), [(5, 5), (5, 2)])
def test_randint_needs_low_below_high(low: int, high: int) -> None:
    with pytest.raises(ValueError, match=rf"needs low < high .* got low={low}, high={high}"):
        seeded_randint(low, high, (2,), seed=0)


@pytest.mark.parametrize("bound", [1.5, "3", None])
def test_randint_bounds_are_ints(bound: Any) -> None:
    with pytest.raises(TypeError, match=r"argument 'high' must be an int"):
        seeded_randint(0, bound, (2,), seed=0)


@pytest.mark.parametrize(
    ("low", "high", "dtype", "range_shown"),
    [
        (0, 1000, torch.uint8, "from 0 to 255"),
        (-500, 0, torch.int8, "from -128 to 127"),
        (0, 10**6, torch.float16, "from -2048 to 2048"),
        (0, 2**25, torch.float32, "from -16777216 to 16777216"),
    ],
)
def test_randint_range_must_fit_the_dtype(
    low: int, high: int, dtype: torch.dtype, range_shown: str
) -> None:
    with pytest.raises(
        ValueError, match=rf"\[{low}, {high}\), but {dtype} holds integers {range_shown}"
    ):
        seeded_randint(low, high, (2,), seed=0, dtype=dtype)


@pytest.mark.parametrize(
    ("low", "high", "dtype"),
    [
        (0, 256, torch.uint8),
        (-128, 128, torch.int8),
        (0, 2049, torch.float16),
        (0, 2**63 - 1, torch.int64),
    ],
)
def test_randint_range_that_just_fits_is_drawn_like_torch(
    low: int, high: int, dtype: torch.dtype
) -> None:
    expected = torch.randint(low, high, (50,), generator=generator(3), dtype=dtype)
    assert torch.equal(seeded_randint(low, high, (50,), seed=3, dtype=dtype), expected)


@pytest.mark.parametrize("bound", [2**63, -(2**63) - 1])
def test_randint_bounds_beyond_64_bits_are_refused_by_name(bound: int) -> None:
    with pytest.raises(ValueError, match=r"argument 'low' must be (at least|at most)"):
        seeded_randint(bound, 2**62, (2,), seed=0)


@pytest.mark.parametrize(("factory", "bounds"), FACTORIES)
def test_a_shape_whose_bytes_overflow_64_bits_is_refused_by_name(
    factory: Factory, bounds: tuple[Any, ...]
) -> None:
    with pytest.raises(
        ValueError, match=r"argument 'shape' \(1099511627776, 1099511627776\) would need"
    ):
        factory(*bounds, (2**40, 2**40), seed=0)


@pytest.mark.parametrize(("factory", "bounds"), FACTORIES)
@pytest.mark.parametrize(
    ("device", "error", "message"),
    [
        (0, TypeError, r"argument 'device' must be a str or torch.device .* got int"),
        ("gpu", ValueError, r"argument 'device' is not a device name: 'gpu'"),
    ],
)
def test_bad_device(
    factory: Factory, bounds: tuple[Any, ...], device: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        factory(*bounds, (2,), seed=0, device=device)


@pytest.mark.parametrize("factory", [seeded_randn, seeded_rand])
@pytest.mark.parametrize("flag", [1, "yes", None])
def test_requires_grad_must_be_a_bool(factory: Factory, flag: Any) -> None:
    with pytest.raises(TypeError, match=r"argument 'requires_grad' must be True or False, got"):
        factory((2,), seed=0, requires_grad=flag)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine with no GPU")
def test_cuda_without_a_gpu_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"'cuda', but CUDA is not available .* device='cpu'"):
        seeded_randn((2,), seed=0, device="cuda")


@needs_cuda
def test_cuda_index_beyond_the_devices_is_a_value_error() -> None:
    count = torch.cuda.device_count()
    with pytest.raises(ValueError, match=rf"has {count} CUDA device\(s\)"):
        seeded_randn((2,), seed=0, device=f"cuda:{count}")


@settings(max_examples=30, deadline=None)
@given(
    shape=shapes,
    dtype=st.sampled_from([torch.float32, torch.float64, torch.int64, torch.bool]),
    transpose=st.booleans(),
)
def test_describe_reports_the_tensor_attributes(
    shape: tuple[int, ...], dtype: torch.dtype, transpose: bool
) -> None:
    tensor = torch.zeros(shape, dtype=dtype)
    if transpose and tensor.dim() >= 2:
        tensor = tensor.transpose(0, -1)
    info = describe(tensor)
    assert info == TensorInfo(
        tuple(tensor.shape), dtype, tensor.device, False, tensor.is_contiguous(), True, None
    )
    line = str(info)
    assert "\n" not in line and repr(info) == line
    assert line.startswith(f"{tuple(tensor.shape)} {str(dtype).removeprefix('torch.')} on cpu")
    assert line.endswith(f"contiguous={tensor.is_contiguous()}, leaf=True")


def test_describe_shows_autograd() -> None:
    w = torch.ones(2, 3, requires_grad=True)
    assert str(describe(w)) == (
        "(2, 3) float32 on cpu, requires_grad=True, contiguous=True, leaf=True"
    )
    assert str(describe(w.t() * 2)) == (
        "(3, 2) float32 on cpu, requires_grad=True, contiguous=False, leaf=False (MulBackward0)"
    )
    assert str(describe(torch.tensor(3))) == (
        "() int64 on cpu, requires_grad=False, contiguous=True, leaf=True"
    )


def test_describe_only_reads() -> None:
    w = torch.ones(2, requires_grad=True)
    y = w * 2
    describe(y)
    assert y.grad_fn is not None and w.grad is None and torch.equal(w, torch.ones(2))


@pytest.mark.parametrize("value", [[1, 2], 3.0, None])
def test_describe_needs_a_tensor(value: Any) -> None:
    with pytest.raises(
        TypeError,
        match=rf"argument 'tensor' must be a torch.Tensor, got "
        rf"{type(value).__name__}",
    ):
        describe(value)


def test_describe_rejects_sparse_tensors() -> None:
    sparse = torch.eye(2).to_sparse()
    with pytest.raises(
        ValueError,
        match=r"must be a dense \(strided\) tensor, got layout "
        r"torch.sparse_coo; sparse tensors have no strides; convert it with .to_dense\(\)",
    ):
        describe(sparse)
