"""tensorkit.autograd.basics: grad_table reports autograd's view of tensors, and only reads."""

from __future__ import annotations

import re
import warnings

import pytest
import torch

from tensorkit.autograd import GradInfo, GradTable, grad_table


def graph() -> dict[str, torch.Tensor]:
    w = torch.tensor([1.0], requires_grad=True)
    x = torch.tensor([2.0])
    a = w + x
    y = a * (w + 1)
    return {"w": w, "x": x, "a": a, "y": y}


def test_rows_match_the_tensor_attributes() -> None:
    tensors = graph()
    tensors["y"].backward()
    rows = {row.name: row for row in grad_table(**tensors)}
    for name, tensor in tensors.items():
        assert rows[name].requires_grad is tensor.requires_grad
        assert rows[name].is_leaf is tensor.is_leaf
        node = tensor.grad_fn
        assert rows[name].grad_fn == (None if node is None else node.name())
    assert rows["w"].grad == "tensor([5.])"
    assert rows["x"].grad == "None"
    assert rows["a"].grad == "None (non-leaf)"


def test_rows_keep_the_given_order() -> None:
    tensors = graph()
    names = ["y", "w", "a", "x"]
    assert [row.name for row in grad_table(**{n: tensors[n] for n in names})] == names


def test_reading_never_warns_and_never_changes_a_tensor() -> None:
    tensors = graph()
    tensors["y"].backward()
    before = {name: (t.clone(), t.grad) for name, t in tensors.items() if t.is_leaf}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTorch warns when a non-leaf's .grad is read
        str(grad_table(**tensors))
    for name, (value, grad) in before.items():
        assert torch.equal(tensors[name], value) and tensors[name].grad is grad


def test_retained_gradient_of_a_non_leaf_is_shown() -> None:
    w = torch.tensor([1.0], requires_grad=True)
    a = w * 3
    a.retain_grad()
    (a * a).sum().backward()
    [row] = grad_table(a=a)
    assert row.grad == "tensor([6.])"


def test_large_gradients_are_summarised_by_shape() -> None:
    w = torch.ones(5, 3, requires_grad=True)
    w.sum().backward()
    [row] = grad_table(w=w)
    assert row.grad == "<shape (5, 3)>"


def test_multiline_gradient_fits_one_row() -> None:
    w = torch.ones(2, 2, requires_grad=True)
    (w * 2).sum().backward()
    [row] = grad_table(w=w)
    assert row.grad == "tensor([[2., 2.], [2., 2.]])"


def test_table_is_aligned() -> None:
    table = grad_table(weight=torch.ones(1, requires_grad=True), x=torch.ones(1))
    header, *rows = str(table).split("\n")
    assert header.split() == ["name", "requires_grad", "is_leaf", "grad_fn", "grad"]
    starts = [column.start() for column in re.finditer(r"\S+", header)]
    for row in rows:
        # Every column of every row starts where its header does, after two spaces.
        assert all(row[start] != " " and row[start - 2 : start] == "  " for start in starts[1:])
    assert repr(table) == str(table)


def test_gradinfo_of_a_detached_tensor() -> None:
    w = torch.ones(1, requires_grad=True)
    info = GradInfo.of("c", (w * 2).detach())
    assert info == GradInfo("c", False, True, None, "None")


def test_no_tensor_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"needs at least one tensor.*grad_table\(w=w, x=x\)"):
        grad_table()


@pytest.mark.parametrize("value", [3, 2.5, [1.0, 2.0], None, "w"])
def test_non_tensor_is_a_type_error_naming_the_argument(value: object) -> None:
    with pytest.raises(TypeError) as caught:
        grad_table(w=torch.ones(1), b=value)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "argument 'b' must be a torch.Tensor" in message
    assert f"got {type(value).__name__} ({value!r})" in message


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: GradInfo.of("w", None),
            r"GradInfo.of\(\) argument 'tensor' must be a torch.Tensor",
        ),
        (
            lambda: GradInfo.of(None, torch.ones(1)),
            r"GradInfo.of\(\) argument 'name' must be a str",
        ),
        (
            lambda: GradInfo("w", "yes", True, None, "None"),
            r"'requires_grad' must be True or False",
        ),
        (lambda: GradInfo("w", True, True, 3, "None"), r"'grad_fn' must be a str or None"),
        (
            lambda: GradTable([1, 2]),
            r"'rows' must hold GradInfo rows, got int \(1\) at position 0",
        ),
        (lambda: GradTable(None), r"'rows' must be an iterable of GradInfo rows, got NoneType"),
    ],
)
def test_the_public_classes_check_what_they_are_given(call: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call()  # type: ignore[operator]


def test_a_table_of_rows_prints_as_grad_table_does() -> None:
    tensors = graph()
    rows = [GradInfo.of(name, tensor) for name, tensor in tensors.items()]
    assert str(GradTable(rows)) == str(grad_table(**tensors))
    assert GradTable() == ()
