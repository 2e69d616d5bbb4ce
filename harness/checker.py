"""Compare what an example printed with what its page shows.

In the cpu pass the comparison is exact: the page shows what Python prints, character
for character (only trailing spaces, which editors strip, are ignored).

The cuda pass runs the same code with CUDA tensors, and forgives exactly two differences
that are not differences in meaning:

* the device, as tensor reprs and ``x.device`` print it, which the page shows as a CPU
  run prints it;
* one unit in the last printed digit of a floating-point element of a tensor repr
  (``tensor([0.1235])`` for ``tensor([0.1234])``), because CUDA kernels may round
  differently. Only inside ``tensor(...)``, only where both sides print the number with
  the same digits and exponent, so a page never shows fewer digits than the code prints.
  Integers, whole-number floats (``tensor(80.)``), Python floats, version strings and
  exception messages must match exactly.
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
    # Legacy type names in error messages: torch.cuda.FloatTensor is a torch.FloatTensor.
    legacy = re.compile(rf"\btorch\.{kind}\.(?=[A-Z]\w*Tensor\b)")
    stripped, suffixes = suffix.subn("", text)
    stripped, legacies = legacy.subn("torch.", stripped)
    stripped, objects = as_object.subn("device(type='cpu')", stripped)
    stripped, strings = as_string.subn("cpu", stripped)
    return stripped, suffixes + legacies + objects + strings > 0


#: A float as torch prints tensor elements: ``0.1235``, ``-3.``, ``1.0000e-05``.
_TENSOR_FLOAT = re.compile(
    r"(?<![\w.])-?(?P<whole>\d+)\.(?P<fraction>\d*)(?:e(?P<exponent>[+-]\d+))?"
)


def tensor_spans(text: str) -> list[tuple[int, int]]:
    """The spans of ``tensor(...)`` reprs in ``text``, each up to its matching parenthesis."""
    spans: list[tuple[int, int]] = []
    for match in re.finditer(r"(?<![\w.])tensor\(", text):
        if spans and match.start() < spans[-1][1]:
            continue  # a tensor inside another's repr (nested tuples print separately)
        depth, position = 1, match.end()
        while position < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[position], 0)
            position += 1
        spans.append((match.start(), position))
    return spans


def _tensor_floats(text: str) -> list[re.Match[str]]:
    spans = tensor_spans(text)
    return [
        number
        for number in _TENSOR_FLOAT.finditer(text)
        if any(start <= number.start() < end for start, end in spans)
    ]


def _within_last_digit(want: re.Match[str], got: re.Match[str]) -> bool:
    # Same digits after the point and the same exponent: the same printed precision.
    if len(want.group("fraction")) != len(got.group("fraction")):
        return False
    if want.group("exponent") != got.group("exponent"):
        return False
    decimals = len(want.group("fraction"))
    if decimals == 0:
        return want.group() == got.group()  # a whole number must be that number
    unit = 10.0 ** (int(want.group("exponent") or 0) - decimals)
    return abs(float(want.group()) - float(got.group())) <= unit * (1 + 1e-9)


def forgive_last_digit(want: str, got: str) -> str:
    """``got`` with each tensor float within one unit of ``want``'s replaced by ``want``'s.

    Only when both print the same number of tensor floats, so that they pair up; the
    exact comparison afterwards then checks every other character.
    """
    wants, gots = _tensor_floats(want), _tensor_floats(got)
    if len(wants) != len(gots):
        return got
    pieces: list[str] = []
    last = 0
    for w, g in zip(wants, gots, strict=True):
        pieces.append(got[last : g.start()])
        pieces.append(w.group() if _within_last_digit(w, g) else g.group())
        last = g.end()
    pieces.append(got[last:])
    return "".join(pieces)


class TensorOutputChecker(OutputChecker):
    """Doctest output checker: exact in the cpu pass; see the module for the cuda pass."""

    def __init__(self, device: str = "cpu") -> None:
        super().__init__()
        self.device = device

    def _as_on_cpu(self, got: str) -> tuple[str, bool]:
        if self.device == "cpu":
            return got, False
        return strip_device(got, self.device)

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        if self.device != "cpu":
            got, had_device = self._as_on_cpu(got)
            if had_device:
                # The suffix may have pushed ``dtype=`` or ``grad_fn=`` onto a new line.
                optionflags |= doctest.NORMALIZE_WHITESPACE
            got = forgive_last_digit(want, got)
        return super().check_output(want, got, optionflags)

    def output_difference(self, example: doctest.Example, got: str, optionflags: int) -> str:
        got, _ = self._as_on_cpu(got)
        return super().output_difference(example, got, optionflags)
