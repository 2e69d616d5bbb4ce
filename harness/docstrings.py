"""Every docstring mkdocstrings renders, including those of attributes.

Sybil reads the docstrings of modules, classes and functions. mkdocstrings (griffe) also
renders the string that follows an attribute (``x: int = 1`` then ``\"\"\"About x.\"\"\"``),
so an Examples section there would be published without being run. This document type
finds those too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from sybil.document import DOCSTRING_PUNCTUATION, PythonDocStringDocument
from sybil.text import LineNumberOffsets


def _attribute_docstrings(tree: ast.Module) -> Iterator[ast.Constant]:
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef)):
            continue
        for before, after in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(before, (ast.Assign, ast.AnnAssign))
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                yield after.value


class DocstringsWithAttributes(PythonDocStringDocument):
    """Sybil's docstring document, with attribute docstrings among its docstrings."""

    @staticmethod
    def extract_docstrings(python_source_code: str) -> Iterator[tuple[int, int, str]]:
        yield from PythonDocStringDocument.extract_docstrings(python_source_code)
        offsets = LineNumberOffsets(python_source_code)
        for docstring in _attribute_docstrings(ast.parse(python_source_code)):
            # Positions as Sybil computes them for other docstrings: inside the quotes.
            node_start = offsets.get(docstring.lineno - 1, docstring.col_offset)
            node_end = offsets.get((docstring.end_lineno or 1) - 1, docstring.end_col_offset or 0)
            quotes = DOCSTRING_PUNCTUATION.match(python_source_code, node_start, node_end)
            if quotes is None:
                continue  # an implicitly concatenated string: not a docstring griffe reads
            yield quotes.end(), node_end - len(quotes.group(1)), str(docstring.value)
