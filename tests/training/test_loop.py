"""tensorkit.regression.loop: train, its loss history, its progress bar and its checks."""

from __future__ import annotations

import copy
import functools
import math
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tensorkit.regression import _epoch_log, _snapshot, batches, loop, synthetic_linear, train


def setup(seed: int = 0) -> tuple[nn.Linear, torch.optim.SGD, torch.Tensor, torch.Tensor]:
    X, y = synthetic_linear(200, [2.0, -3.4], 4.2, seed=seed)
    torch.manual_seed(seed)
    model = nn.Linear(2, 1)
    return model, torch.optim.SGD(model.parameters(), lr=0.05), X, y


def test_history_is_what_the_hand_written_loop_measures() -> None:
    model, optimizer, X, y = setup()
    history = train(model, nn.MSELoss(), optimizer, batches(X, y, 32, shuffle=False), epochs=4)

    reference, reference_optimizer, _, _ = setup()
    expected = []
    for _ in range(4):
        total = 0.0
        for xb, yb in zip(torch.split(X, 32), torch.split(y, 32), strict=True):
            reference_optimizer.zero_grad()
            loss = nn.MSELoss()(reference(xb), yb)
            loss.backward()
            reference_optimizer.step()
            total += loss.item() * len(xb)
        expected.append(total / len(X))
    assert history == expected  # the same sum, in the same order: equal, not just close
    torch.testing.assert_close(model.weight, reference.weight, rtol=0, atol=0)
    assert all(isinstance(loss, float) for loss in history)


def test_training_converges_to_the_true_parameters() -> None:
    model, optimizer, X, y = setup()
    history = train(model, nn.MSELoss(), optimizer, batches(X, y, 10), epochs=20)
    assert len(history) == 20 and history[-1] < 2e-4 < history[0]
    torch.testing.assert_close(
        model.weight.detach(), torch.tensor([[2.0, -3.4]]), atol=0.01, rtol=0
    )


def test_a_dataloader_works_as_data() -> None:
    model, optimizer, X, y = setup()
    loader = DataLoader(TensorDataset(X, y), batch_size=20, shuffle=True)
    assert len(train(model, nn.MSELoss(), optimizer, loader, epochs=2)) == 2


def test_the_model_is_put_in_training_mode_and_data_are_unchanged() -> None:
    model, optimizer, X, y = setup()
    X_before, y_before = X.clone(), y.clone()
    model.eval()
    train(model, nn.MSELoss(), optimizer, [(X, y)])
    assert model.training
    assert torch.equal(X, X_before) and torch.equal(y, y_before)


def test_no_progress_bar_when_not_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    model, optimizer, X, y = setup()
    train(model, nn.MSELoss(), optimizer, [(X, y)], epochs=3)
    train(model, nn.MSELoss(), optimizer, [(X, y)], epochs=3, progress=False)
    assert capsys.readouterr() == ("", "")


def test_progress_bar_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    model, optimizer, X, y = setup()
    train(model, nn.MSELoss(), optimizer, [(X, y)], epochs=3, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "train:" in captured.err and "epoch" in captured.err


def test_automatic_bar_waits_for_long_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    model, optimizer, X, y = setup()
    train(model, nn.MSELoss(), optimizer, [(X, y)], epochs=3)  # far shorter than 2 s
    assert capsys.readouterr().err == ""
    # A run longer than the delay (here: any run, with no delay) shows the bar.
    monkeypatch.setattr(loop, "PROGRESS_DELAY_S", 0.0)
    train(model, nn.MSELoss(), optimizer, [(X, y)], epochs=3)
    assert "train:" in capsys.readouterr().err


def test_divergence_is_reported() -> None:
    model, _, X, y = setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=10.0)
    with pytest.raises(
        FloatingPointError,
        match=r"^train\(\): the loss became (inf|nan) in epoch 1, batch \d+: training "
        r"diverged; lower the optimizer's learning rate",
    ):
        train(model, nn.MSELoss(), optimizer, batches(X, y, 10), epochs=50)


def test_nan_in_the_data_is_blamed_on_the_data() -> None:
    model, optimizer, X, y = setup()
    X = X.clone()
    X[5, 1] = math.nan
    with pytest.raises(
        ValueError,
        match=r"argument 'data' yielded a batch holding NaN or "
        r"infinite values in epoch 1, batch 1 \(its inputs\); clean the data first",
    ):
        train(model, nn.MSELoss(), optimizer, [(X, y)])


