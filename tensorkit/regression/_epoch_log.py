"""The records one epoch of ``train`` leaves on the device, and the error they call for.

Reading a loss on the host (``loss.item()``) makes the host wait until the device has
finished every step queued so far; doing that after every step would stall a GPU once
per step. So each step only *records* its 0-d loss, still on the device, and, for data
not already checked by ``batches()``, a 0-d "probe" of its inputs and targets that is
finite exactly when they are. The end of each epoch, which needs the epoch's loss on the
host anyway, copies all of the records to the host in one transfer and looks for the
first bad one.
"""

from __future__ import annotations

import math

import torch

from tensorkit.regression.minibatch import Batches

#: The records of this many steps are stacked into one tensor on the device, so that a
#: long epoch keeps a few large tensors rather than one small tensor per step.
STACK_EVERY = 1024


#: Floating dtypes whose finite values no float64 sum can overflow.
_NARROW = frozenset({torch.float16, torch.bfloat16, torch.float32})


def finite_probe(tensor: torch.Tensor, placeholder: torch.Tensor, *, wide: bool) -> torch.Tensor:
    """A 0-d tensor that is finite exactly when every value of ``tensor`` is.

    One reduction, queued on the device, read at the epoch's end. A float32 (or
    narrower) tensor is summed in float64 where the device has it (``wide``): no finite
    float32 values can overflow that. Others sum ``tensor * 0``, which is 0 for finite
    values and NaN for NaN or infinite ones. Integer and bool tensors are always finite,
    so they get ``placeholder``, a 0-d zero. A tensor that requires grad is detached
    first, or its probe would keep its graph, and the batch, alive until the epoch ends.
    """
    if not (tensor.is_floating_point() or tensor.is_complex()):
        return placeholder
    if tensor.requires_grad:
        tensor = tensor.detach()
    if wide and tensor.dtype in _NARROW:
        return tensor.sum(dtype=torch.float64)
    return (tensor * 0).sum().abs()  # abs: a real number for complex data


class EpochLog:
    """What the steps of one epoch leave on the device, read on the host once, at its end.

    Each step appends its 0-d loss and, with ``probes``, the probes of its inputs and
    targets: nothing of it waits for the device.
    """

    def __init__(self, *, probes: bool) -> None:
        self.sizes: list[int] = []
        self.width = 3 if probes else 1  # records per step
        self._pending: list[torch.Tensor] = []
        self._stacked: list[torch.Tensor] = []
        self._placeholder: torch.Tensor | None = None
        self._wide = True  # whether the records' device has float64 (MPS has not)

    def record(self, loss: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.sizes.append(len(inputs))
        loss = loss.detach()
        if self._placeholder is None:  # the records live where the first loss does
            self._placeholder = torch.zeros((), device=loss.device)
            self._wide = loss.device.type != "mps"
        self._pending.append(loss)
        if self.width == 3:
            self._pending.append(self.probe(inputs))
            self._pending.append(self.probe(targets))
        if len(self._pending) >= STACK_EVERY * self.width:
            self._stack()

    def probe(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor``'s probe, on the records' device (see :func:`finite_probe`)."""
        if self._placeholder is None:
            raise RuntimeError("EpochLog.probe() before the first record")
        return finite_probe(tensor, self._placeholder, wide=self._wide)

    def _stack(self) -> None:
        if not self._pending:
            return
        try:
            stacked = torch.stack(self._pending)
        except RuntimeError:  # records on several devices: a loss_fn that moves tensors
            device = self._pending[0].device
            stacked = torch.stack([t.to(device) for t in self._pending])
        self._stacked.append(stacked)
        self._pending = []

    def read(self, extra: list[torch.Tensor]) -> tuple[list[float], list[float]]:
        """The records as floats, and those of ``extra`` (0-d tensors): one transfer."""
        self._pending.extend(extra)
        self._stack()
        if not self._stacked:
            return [], []
        device = self._stacked[0].device
        values: list[float] = torch.cat([t.to(device) for t in self._stacked]).tolist()
        self._stacked = []
        split = len(values) - len(extra)
        return values[:split], values[split:]


def first_bad(values: list[float]) -> int | None:
    return next((k for k, value in enumerate(values) if not math.isfinite(value)), None)


def holds_bad_values(tensor: torch.Tensor) -> bool:
    if not (tensor.is_floating_point() or tensor.is_complex()):
        return False
    return not bool(torch.isfinite(tensor).all())


def data_error(epoch: int, batch: int, where: str) -> ValueError:
    return ValueError(
        f"train() argument 'data' yielded a batch holding NaN or infinite values in "
        f"epoch {epoch}, batch {batch} ({where}); clean the data first"
    )


def diagnose(log: EpochLog, records: list[float], data: object, epoch: int) -> Exception | None:
    """The error the first bad record of an epoch calls for, or None if all are finite."""
    width = log.width
    losses = records[0::width]
    bad_loss = first_bad(losses)
    if width == 3:
        inputs, targets = records[1::width], records[2::width]
        bad_inputs, bad_targets = first_bad(inputs), first_bad(targets)
        bad_data = min((k for k in (bad_inputs, bad_targets) if k is not None), default=None)
        if bad_data is not None and (bad_loss is None or bad_data <= bad_loss):
            parts = [
                name
                for name, bad in (("its inputs", bad_inputs), ("its targets", bad_targets))
                if bad == bad_data
            ]
            return data_error(epoch, bad_data + 1, " and ".join(parts))
    if bad_loss is None:
        return None
    if isinstance(data, Batches):
        # batches() checked X and y when it was made, so its steps carry no probes; a
        # NaN written into them since then is found here, on the error path only.
        for name, tensor in (("X", data.X), ("y", data.y)):
            if holds_bad_values(tensor):
                return ValueError(
                    f"train() argument 'data' holds NaN or infinite values in its {name}, "
                    f"written after batches() checked it: the loss became "
                    f"{losses[bad_loss]} in epoch {epoch}, batch {bad_loss + 1}; clean the "
                    "data first"
                )
    if epoch == 1 and bad_loss == 0:
        return FloatingPointError(
            f"train(): the loss was {losses[0]} in epoch 1, batch 1, before any step, on "
            "finite data; check that the model's parameters are finite and that loss_fn "
            "gives a finite loss for this output"
        )
    return FloatingPointError(
        f"train(): the loss became {losses[bad_loss]} in epoch {epoch}, batch "
        f"{bad_loss + 1}: training diverged; lower the optimizer's learning rate"
    )


def close_epoch(log: EpochLog, parameters: list[torch.Tensor], data: object, epoch: int) -> float:
    """The epoch's loss; an error if a record, or a parameter, is not finite."""
    if not log.sizes:
        raise ValueError(
            f"train() argument 'data' gave no batches in epoch {epoch}; pass "
            "something that can be iterated once per epoch, such as batches(X, y, "
            "64) or a DataLoader, not a generator"
        )
    # A last step's update can overflow with every loss still finite: the parameters
    # are probed too, once an epoch, in the same transfer.
    records, checked = log.read([log.probe(p) for p in parameters])
    error = diagnose(log, records, data, epoch)
    if error is not None:
        raise error
    if first_bad(checked) is not None:
        raise FloatingPointError(
            f"train(): the parameters became NaN or infinite in epoch {epoch}, though "
            "every loss was finite: a step's update overflowed; lower the optimizer's "
            "learning rate"
        )
    # The same sum, in the same order, as adding up loss.item() * size step by step.
    total = 0.0
    for value, size in zip(records[0 :: log.width], log.sizes, strict=True):
        total += value * size
    return total / sum(log.sizes)
