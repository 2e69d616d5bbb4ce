"""Compare what an example printed with what its page shows, on any device.

Two differences between a CPU run and a CUDA run are not differences in meaning, and
only those two are forgiven:

* the device in a tensor's repr (``device='cuda:0'``), which the page never shows;
* the last printed digit of a float, because CUDA kernels may round differently.

Everything else must match exactly, as :mod:`doctest` would require.
"""

from __future__ import annotations

import doctest
import re

from sybil.evaluators.doctest import OutputChecker

#: The device suffix torch adds to the repr of a tensor that is not on the CPU. It may
#: follow a line break when the repr is long, hence ``\s*``.
DEVICE_SUFFIX = re.compile(r",\s*device='(?:cuda|mps|xpu|meta)(?::\d+)?'")


def strip_device(text: str) -> tuple[str, bool]:
    """Remove device suffixes from tensor reprs; say whether there were any."""
    stripped, count = DEVICE_SUFFIX.subn("", text)
    return stripped, count > 0


def _decimals_and_exponent(match: re.Match[str]) -> tuple[int, int]:
    fraction = match.group("fraction") or ""
    exponent = match.group("exponent1") or match.group("exponent2") or "0"
    return len(fraction), int(exponent)


class TensorOutputChecker(OutputChecker):
    """Doctest output checker that forgives device suffixes and the last printed digit.

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
        for w, g in zip(wants, gots):
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

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        got, had_device = strip_device(got)
        if had_device:
            # The suffix may have pushed ``dtype=`` or ``grad_fn=`` onto a new line.
            optionflags |= doctest.NORMALIZE_WHITESPACE
        got = self._remove_unwanted_precision(want, got)
        return super().check_output(want, got, optionflags)

    def output_difference(self, example: doctest.Example, got: str, optionflags: int) -> str:
        got, _ = strip_device(got)
        return super().output_difference(example, got, optionflags)
