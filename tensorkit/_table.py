"""Plain-text tables: one formatter for every aligned table tensorkit and its tools print."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    rule: bool = False,
    right: Sequence[bool] | None = None,
) -> str:
    """Align ``rows`` under ``header`` in columns two spaces apart.

    Args:
        header: The column titles.
        rows: The cells, one sequence of strings per row, as many as ``header`` has.
        rule: Whether a line of dashes separates the header from the rows.
        right: For each column, whether it is right-aligned (numbers); left by default.

    Returns:
        The table as lines joined by newlines, without trailing spaces.
    """
    lines = [list(header), *(list(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    alignment = list(right) if right is not None else [False] * len(header)

    def join(cells: Sequence[str]) -> str:
        aligned = (
            cell.rjust(width) if flush_right else cell.ljust(width)
            for cell, width, flush_right in zip(cells, widths, alignment, strict=True)
        )
        return "  ".join(aligned).rstrip()

    text = [join(line) for line in lines]
    if rule:
        text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(text)
