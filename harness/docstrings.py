"""Every docstring mkdocstrings renders, including those of attributes.

Sybil reads the docstrings of modules, classes and functions. mkdocstrings (griffe) also
renders the string that follows an attribute (``x: int = 1`` then ``\"\"\"About x.\"\"\"``),
so an Examples section there would be published without being run. This document type
finds those too.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterator

from sybil import Document
from sybil.document import DOCSTRING_PUNCTUATION, PythonDocStringDocument
from sybil.text import LineNumberOffsets
from sybil.typing import Parser


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


def _source_position(value: str, position: int, start: int, line_starts: list[int]) -> int:
    """Where ``position`` in a docstring's value falls in the file, on the same line.

    Sybil adds a position in the docstring's value to where the docstring starts in the
    file, but escapes (``\\begin`` in a non-raw docstring) make the value shorter than
    the source, so every line after them would be reported too early. Lines, unlike
    characters, match one to one.
    """
    line = value.count("\n", 0, position)
    column = position - (value.rfind("\n", 0, position) + 1)
    if line == 0:
        return start + column
    first_line = bisect.bisect_right(line_starts, start) - 1
    return line_starts[first_line + line] + column


class DocstringsWithAttributes(PythonDocStringDocument):
    """Sybil's docstring document, with attribute docstrings among its docstrings, and
    each example placed on its own line of the file."""

    @classmethod
    def parse(cls, path: str, *parsers: Parser, encoding: str = "utf-8") -> Document:
        with open(path, encoding=encoding) as source:
            document = cls(source.read(), path)
        line_starts = [0] + [m.end() for m in re.finditer("\n", document.text)]
        for start, _, text in cls.extract_docstrings(document.text):
            docstring = cls(text, path)
            for parser in parsers:
                for region in parser(docstring):
                    region.start = _source_position(text, region.start, start, line_starts)
                    region.end = _source_position(text, region.end, start, line_starts)
                    document.add(region)
        return document

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
