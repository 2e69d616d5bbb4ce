"""Pictures drawn by a page's own code: run it, keep every figure it drew as SVG.

A figure fence (```` ```python figure="Loss per epoch" ````) holds ordinary matplotlib
code that ends in ``plt.show()``, as a reader would write it. The site build and the tests
both run it through :func:`capture_figures`, in the page's namespace and in page order,
so the picture on the page is the one the tested code draws.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from types import CodeType
from typing import Any

import matplotlib

# No display: draw into memory, on every machine, in CI and at site build alike.
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402


@contextlib.contextmanager
def _show_draws_nothing() -> Iterator[None]:
    # plt.show() ends a reader's script; here the figures are kept for the page instead
    # (and Agg would warn that it cannot show a window).
    original = plt.show
    plt.show = lambda *args, **kwargs: None
    try:
        yield
    finally:
        plt.show = original


def figure_svg(figure: Any) -> str:
    """One figure as an inline ``<svg>`` element, byte-for-byte the same on every build."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "tensorkit", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = buffer.getvalue()
    # Keep the element only: the XML declaration and DOCTYPE are for standalone files.
    return svg[svg.index("<svg") :].strip()


def capture_figures(
    code: CodeType, namespace: dict[str, Any], render: bool = True
) -> tuple[list[str], str]:
    """Run ``code`` in ``namespace``; return the figures it drew and what it printed.

    With ``render``, each figure comes back as SVG, for the site. Without, only the fact
    that it was drawn (an empty string per figure): the tests check that a figure fence
    draws, and the site build, which the tests also run, renders every figure anyway.

    Figures open before the code ran are closed first, and the drawn ones after, so each
    fence shows only its own pictures.
    """
    plt.close("all")
    printed = io.StringIO()
    try:
        with _show_draws_nothing(), contextlib.redirect_stdout(printed):
            exec(code, namespace)
        numbers = plt.get_fignums()
        figures = [figure_svg(plt.figure(n)) if render else "" for n in numbers]
    finally:
        plt.close("all")
    return figures, printed.getvalue()
