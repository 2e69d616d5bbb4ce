"""The cpu pass compares exactly; the cuda pass forgives the device and one unit in the
last digit of a tensor's float elements, nothing more."""

import pytest

from harness.checker import TensorOutputChecker, strip_device

checker = TensorOutputChecker("cuda")


def matches(want: str, got: str) -> bool:
    return checker.check_output(want + "\n", got + "\n", 0)


def test_cpu_pass_compares_devices_as_printed() -> None:
    cpu = TensorOutputChecker("cpu")
    # Constructing a device needs no GPU, so a CPU run may print one: compared as is.
    assert not cpu.check_output("device(type='cpu')\n", "device(type='cuda', index=0)\n", 0)


@pytest.mark.parametrize(
    ("want", "got"),
    [
        ("0.3", "0.30000000000000004"),  # 0.1 + 0.2
        ("0.1", "0.10000000149011612"),  # torch.tensor(0.1).item()
        ("0.7", "0.6666666666666666"),  # 2 / 3
        ("tensor([0.1235])", "tensor([0.1234])"),
        ("2.13.0", "2.13.1"),
        ("ValueError: got -0.1", "ValueError: got -0.2"),
        ("tensor(80.)", "tensor(80.0001)"),
    ],
)
def test_cpu_pass_compares_exactly(want: str, got: str) -> None:
    assert not TensorOutputChecker("cpu").check_output(want + "\n", got + "\n", 0)
    assert TensorOutputChecker("cpu").check_output(got + "\n", got + "\n", 0)


@pytest.mark.parametrize(
    ("want", "got"),
    [
        ("tensor([5.])", "tensor([5.])"),
        ("tensor([0.1235])", "tensor([0.1234])"),  # last digit rounded the other way
        ("tensor([0.1235])", "tensor([0.1236])"),
        ("tensor(1.0000e-05)", "tensor(1.0001e-05)"),
        ("(tensor([0.5000]), 'a')", "(tensor([0.5001]), 'a')"),
        (
            "tensor([5.], grad_fn=<AddBackward0>)",
            "tensor([5.], device='cuda:0', grad_fn=<AddBackward0>)",
        ),
        (
            "tensor([[4., 3.],\n        [2., 6.]])",
            "tensor([[4., 3.],\n        [2., 6.]], device='cuda:0')",
        ),
    ],
)
def test_accepts_what_only_device_or_rounding_changes(want: str, got: str) -> None:
    assert matches(want, got)


@pytest.mark.parametrize(
    ("want", "got"),
    [
        ("tensor(80.)", "tensor(81.)"),  # a whole number must be that number
        ("tensor(80.)", "tensor(80.0001)"),  # ... and printed as one
        ("tensor([0.])", "tensor([-0.])"),
        ("tensor([0.123])", "tensor([0.1234])"),  # the page may not show fewer digits
        ("tensor([0.1234])", "tensor([0.123])"),
        ("tensor(1.0000e-05)", "tensor(1.0000e-06)"),
        ("0.1235", "0.1234"),  # a Python float, not a tensor element
        ("torch 2.13.0", "torch 2.13.1"),
        ("ValueError: got -0.1", "ValueError: got -0.2"),
        ("tensor([0.1235])", "tensor([0.1237])"),  # two units in the last place
        ("tensor(80.)", "tensor(80.5000)"),
        ("tensor(1.0000e-05)", "tensor(1.0000e-04)"),
        ("tensor([5.])", "tensor([5.], dtype=torch.float64)"),
        ("tensor([5.])", "tensor([5.], requires_grad=True)"),
        ("tensor([5, 6])", "tensor([5, 7])"),  # integers are compared exactly
        ("(True, False)", "(True, True)"),
        ("tensor([1., 2.])", "tensor([1., 2., 3.])"),
    ],
)
def test_rejects_real_differences(want: str, got: str) -> None:
    assert not matches(want, got)


def test_device_suffix_pushed_to_a_new_line_still_matches() -> None:
    # A long repr: on CUDA the device suffix pushes dtype= onto its own line.
    want = "tensor([1.0000, 2.0000, 3.0000], dtype=torch.float64)"
    got = "tensor([1.0000, 2.0000, 3.0000], device='cuda:0',\n       dtype=torch.float64)"
    assert matches(want, got)


def test_strip_device_prints_devices_as_the_cpu_pass_does() -> None:
    assert strip_device("tensor([1.], device='cuda:1')", "cuda") == ("tensor([1.])", True)
    assert strip_device("device(type='cuda', index=0)", "cuda") == ("device(type='cpu')", True)
    assert strip_device("on cuda:0, shape (2, 3)", "cuda") == ("on cpu, shape (2, 3)", True)
    assert strip_device("device(type='cpu')", "cuda") == ("device(type='cpu')", False)
    assert strip_device("tensor([1.], device='meta')", "meta") == ("tensor([1.])", True)


def test_words_containing_a_device_name_are_left_alone() -> None:
    # Only device names as torch prints them: not 'cudart', a quoted string or a module.
    text = "cudart 'cuda' \"cuda\" torch.cuda.is_available() cuda.Stream"
    assert strip_device(text, "cuda") == (text, False)


def test_failure_report_shows_the_output_without_device() -> None:
    import doctest

    example = doctest.Example("w.grad\n", "tensor([6.])\n")
    report = checker.output_difference(example, "tensor([5.], device='cuda:0')\n", 0)
    assert "tensor([5.])" in report and "cuda" not in report
