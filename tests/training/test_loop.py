"""tensorkit.regression.loop: train, its loss history, its progress bar and its checks."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tensorkit.regression import batches, loop, synthetic_linear, train


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
    assert history == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(model.weight, reference.weight)
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
        match=r"loss became (inf|nan) in epoch \d+: training "
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
        r"infinite values in epoch 1",
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
    if "loss_fn" not in change:  # a bad loss is only found after the forward pass
        assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before, strict=True))


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
