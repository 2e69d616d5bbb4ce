"""tensorkit.regression._checks: the shared argument checks, and what their errors say."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

import tensorkit
from tensorkit._checks import (
    MAX_SEED,
    check_bool,
    check_device,
    check_features,
    check_finite,
    check_int,
    check_pair,
    check_positive_int,
    check_real,
    check_samples,
    check_seed,
    check_shape,
    describe_value,
    seeded_generator,
)


def test_describe_names_shape_and_dtype_of_tensors() -> None:
    assert describe_value(torch.zeros(2, 3, dtype=torch.int64)) == (
        "a tensor of shape (2, 3) and dtype torch.int64"
    )
    assert describe_value([1, 2]) == "list ([1, 2])"


def test_finite_tensor_passes_even_when_its_sum_overflows() -> None:
    big = torch.tensor([3e38, 3e38, 3e38])  # finite, but the sum is inf in float32
    assert torch.isinf(big.sum())
    check_finite("X", big, "f")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_value_is_reported_with_its_index(bad: float) -> None:
    values = torch.zeros(3, 4)
    values[2, 1] = bad
    with pytest.raises(
        ValueError,
        match=r"f\(\) argument 'X' holds NaN or infinite values, "
        r"the first at index \(2, 1\)",
    ):
        check_finite("X", values, "f")


def test_inf_and_minus_inf_that_cancel_in_the_sum_are_found() -> None:
    with pytest.raises(ValueError, match="index 0"):
        check_finite("y", torch.tensor([float("inf"), -float("inf")]), "f")


def test_integer_tensors_are_always_finite() -> None:
    check_finite("y", torch.arange(5), "f")


def test_features_must_be_2d_floating_and_non_empty() -> None:
    with pytest.raises(TypeError, match=r"'X' must be a torch.Tensor, got list"):
        check_features([[1.0]], "f")
    with pytest.raises(TypeError, match=r"floating tensor, got dtype torch.int64; .*X.float\(\)"):
        check_features(torch.ones(2, 2, dtype=torch.int64), "f")
    with pytest.raises(ValueError, match=r"2-D .* got shape \(3,\); .*X.unsqueeze\(1\)"):
        check_features(torch.ones(3), "f")
    with pytest.raises(ValueError, match=r"'X' has no samples \(shape \(0, 2\)\)"):
        check_features(torch.ones(0, 2), "f")


def test_samples_accept_any_rank_but_zero() -> None:
    assert check_samples(torch.ones(4), "f").shape == (4,)
    assert check_samples(torch.ones(4, 1, 2, 2), "f").shape == (4, 1, 2, 2)
    with pytest.raises(ValueError, match="0-d tensor"):
        check_samples(torch.tensor(1.0), "f")
    with pytest.raises(ValueError, match="has no samples"):
        check_samples(torch.ones(0, 3, 3), "f")


def test_pair_checks_length_device_and_dtype() -> None:
    X = torch.ones(4, 2)
    with pytest.raises(ValueError, match="X has 4, y has 3 samples"):
        check_pair(X, torch.ones(3), "f")
    with pytest.raises(ValueError, match="X has 4, y has a 0-d tensor"):
        check_pair(X, torch.tensor(1.0), "f")
    with pytest.raises(ValueError, match="same device: X is on cpu, y on meta"):
        check_pair(X, torch.ones(4, device="meta"), "f")
    with pytest.raises(TypeError, match=r"X's dtype torch.float32, got torch.float64"):
        check_pair(X, torch.ones(4, dtype=torch.float64), "f")
    assert check_pair(X, torch.ones(4, dtype=torch.int64), "f", floating=False).shape == (4,)


@pytest.mark.parametrize("value", [True, 2.0, "3", None])
def test_positive_int_rejects_non_ints(value: object) -> None:
    with pytest.raises(TypeError, match="'n' must be an int"):
        check_positive_int("n", value, "f")


def test_positive_int_rejects_zero_and_accepts_numpy_ints() -> None:
    import numpy as np

    with pytest.raises(ValueError, match="'n' must be at least 1, got 0"):
        check_positive_int("n", 0, "f")
    assert check_positive_int("n", np.int64(3), "f") == 3


def test_real_bounds() -> None:
    assert check_real("l2", 0, "f") == 0.0
    with pytest.raises(ValueError, match="at least 0"):
        check_real("l2", -1e-9, "f")
    with pytest.raises(ValueError, match="above 0"):
        check_real("tol", 0.0, "f", strict=True)
    with pytest.raises(ValueError, match="finite"):
        check_real("bias", float("nan"), "f", minimum=-float("inf"))
    with pytest.raises(TypeError, match="must be a number"):
        check_real("l2", "0.1", "f")


# --- The checks every module shares: seeds, devices, dtypes, shapes, ints, flags. ---


@pytest.mark.parametrize("seed", [-1, 2**64, 2**70])
def test_seed_outside_the_generator_range_is_refused_everywhere(seed: int) -> None:
    from tensorkit.creation import seeded_randn
    from tensorkit.regression import synthetic_linear, two_blobs

    for call in (
        lambda: seeded_randn((2,), seed=seed),
        lambda: synthetic_linear(5, [1.0], 0.0, seed=seed),
        lambda: two_blobs(5, seed=seed),
    ):
        with pytest.raises(ValueError, match=r"argument 'seed' must be between 0 and 2\*\*64 - 1"):
            call()


def test_the_largest_seed_and_numpy_integers_are_accepted() -> None:
    generator = seeded_generator(MAX_SEED, "f")
    assert generator.initial_seed() == MAX_SEED
    assert check_seed(np.int64(3), "f") == 3
    assert type(check_seed(np.int64(3), "f")) is int


@pytest.mark.parametrize("seed", [1.5, True, None, "0"])
def test_seed_of_another_type_is_a_type_error(seed: object) -> None:
    with pytest.raises(TypeError, match=r"f\(\) argument 'seed' must be an int, got .*seed=0"):
        check_seed(seed, "f")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_names_the_device_and_the_fix() -> None:
    with pytest.raises(ValueError, match=r"'cuda', but CUDA is not available .* device='cpu'"):
        check_device("cuda", "f")


@pytest.mark.parametrize("device", ["gpu", "cuda:x"])
def test_a_device_name_torch_does_not_know_is_a_value_error(device: str) -> None:
    with pytest.raises(ValueError, match=r"'device' is not a device name: .*'cpu', 'cuda'"):
        check_device(device, "f")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="needs a machine without MPS")
def test_a_backend_this_build_lacks_is_a_value_error_not_a_torch_error() -> None:
    with pytest.raises(
        ValueError, match=r"'device' is 'mps', but .* not available .* device='cpu'"
    ):
        check_device("mps", "f")


def test_another_backend_this_build_lacks_is_a_short_value_error() -> None:
    with pytest.raises(
        ValueError, match=r"'device' is 'xpu', which this machine cannot use"
    ) as error:
        check_device("xpu", "f")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("device", [0, True, torch.float32])
def test_a_device_of_another_type_is_a_type_error(device: object) -> None:
    with pytest.raises(TypeError, match=r"'device' must be a str or torch.device"):
        check_device(device, "f")


def test_cpu_meta_and_the_default_device_pass() -> None:
    assert check_device("cpu", "f") == torch.device("cpu")
    assert check_device(torch.device("meta"), "f") == torch.device("meta")
    with torch.device("meta"):
        assert check_device(None, "f") == torch.device("meta")


def test_ints_are_checked_against_torch_s_64_bit_sizes() -> None:
    assert check_positive_int("n", 2**63 - 1, "f") == 2**63 - 1
    with pytest.raises(
        ValueError, match=r"'n' must be at most 2\*\*63 - 1, got 9223372036854775808"
    ):
        check_positive_int("n", 2**63, "f")
    assert check_int("n", np.int64(4), "f") == 4


def test_flags_must_be_real_bools() -> None:
    assert check_bool("shuffle", False, "f") is False
    for value in (1, "no", None):
        with pytest.raises(TypeError, match=r"'shuffle' must be True or False"):
            check_bool("shuffle", value, "f")


def test_shape_sizes_may_be_numpy_ints_and_come_back_as_ints() -> None:
    shape = check_shape((np.int64(2), 3), "f")
    assert shape == (2, 3)
    assert all(type(size) is int for size in shape)


def test_messages_quote_a_large_value_briefly() -> None:
    message = describe_value(list(range(10_000)))
    assert message.startswith("list ([0, 1, 2")
    assert message.endswith("...)")
    assert len(message) < 80


#: A private seed, device, dtype or tensor check defined outside tensorkit._checks.
PRIVATE_CHECK = re.compile(
    r"^def _(check_seed|check_device|check_dtype|check_tensor|check_input|generator)\b", re.M
)


def test_no_module_keeps_a_check_of_its_own() -> None:
    """The seed, device, dtype and tensor checks live in tensorkit._checks alone."""
    package = Path(tensorkit.__file__).parent
    found = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if PRIVATE_CHECK.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_private_check_finder_finds_a_copy() -> None:
    assert PRIVATE_CHECK.search("x = 1\ndef _generator(seed):\n    ...\n")
    assert not PRIVATE_CHECK.search("def generator(seed):\n    ...\n")