def test_a_generator_runs_out_after_one_epoch() -> None:
    model, optimizer, X, y = setup()

    def once() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        yield X, y

    with pytest.raises(ValueError, match=r"gave no batches in epoch 2; .* not a generator"):
        train(model, nn.MSELoss(), optimizer, once(), epochs=2)


def test_empty_data_is_an_error() -> None:
    model, optimizer, _, _ = setup()
    with pytest.raises(ValueError, match="gave no batches in epoch 1"):
        train(model, nn.MSELoss(), optimizer, [])


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"model": lambda x: x}, TypeError, "'model' must be a torch.nn.Module"),
        ({"loss_fn": "mse"}, TypeError, "'loss_fn' must be callable"),
        ({"optimizer": "sgd"}, TypeError, "'optimizer' must be a torch.optim.Optimizer"),
        ({"data": torch.ones(3, 2)}, TypeError, "'data' must be an iterable of"),
        ({"data": 5}, TypeError, "'data' must be an iterable of"),
        ({"data": [torch.ones(3, 2)]}, TypeError, "must yield \\(inputs, targets\\) pairs"),
        ({"data": [(1.0, 2.0)]}, TypeError, "must yield \\(inputs, targets\\) pairs"),
        ({"epochs": 0}, ValueError, "'epochs' must be at least 1, got 0"),
        ({"epochs": 1.5}, TypeError, "'epochs' must be an int"),
        ({"progress": "yes"}, TypeError, "'progress' must be True, False or None"),
        (
            {"loss_fn": nn.MSELoss(reduction="none")},
            TypeError,
            "'loss_fn' must return a 0-d tensor",
        ),
        (
            {"loss_fn": nn.MSELoss},
            TypeError,
            r"'loss_fn' must be a loss function or an instance of a loss class, got the "
            r"class nn.MSELoss itself; write nn.MSELoss\(\), with the parentheses",
        ),
        (
            {"model": nn.Linear},
            TypeError,
            r"'model' must be a torch.nn.Module instance, got the class nn.Linear itself; "
            r"create the model first, e.g. model = nn.Linear\(...\)",
        ),
        (
            {"optimizer": torch.optim.SGD},
            TypeError,
            r"'optimizer' must be a torch.optim.Optimizer instance, got the class "
            r"torch.optim.SGD itself; .*torch.optim.SGD\(model.parameters\(\), lr=0.03\)",
        ),
        ({"data": [(torch.tensor(1.0), torch.tensor(1.0))]}, TypeError, "yielded 0-d inputs"),
    ],
)
def test_bad_arguments(change: dict[str, object], error: type[Exception], message: str) -> None:
    model, optimizer, X, y = setup()
    arguments: dict[str, object] = {
        "model": model,
        "loss_fn": nn.MSELoss(),
        "optimizer": optimizer,
        "data": [(X, y)],
    }
    epochs = change.pop("epochs", 1)
    progress = change.pop("progress", None)
    arguments.update(change)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(error, match=rf"train\(\) .*{message}"):
        train(**arguments, epochs=epochs, progress=progress)  # type: ignore[arg-type]
    # Even a bad loss, found only after the forward pass, leaves the model as it was.
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before, strict=True))


