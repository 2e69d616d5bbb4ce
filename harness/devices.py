"""Run unchanged example code with its tensors on another device.

A page's code is plain PyTorch: ``torch.randn(3)``, ``nn.Linear(2, 1)``. For the cuda pass
the harness, not the page, puts those tensors on the GPU: :func:`device_pass` makes the
device the default for new tensors (``torch.device`` as a context manager, PyTorch's own
mechanism) and routes every random draw through the CPU generator.

Why the CPU generator: CPU and CUDA have different random number generators, so
``torch.manual_seed(0); torch.randn(3)`` gives different numbers on each. Drawing on the
CPU and moving the result keeps one expected output valid on both devices, and consumes
the CPU generator exactly as the CPU pass does, so later draws agree as well.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_map

#: Factories that draw random numbers and accept ``device=``.
RANDOM_FACTORIES: frozenset[Callable[..., Any]] = frozenset(
    {torch.rand, torch.randn, torch.randint, torch.randperm}
)
#: Functions that draw random numbers on the device of their tensor arguments. The
#: ``torch.nn.functional`` ones dispatch as one call, so the draws inside them are not
#: seen separately.
RANDOM_FROM_INPUTS: frozenset[Callable[..., Any]] = frozenset(
    {
        torch.normal,
        torch.rand_like,
        torch.randn_like,
        torch.randint_like,
        torch.bernoulli,
        torch.multinomial,
        torch.poisson,
        torch.nn.functional.dropout,
        torch.nn.functional.dropout1d,
        torch.nn.functional.dropout2d,
        torch.nn.functional.dropout3d,
        torch.nn.functional.alpha_dropout,
        torch.nn.functional.feature_alpha_dropout,
        torch.nn.functional.rrelu,
    }
)
#: ``torch.nn.init`` functions that dispatch as one call: every ``nn`` layer's reset uses
#: them (``nn.Linear`` calls ``kaiming_uniform_`` and ``uniform_``). They fill their
#: tensor in place, under ``no_grad``.
RANDOM_INIT: frozenset[Callable[..., Any]] = frozenset(
    {torch.nn.init.uniform_, torch.nn.init.normal_, torch.nn.init.kaiming_uniform_}
)
#: In-place random fills called as tensor methods.
RANDOM_IN_PLACE: frozenset[Callable[..., Any]] = frozenset(
    {
        torch.Tensor.uniform_,
        torch.Tensor.normal_,
        torch.Tensor.bernoulli_,
        torch.Tensor.random_,
        torch.Tensor.exponential_,
        torch.Tensor.geometric_,
        torch.Tensor.cauchy_,
        torch.Tensor.log_normal_,
    }
)


def _to_cpu(value: Any) -> Any:
    return value.cpu() if isinstance(value, torch.Tensor) else value


def _first_tensor_device(args: Sequence[Any], default: torch.device) -> torch.device:
    for arg in args:
        if isinstance(arg, torch.Tensor):
            return arg.device
    return default


class CpuRandomness(TorchFunctionMode):
    """Draw random numbers with the CPU generator, then place them on ``device``.

    Calls that name a ``generator`` or a ``device`` themselves are left alone: the code
    asked for that generator or device explicitly. Moving a result to the device is one
    more autograd step, so a random result that requires grad shows ``ToCopyBackward0``
    as its ``grad_fn`` in the cuda pass; leaves made by factories stay leaves.

    A mode does not see the calls made inside a call it handles, so functions that draw
    internally and dispatch as a whole (``nn.init``, dropout) are listed themselves.
    """

    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.device = device

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Sequence[type],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        call_kwargs = dict(kwargs or {})
        generator = call_kwargs.get("generator")
        if generator is not None and func in RANDOM_FACTORIES:
            # Draw where the generator lives, as DataLoader's shuffling expects.
            call_kwargs.setdefault("device", generator.device)
        if generator is not None or call_kwargs.get("device") is not None:
            return func(*args, **call_kwargs)
        if func in RANDOM_INIT:
            with torch.no_grad():
                return self._fill_in_place(func, args, call_kwargs)
        if func in RANDOM_IN_PLACE:
            return self._fill_in_place(func, args, call_kwargs)
        if func in RANDOM_FACTORIES or func in RANDOM_FROM_INPUTS:
            return self._draw(func, args, call_kwargs)
        return func(*args, **call_kwargs)

    def _draw(self, func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        target = _first_tensor_device(args, self.device)
        # Moving a tensor that requires grad would make it a non-leaf; set the flag after.
        requires_grad = bool(kwargs.pop("requires_grad", False))
        if func in RANDOM_FACTORIES:
            kwargs["device"] = "cpu"
        drawn = func(*tree_map(_to_cpu, list(args)), **tree_map(_to_cpu, kwargs))
        placed = drawn.to(target)
        return placed.requires_grad_() if requires_grad else placed

    @staticmethod
    def _fill_in_place(
        func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]
    ) -> Any:
        # nn.init passes the tensor by keyword when it dispatches, methods positionally.
        if "tensor" in kwargs:
            tensor, rest = kwargs.pop("tensor"), list(args)
        else:
            tensor, rest = args[0], list(args[1:])
        if tensor.device.type == "cpu":
            return func(tensor, *rest, **kwargs)
        # These functions overwrite every element, so an empty CPU stand-in of the same
        # shape draws exactly what the CPU pass draws.
        draw = torch.empty(tensor.shape, dtype=tensor.dtype, device="cpu")
        func(draw, *tree_map(_to_cpu, rest), **tree_map(_to_cpu, kwargs))
        return tensor.copy_(draw)


@contextlib.contextmanager
def device_pass(device: str) -> Iterator[None]:
    """Run the enclosed code as if ``device`` were the only device it knew.

    ``"cpu"`` changes nothing. Any other device becomes the default for new tensors, and
    random draws go through the CPU generator (see :class:`CpuRandomness`).
    """
    if device == "cpu":
        yield
        return
    target = torch.device(device)
    with target, CpuRandomness(target):
        yield


def cuda_available() -> bool:
    """Tell whether the cuda pass can run here."""
    return torch.cuda.is_available()
