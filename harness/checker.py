"""Compare what an example printed with what its page shows, on any device.

Two differences between a CPU run and a CUDA run are not differences in meaning, and
only those two are forgiven:

* the device, as tensor reprs and ``x.device`` print it, which the page shows as a CPU
  run prints it;
* the last printed digit of a float, because CUDA kernels may round differently.

Everything else must match exactly, as :mod:`doctest` would require.
"""

from __future__ import annotations

import doctest
import re

import torch
from sybil.evaluators.doctest import OutputChecker


def strip_device(text: str, device: str) -> tuple[str, bool]:
    """Print ``device`` (``"cuda"``) as a CPU run would; say whether anything changed.

    A tensor repr loses its ``device='cuda:0'`` suffix (a CPU tensor's repr has none),
    ``device(type='cuda', index=0)`` becomes ``device(type='cpu')``, and a bare
    ``cuda:0`` (as ``str(x.device)`` prints it) becomes ``cpu``.
    """
    kind = re.escape(torch.device(device).type)
    # The suffix may follow a line break when the repr is long, hence \s*.
    suffix = re.compile(rf",\s*device='{kind}(?::\d+)?'")
    as_object = re.compile(rf"device\(type='{kind}'(?:, index=\d+)?\)")
    # A whole device name only: not 'cudart', a quoted 'cuda' or the module torch.cuda.
    as_string = re.compile(rf"(?<![\w'\".]){kind}(?::\d+)?(?![\w'\"(]|\.\w)")
    stripped, suffixes = suffix.subn("", text)
    stripped, objects = as_object.subn("device(type='cpu')", stripped)
    stripped, strings = as_string.subn("cpu", stripped)
    return stripped, suffixes + objects + strings > 0


def _decimals_and_exponent(match: re.Match[str]) -> tuple[int, int]:
    fraction = match.group("fraction") or ""
    exponent = match.group("exponent1") or match.group("exponent2") or "0"
    return len(fraction), int(exponent)


class TensorOutputChecker(OutputChecker):
    """Doctest output checker that forgives the pass's device and the last printed digit.

    In the cpu pass outputs are compared as printed; in another pass, devices are first
    printed as the cpu pass prints them (:func:`strip_device`).

    A float that the page prints with ``d`` decimals matches a float printed within one
    unit of its last digit (``0.1235`` matches ``0.1234``). A float printed with no
    decimals, as torch prints whole numbers (``tensor(80.)``), matches only the same
    whole number, or a value within one unit of the other side's last printed digit
    (``80.0001``): so ``tensor(81.)`` never passes for ``tensor(80.)``.
    """

    def _remove_unwanted_precision(self, want: str, got: str) -> str:
        wants = list(self._number_re.finditer(want))
        gots = list(self._number_re.finditer(got))
        if len(wants) != len(gots):
            return got
        pieces: list[str] = []
        last = 0
        for w, g in zip(wants, gots, strict=True):
            w_decimals, w_exponent = _decimals_and_exponent(w)
            g_decimals, g_exponent = _decimals_and_exponent(g)
            if w_decimals:
                tolerance = 10.0 ** (w_exponent - w_decimals)
            elif g_decimals:
                tolerance = 10.0 ** (g_exponent - g_decimals)
            else:
                tolerance = 0.0
            pieces.append(got[last : g.start()])
            close = abs(float(w.group()) - float(g.group())) <= tolerance * (1 + 1e-9)
            # Replace the number we got by the one we want only when they agree, so that
            # the literal comparison afterwards checks all the text between numbers.
            pieces.append(w.group() if close else g.group())
            last = g.end()
        pieces.append(got[last:])
        return "".join(pieces)

    def __init__(self, device: str = "cpu") -> None:
        super().__init__()
        self.device = device

    def _as_on_cpu(self, got: str) -> tuple[str, bool]:
        if self.device == "cpu":
            return got, False
        return strip_device(got, self.device)

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        got, had_device = self._as_on_cpu(got)
        if had_device:
            # The suffix may have pushed ``dtype=`` or ``grad_fn=`` onto a new line.
            optionflags |= doctest.NORMALIZE_WHITESPACE
        got = self._remove_unwanted_precision(want, got)
        return super().check_output(want, got, optionflags)

    def output_difference(self, example: doctest.Example, got: str, optionflags: int) -> str:
        got, _ = self._as_on_cpu(got)
        return super().output_difference(example, got, optionflags)