def test_a_lazy_model_is_asked_to_be_initialised_first() -> None:
    _, _, X, y = setup()
    model = nn.LazyLinear(1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with pytest.raises(ValueError, match=r"not initialised yet .* e.g. model\(X\[:1\]\)"):
        train(model, nn.MSELoss(), optimizer, [(X, y)])
    model(X[:1])
    assert len(train(model, nn.MSELoss(), optimizer, [(X, y)])) == 1


def test_lbfgs_is_refused() -> None:
    model, _, X, y = setup()
    optimizer = torch.optim.LBFGS(model.parameters())
    with pytest.raises(TypeError, match="LBFGS, whose step\\(\\) needs a closure"):
        train(model, nn.MSELoss(), optimizer, [(X, y)])


def test_an_optimizer_of_another_model_is_refused() -> None:
    model, _, X, y = setup()
    other = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(other.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="'optimizer' updates none of the model's parameters"):
        train(model, nn.MSELoss(), optimizer, [(X, y)])


def _without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make tqdm uninstalled for this test, as it is for a reader who did not ask for it."""
    for name in ("tqdm", "tqdm.auto"):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: import fails


def test_trains_the_same_without_tqdm_even_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model, optimizer, X, y = setup()
    with_tqdm = train(model, nn.MSELoss(), optimizer, [(X, y)], epochs=3, progress=False)
    _without_tqdm(monkeypatch)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # where a bar would be drawn
    model, optimizer, X, y = setup()
    without = train(model, nn.MSELoss(), optimizer, [(X, y)], epochs=3)
    assert without == with_tqdm
    assert capsys.readouterr() == ("", "")


def test_asking_for_a_bar_without_tqdm_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without_tqdm(monkeypatch)
    model, optimizer, X, y = setup()
    with pytest.raises(ModuleNotFoundError, match=r"'progress' is True, but tqdm.*pip install"):
        train(model, nn.MSELoss(), optimizer, [(X, y)], epochs=3, progress=True)


# --- Targets of the wrong shape ---------------------------------------------------------


@pytest.mark.parametrize(
    "loss_fn",
    [
        nn.MSELoss(),
        nn.L1Loss(),
        nn.HuberLoss(),
        F.mse_loss,
        functools.partial(F.l1_loss, reduction="mean"),
    ],
    ids=["MSELoss", "L1Loss", "HuberLoss", "F.mse_loss", "partial(F.l1_loss)"],
)
def test_targets_that_would_broadcast_are_refused_before_any_step(loss_fn: object) -> None:
    model, optimizer, X, y = setup()
    before = [p.detach().clone() for p in model.parameters()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's broadcasting UserWarning is never reached
        with pytest.raises(
            ValueError,
            match=r"^train\(\) argument 'data' must yield targets of the model output's "
            r"shape for .*, which compares them element by element; in epoch 1, batch 1 "
            r"the output has shape \(32, 1\) and the targets \(32,\), which .* would "
            r"broadcast to \(32, 32\), comparing every output with every target; reshape "
            r"the targets before batching: y = y.reshape\(-1, 1\) \(or y.unsqueeze\(1\)\)",
        ):
            train(model, loss_fn, optimizer, batches(X, y[:, 0], 32))  # type: ignore[arg-type]
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before, strict=True))
    assert optimizer.state == {}


def test_without_the_shape_check_such_targets_train_quietly_to_a_wrong_answer() -> None:
    """Why the check exists: torch only warns, and the fit is wrong."""
    model, optimizer, X, y = setup()
    with pytest.warns(UserWarning, match="target size"):
        for _ in range(20):
            for xb, yb in batches(X, y[:, 0], 10):
                optimizer.zero_grad()
                nn.MSELoss()(model(xb), yb).backward()
                optimizer.step()
    assert (model.weight.detach() - torch.tensor([[2.0, -3.4]])).abs().max() > 1


@pytest.mark.parametrize(
    ("width", "target_shape", "hint"),
    [
        (None, (200, 1), r"y = y.reshape\(-1\) \(or y.squeeze\(1\)\)"),
        (3, (200, 1), r"the model gives 30 values for 10 targets: give the model one output"),
        (3, (200, 3, 1), r"y = y.reshape\(-1, 3\)"),
    ],
)
def test_the_fix_suggested_fits_the_shapes(
    width: int | None, target_shape: tuple[int, ...], hint: str
) -> None:
    torch.manual_seed(0)
    model: nn.Module = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    if width is not None:
        model = nn.Linear(2, width)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    X, targets = torch.randn(200, 2), torch.randn(target_shape)
    with pytest.raises(ValueError, match=hint):
        train(model, nn.MSELoss(), optimizer, batches(X, targets, 10))


def test_shapes_that_are_right_for_their_loss_still_train() -> None:
    torch.manual_seed(0)
    X = torch.randn(200, 2)
    labels = (X[:, 0] > 0).long()
    # CrossEntropyLoss: (N, C) output, (N,) class labels, here with N == C == 10, where
    # broadcasting the two would have been possible.
    classifier = nn.Linear(2, 10)
    optimizer = torch.optim.SGD(classifier.parameters(), lr=0.5)
    history = train(classifier, nn.CrossEntropyLoss(), optimizer, batches(X, labels, 10), epochs=5)
    assert history[-1] < history[0]
    # BCEWithLogitsLoss, same shapes (N,) and (N,).
    scorer = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    optimizer = torch.optim.SGD(scorer.parameters(), lr=0.5)
    history = train(scorer, nn.BCEWithLogitsLoss(), optimizer, batches(X, labels.float(), 10))
    assert math.isfinite(history[0])

    # A loss function of one's own decides for itself what it compares.
    def squared(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ((output[:, 0] - target) ** 2).mean()

    model, optimizer, X, y = setup()
    history = train(model, squared, optimizer, batches(X, y[:, 0], 10), epochs=20)
    assert history[-1] < 2e-4


# --- NaN, divergence, and putting the model back -----------------------------------------


def state_of(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, object]:
    """Everything train() promises to put back, as plain copies."""
    return {
        "parameters": [p.detach().clone() for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "buffers": [b.clone() for b in model.buffers()],
        "modes": [m.training for m in model.modules()],
        "optimizer": copy.deepcopy(optimizer.state_dict()),
    }


def assert_same_state(now: dict[str, object], before: dict[str, object]) -> None:
    assert now["modes"] == before["modes"]
    for key in ("parameters", "grads", "buffers"):
        for a, b in zip(now[key], before[key], strict=True):  # type: ignore[call-overload]
            assert (a is None and b is None) or torch.equal(a, b), key
    torch.testing.assert_close(now["optimizer"], before["optimizer"], rtol=0, atol=0)


def trained_a_little() -> tuple[nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
    """A model with a BatchNorm, in eval mode, and an optimizer with state and gradients."""
    X, y = synthetic_linear(200, [2.0, -3.4], 4.2, seed=0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    train(model, nn.MSELoss(), optimizer, batches(X, y, 20), epochs=2)
    model.eval()
    return model, optimizer, X, y


def nan_at(y: torch.Tensor, index: int) -> torch.Tensor:
    y = y.clone()
    y[index] = math.nan
    return y


def test_a_nan_target_leaves_model_and_optimizer_as_they_were() -> None:
    model, optimizer, X, y = trained_a_little()
    before = state_of(model, optimizer)
    data = list(zip(torch.split(X, 20), torch.split(nan_at(y, 57), 20), strict=True))
    with pytest.raises(ValueError, match=r"in epoch 1, batch 3 \(its targets\)") as caught:
        train(model, nn.MSELoss(), optimizer, data, epochs=2)
    assert caught.value.__notes__ == [
        "train() put the model and the optimizer back as they were before the call"
    ]
    assert_same_state(state_of(model, optimizer), before)


def test_the_state_test_catches_a_model_left_as_the_error_found_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the restore, the same run leaves NaN weights: the test above would fail."""
    monkeypatch.setattr(_snapshot.Snapshot, "restore", lambda self: None)
    model, optimizer, X, y = trained_a_little()
    before = state_of(model, optimizer)
    data = list(zip(torch.split(X, 20), torch.split(nan_at(y, 57), 20), strict=True))
    with pytest.raises(ValueError):
        train(model, nn.MSELoss(), optimizer, data, epochs=2)
    assert not all(bool(torch.isfinite(p).all()) for p in model.parameters())
    with pytest.raises(AssertionError):
        assert_same_state(state_of(model, optimizer), before)


def test_divergence_leaves_model_and_optimizer_as_they_were() -> None:
    model, _, X, y = setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=10.0, momentum=0.5)
    train(model, nn.MSELoss(), optimizer, [(X[:5], y[:5])])  # a momentum buffer to keep
    before = state_of(model, optimizer)
    with pytest.raises(FloatingPointError, match="training diverged"):
        train(model, nn.MSELoss(), optimizer, batches(X, y, 10), epochs=50)
    assert_same_state(state_of(model, optimizer), before)


