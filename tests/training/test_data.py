"""tensorkit.regression.data: seeded data sets, the same whatever the device or global seed."""

from __future__ import annotations

import pytest
import torch

from tensorkit.regression import synthetic_linear, two_blobs

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_synthetic_linear_shapes_and_dtype() -> None:
    X, y = synthetic_linear(50, [2.0, -3.4, 1.0], 4.2, dtype=torch.float64)
    assert X.shape == (50, 3) and y.shape == (50, 1)
    assert X.dtype == y.dtype == torch.float64
    assert X.device == y.device == torch.device("cpu")


def test_synthetic_linear_is_the_linear_relation_plus_the_noise() -> None:
    X, y = synthetic_linear(200, [2.0, -3.4], 4.2, noise=0.0, dtype=torch.float64)
    expected = X @ torch.tensor([2.0, -3.4], dtype=torch.float64) + 4.2
    torch.testing.assert_close(y[:, 0], expected, rtol=0, atol=1e-12)
    X, y = synthetic_linear(20_000, [2.0, -3.4], 4.2, noise=0.5, dtype=torch.float64)
    residual = y[:, 0] - (X @ torch.tensor([2.0, -3.4], dtype=torch.float64) + 4.2)
    assert abs(residual.std().item() - 0.5) < 0.02  # 20 000 draws: the std is within ~0.005
    assert abs(X.mean().item()) < 0.02 and abs(X.std().item() - 1) < 0.02


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = synthetic_linear(30, [1.0], 0.0, seed=3)
    second = synthetic_linear(30, [1.0], 0.0, seed=3)
    other = synthetic_linear(30, [1.0], 0.0, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert not torch.equal(first[0], other[0])


def test_the_global_random_state_is_left_alone() -> None:
    torch.manual_seed(123)
    state = torch.get_rng_state()
    synthetic_linear(10, [1.0], 0.0)
    two_blobs(10)
    assert torch.equal(torch.get_rng_state(), state)


def test_float32_values_are_the_float64_values_rounded() -> None:
    X64, y64 = synthetic_linear(40, [2.0, -3.4], 4.2, dtype=torch.float64)
    X32, y32 = synthetic_linear(40, [2.0, -3.4], 4.2, dtype=torch.float32)
    assert torch.equal(X64.float(), X32) and torch.equal(y64.float(), y32)


def test_weight_as_tensor_or_list_is_the_same() -> None:
    from_list = synthetic_linear(10, [2.0, -3.4], 4.2)
    from_tensor = synthetic_linear(10, torch.tensor([2.0, -3.4], dtype=torch.float64), 4.2)
    assert all(torch.equal(a, b) for a, b in zip(from_list, from_tensor, strict=True))


def test_the_weight_tensor_given_is_not_changed() -> None:
    weight = torch.tensor([2.0, -3.4], requires_grad=True)
    before = weight.detach().clone()
    synthetic_linear(10, weight, 4.2)
    assert torch.equal(weight.detach(), before) and weight.grad is None


def test_default_device_is_followed() -> None:
    with torch.device("meta"):
        X, y = synthetic_linear(5, [1.0], 0.0)
        Xb, yb = two_blobs(5)
    assert X.device.type == y.device.type == Xb.device.type == yb.device.type == "meta"


@needs_cuda
def test_same_values_on_cuda() -> None:
    cpu = synthetic_linear(100, [2.0, -3.4], 4.2) + two_blobs(20)
    cuda = synthetic_linear(100, [2.0, -3.4], 4.2, device="cuda") + two_blobs(20, device="cuda")
    assert all(torch.equal(a, b.cpu()) for a, b in zip(cpu, cuda, strict=True))


def test_two_blobs_layout_and_centres() -> None:
    X, y = two_blobs(5000, center=1.7, shift=1.0, dtype=torch.float64)
    assert X.shape == (10_000, 2) and y.shape == (10_000,)
    assert torch.equal(y[:5000], torch.zeros(5000, dtype=torch.float64))
    assert torch.equal(y[5000:], torch.ones(5000, dtype=torch.float64))
    torch.testing.assert_close(
        X[:5000].mean(0), torch.full((2,), 2.7, dtype=torch.float64), rtol=0, atol=0.05
    )
    torch.testing.assert_close(
        X[5000:].mean(0), torch.full((2,), -0.7, dtype=torch.float64), rtol=0, atol=0.05
    )


def test_two_blobs_without_spread_are_the_centres() -> None:
    X, _ = two_blobs(3, n_features=4, center=2.0, shift=-1.0, std=0.0)
    assert torch.equal(X[:3], torch.full((3, 4), 1.0))
    assert torch.equal(X[3:], torch.full((3, 4), -3.0))


def test_two_blobs_is_seeded() -> None:
    assert torch.equal(two_blobs(10, seed=1)[0], two_blobs(10, seed=1)[0])
    assert not torch.equal(two_blobs(10, seed=1)[0], two_blobs(10, seed=2)[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": 0}, ValueError, "'n' must be at least 1, got 0"),
        ({"n": 2.5}, TypeError, "'n' must be an int"),
        ({"n": True}, TypeError, "'n' must be an int"),
        ({"weight": []}, ValueError, "'weight' is empty"),
        ({"weight": "23"}, TypeError, "'weight' must be a 1-D floating tensor or a sequence"),
        ({"weight": [1.0, "a"]}, TypeError, "'weight' must hold only numbers"),
        ({"weight": [float("nan")]}, ValueError, "'weight' holds NaN or infinite"),
        ({"weight": torch.tensor([1, 2])}, TypeError, "1-D floating tensor"),
        ({"weight": torch.ones(2, 2)}, TypeError, "1-D floating tensor"),
        ({"bias": float("inf")}, ValueError, "'bias' must be finite"),
        ({"bias": "4.2"}, TypeError, "'bias' must be a number"),
        ({"noise": -0.1}, ValueError, "'noise' must be at least 0"),
        ({"seed": 1.5}, TypeError, "'seed' must be an int"),
        ({"dtype": torch.int64}, ValueError, "'dtype' must be a floating dtype"),
        ({"device": 0}, TypeError, "'device' must be a str or torch.device"),
        ({"device": "gpu"}, ValueError, "'device' is not a device name: 'gpu'"),
        ({"seed": -1}, ValueError, r"'seed' must be between 0 and 2\*\*64 - 1, got -1"),
        ({"seed": 2**64}, ValueError, r"'seed' must be between 0 and 2\*\*64 - 1"),
        (
            {"weight": torch.ones(2, device="meta")},
            ValueError,
            "'weight' is on the meta device, which stores shapes but no values",
        ),
        (
            {"weight": [1.0], "bias": 1e39},
            ValueError,
            r"s 'weight', 'bias' and 'noise' must give data that torch.float32 can hold "
            r"\(whose largest value is 3.4e\+38\), got values as large as .*; use smaller "
            r"values, or dtype=torch.float64",
        ),
        (
            {"weight": [1e5], "dtype": torch.float16},
            ValueError,
            "that torch.float16 can hold",
        ),
    ],
)
def test_synthetic_linear_bad_arguments(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {"n": 10, "weight": [2.0, -3.4], "bias": 4.2, **kwargs}
    with pytest.raises(error, match=rf"synthetic_linear\(\) argument.*{message}"):
        synthetic_linear(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_per_class": 0}, ValueError, " 'n_per_class' must be at least 1"),
        ({"n_features": 0}, ValueError, " 'n_features' must be at least 1"),
        ({"std": -1.0}, ValueError, " 'std' must be at least 0"),
        ({"center": float("nan")}, ValueError, " 'center' must be finite"),
        ({"shift": None}, TypeError, " 'shift' must be a number"),
        ({"dtype": torch.bool}, ValueError, " 'dtype' must be a floating"),
        ({"device": "gpu"}, ValueError, " 'device' is not a device name: 'gpu'"),
        ({"seed": -1}, ValueError, r" 'seed' must be between 0 and 2\*\*64 - 1, got -1"),
        (
            {"center": 1e300, "std": 1e300},
            ValueError,
            r"s 'center', 'shift' and 'std' must give data that torch.float32 can hold "
            r"\(whose largest value is 3.4e\+38\), got values as large as .*e\+300; use "
            r"smaller values, or dtype=torch.float64",
        ),
        (
            {"center": 1e308, "std": 1e308, "dtype": torch.float64},
            ValueError,
            r"s .* that torch.float64 can hold .*, got infinite values; use smaller values$",
        ),
    ],
)
def test_two_blobs_bad_arguments(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=rf"two_blobs\(\) argument{message}"):
        two_blobs(**kwargs)  # type: ignore[arg-type]


def test_data_that_the_dtype_can_hold_at_its_limit_are_fine() -> None:
    """Large but representable values pass: only what would become inf is refused."""
    X, _ = two_blobs(5, center=1e38, std=0.0, shift=0.0)
    assert bool(torch.isfinite(X).all()) and X.abs().max() == torch.tensor(1e38)
    _, y = synthetic_linear(5, [1e30], 0.0)
    assert bool(torch.isfinite(y).all())


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize(
    "make",
    [lambda: synthetic_linear(5, [1.0], 0.0, device="cuda"), lambda: two_blobs(5, device="cuda")],
)
def test_cuda_without_cuda_is_a_value_error(make: object) -> None:
    with pytest.raises(ValueError, match=r"'cuda', but CUDA is not available .* device='cpu'"):
        make()  # type: ignore[operator]