def test_any_error_in_a_later_epoch_puts_the_model_back() -> None:
    model, optimizer, X, y = trained_a_little()
    before = state_of(model, optimizer)

    class Fails:
        """Good batches in epoch 1, then a model error in epoch 2."""

        def __init__(self) -> None:
            self.passes = 0

        def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            self.passes += 1
            yield X, y
            yield (X[:, :1], y) if self.passes == 2 else (X, y)

    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        train(model, nn.MSELoss(), optimizer, Fails(), epochs=3)
    assert_same_state(state_of(model, optimizer), before)


def test_a_tensor_the_optimizer_updates_outside_the_model_is_put_back() -> None:
    model, _, X, y = setup()
    scale = torch.ones(1, requires_grad=True)
    optimizer = torch.optim.SGD([*model.parameters(), scale], lr=10.0)
    with pytest.raises(FloatingPointError):
        train(model, lambda out, t: nn.MSELoss()(out * scale, t), optimizer, [(X, y)] * 30)
    assert torch.equal(scale.detach(), torch.ones(1))


def test_an_interrupt_keeps_what_was_trained(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C is the reader stopping a run, not an error: the model is not put back."""
    model, optimizer, X, y = setup()
    before = model.weight.detach().clone()

    def interrupted() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        yield X, y
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(model, nn.MSELoss(), optimizer, interrupted())
    assert not torch.equal(model.weight.detach(), before)


def test_an_earlier_bad_step_is_named_when_the_model_then_fails() -> None:
    """A model that cannot take the NaN weights a bad step left names that step."""
    X, y = synthetic_linear(200, [2.0, -3.4], 4.2, seed=0)

    class Careful(nn.Linear):
        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            if not bool(torch.isfinite(self.weight).all()):
                raise RuntimeError("weights are not finite")
            return super().forward(inputs)

    model = Careful(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    data = list(zip(torch.split(X, 20), torch.split(nan_at(y, 57), 20), strict=True))
    with pytest.raises(ValueError, match=r"epoch 1, batch 3 \(its targets\)") as caught:
        train(model, nn.MSELoss(), optimizer, data)
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_nan_written_into_batches_data_after_the_check_is_found() -> None:
    model, optimizer, X, y = setup()
    X = X.clone()
    loader = batches(X, y, 10, shuffle=False)
    X[73, 0] = math.inf
    with pytest.raises(
        ValueError,
        match=r"'data' holds NaN or infinite values in its X, written after batches\(\) "
        r"checked it: the loss became (inf|nan) in epoch 1, batch 8",
    ):
        train(model, nn.MSELoss(), optimizer, loader)


def test_nan_parameters_at_the_call_are_not_called_divergence() -> None:
    model, optimizer, X, y = setup()
    with torch.no_grad():
        model.weight[0, 0] = math.nan
    with pytest.raises(FloatingPointError, match=r"in epoch 1, batch 1, before any step"):
        train(model, nn.MSELoss(), optimizer, [(X, y)])


def test_an_overflowing_last_step_with_a_finite_loss_is_caught() -> None:
    model, _, X, y = setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e38)
    with pytest.raises(FloatingPointError, match="the parameters became NaN or infinite"):
        train(model, nn.MSELoss(), optimizer, [(X, y)])  # one step: its loss is finite
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())


def test_nan_in_the_inputs_is_an_error_even_when_the_model_masks_it() -> None:
    """As batches() refuses NaN data, so does train, whatever the model does with them."""

    class Masking(nn.Linear):
        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return super().forward(torch.nan_to_num(inputs))

    X, y = synthetic_linear(200, [2.0, -3.4], 4.2, seed=0)
    X[3, 1] = math.nan
    model = Masking(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with pytest.raises(ValueError, match=r"batch 1 \(its inputs\)"):
        train(model, nn.MSELoss(), optimizer, [(X, y)])


@pytest.mark.parametrize("stack_every", [1, 3, 1024])
def test_records_are_the_same_however_often_they_are_stacked(
    stack_every: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_epoch_log, "STACK_EVERY", stack_every)
    model, optimizer, X, y = setup()
    data = list(zip(torch.split(X, 20), torch.split(y, 20), strict=True))
    history = train(model, nn.MSELoss(), optimizer, data, epochs=2)
    monkeypatch.setattr(_epoch_log, "STACK_EVERY", 1024)
    reference_model, reference_optimizer, _, _ = setup()
    assert history == train(reference_model, nn.MSELoss(), reference_optimizer, data, epochs=2)
    data[7] = (data[7][0], nan_at(data[7][1], 0))
    with pytest.raises(ValueError, match=r"epoch 1, batch 8 \(its targets\)"):
        train(model, nn.MSELoss(), optimizer, data)


# --- The host reads the device once an epoch ---------------------------------------------

#: The Tensor methods that copy a value to the host, and so wait for a GPU to finish.
READS = ("item", "tolist", "__bool__", "__float__", "__int__", "cpu", "numpy")


def count_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts = dict.fromkeys(READS, 0)
    for name in READS:
        original = getattr(torch.Tensor, name)

        def counted(
            self: torch.Tensor, *args: object, _name: str = name, _f: Any = original
        ) -> Any:
            counts[_name] += 1
            return _f(self, *args)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return counts


@pytest.mark.parametrize("kind", ["batches", "list"])
def test_the_device_is_read_once_an_epoch(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model, optimizer, X, y = setup()
    data = (
        batches(X, y, 10)
        if kind == "batches"
        else list(zip(torch.split(X, 10), torch.split(y, 10), strict=True))
    )
    counts = count_reads(monkeypatch)
    train(model, nn.MSELoss(), optimizer, data, epochs=3)  # 20 steps an epoch
    assert counts == {**dict.fromkeys(READS, 0), "tolist": 3}


def test_the_read_counter_sees_a_read_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above would catch a loop that calls loss.item() at every step."""
    model, optimizer, X, y = setup()
    counts = count_reads(monkeypatch)
    for xb, yb in zip(torch.split(X, 10), torch.split(y, 10), strict=True):
        loss = nn.MSELoss()(model(xb), yb)
        math.isfinite(loss.item())
        if not torch.isfinite(loss):
            break
    assert counts["item"] == 20 and counts["__bool__"] == 20
