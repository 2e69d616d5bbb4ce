"""A page as a script and as a notebook a reader downloads, generated from the page.

Both are made from one list of :class:`Cell`: the page's prose, and its examples split
so that each code cell ends with one shown output.

* The **script** (``page.py``) prints every value the page shows: a bare expression that
  a session displays, ``w.grad``, becomes ``print(w.grad)``, and the page's output
  stands beneath in ``#>`` comments, so running it reproduces the page line for line.
  A statement the page shows raising is wrapped so that the script goes on, printing
  the exception's last line as the page shows it.
* The **notebook** (``page.ipynb``) holds the prose as Markdown cells and each code cell
  with the output the page shows stored in it, so that it reads like the page before it
  is run.

A display that a script cannot reproduce with one ``print`` (two values shown by one
session line, a value shown from inside a loop) is refused, naming the page line: the
page should print it.
"""

from __future__ import annotations

import ast
import doctest
import io
import json
import posixpath
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.collect import ROOT, pages
from harness.fences import OUTPUT_COMMENT, output_comment_text, runnable_code, strip_directives
from harness.skips import SkipDirective, skip_note_title

_TITLE = re.compile(r"^#\s+(?P<title>.+)$", re.MULTILINE)
_EXCEPTION_NAME = re.compile(r"^(?P<name>[\w.]+)(?::|$)")
#: Outputs that ``print(value)`` would show differently from a session's ``repr``:
#: strings, bytes, NumPy arrays and scalars, devices. Those scripts print ``repr(value)``.
_REPR_SHOWN = re.compile(r"""^(?:['"]|b['"]|array\(|np\.|device\(|\w+\(['"])""")


class DownloadError(ValueError):
    """A page example that a download cannot reproduce as the page shows it."""


@dataclass(frozen=True)
class Output:
    """One output a cell shows, as the page shows it."""

    #: ``value``: a displayed expression's repr; ``stdout``: printed text; ``error``: the
    #: last line of a traceback; ``figure``: the figures a figure fence draws.
    kind: Literal["value", "stdout", "error", "figure"]
    text: str
    #: For ``error``: the exception's name as the page shows it.
    name: str = ""


@dataclass(frozen=True)
class Cell:
    """A piece of the page: prose, or code with the outputs the page shows for it."""

    kind: Literal["markdown", "code"]
    #: Markdown, or the code as a notebook runs it (bare expressions kept).
    source: str
    #: The page line the code starts on (0 for prose).
    line: int = 0
    #: The code as the script runs it, ``#>`` comments included.
    script: str = ""
    outputs: tuple[Output, ...] = field(default=())


def page_title(page: Path) -> str:
    match = _TITLE.search(page.read_text(encoding="utf-8"))
    return match.group("title").strip() if match else page.stem


# Prose: Markdown that reads the same in a notebook.

_ADMONITION = re.compile(
    r'^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?)[ \t]+(?P<type>[\w-]+)(?:[ \t]+"(?P<title>[^"]*)")?'
)
_HEADING_ATTRIBUTES = re.compile(r"^(#{1,6} .*?)[ \t]*\{[^}]*\}[ \t]*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PAGE_LINK = re.compile(r"\]\((?P<target>[^)\s:]+?\.md)(?P<anchor>#[^)\s]*)?\)")


def _site_url(page: str, target: str) -> str:
    """Where a link from ``page`` to ``target`` (both under docs/) points on the site.

    The download sits in the folder of the page's HTML, as mkdocs' directory URLs lay
    them out (``autograd/basics.md`` is ``autograd/basics/``).
    """

    def folder(source: str) -> str:
        stem = source[: -len(".md")]
        return posixpath.dirname(stem) if posixpath.basename(stem) == "index" else stem

    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), target))
    relative = posixpath.relpath(folder(resolved) or ".", folder(page) or ".")
    return "./" if relative == "." else relative + "/"


class _Prose:
    """Turns the page's Markdown between examples into notebook Markdown.

    Admonitions become a bold title over their body, dedented (indented text would be a
    code block in a notebook); heading attributes and HTML comments go; links to pages
    point to the site's pages, relative to the download.
    """

    def __init__(self, page: str) -> None:
        self.page = page
        #: Indents of the admonitions open at this point of the page.
        self.open: list[int] = []

    def convert(self, text: str) -> str:
        out = []
        for line in _COMMENT.sub("", text).split("\n"):
            width = len(line) - len(line.lstrip())
            if line.strip():
                while self.open and width < self.open[-1] + 4:
                    self.open.pop()
            depth = len(self.open)
            line = line[4 * depth :] if line[: 4 * depth].strip() == "" else line.lstrip()
            if header := _ADMONITION.match(line):
                title = header.group("title")
                if title is None:
                    title = header.group("type").capitalize()
                out.append(f"**{title}**" if title else "")
                self.open.append(width)
                continue
            out.append(_HEADING_ATTRIBUTES.sub(r"\1", line))
        converted = "\n".join(out)
        return _PAGE_LINK.sub(
            lambda m: f"]({_site_url(self.page, m.group('target'))}{m.group('anchor') or ''})",
            converted,
        )


# Sessions: each displayed value printed, each expected exception caught.


def _exception(session: doctest.Example) -> tuple[str, str]:
    """The exception's name and the traceback's last line, as the page shows them."""
    message = (session.exc_msg or "").rstrip("\n")
    match = _EXCEPTION_NAME.match(message)
    return (match.group("name") if match else "Exception"), message


def _offset(line: str, utf8_column: int) -> int:
    return len(line.encode("utf-8")[:utf8_column].decode("utf-8"))


def _display_expressions(tree: ast.Module) -> Iterator[ast.Expr]:
    """Expression statements a session displays: those not inside a def or class."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Expr):
            yield node
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            pending.extend(
                child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)
            )


def _is_print(node: ast.Expr) -> bool:
    call = node.value
    return (
        isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print"
    )


def _parenthesized(expression: str) -> bool:
    """Tell whether one pair of brackets encloses all of ``expression``: ``(a, b)``."""
    depth = 0
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(expression).readline)
        if t.type == tokenize.OP
    ]
    for index, token in enumerate(tokens):
        depth += token.string in "([{"
        depth -= token.string in ")]}"
        if depth == 0:
            return index == len(tokens) - 1 and tokens[0].string == "("
    return False


def _printing(code: str, want: str, where: str) -> tuple[str, bool]:
    """The session line(s) as a script writes them, and whether a value is displayed.

    A bare expression whose value the page shows is wrapped in ``print``; the
    expression keeps its comment, and ``repr`` is printed where ``print`` would show
    the value differently (a string, a NumPy array).
    """
    tree = ast.parse(code)
    node = tree.body[-1]
    # A call made as a statement inside a block is made for what it does, and returns
    # None (the download tests would catch one that returns a value the page shows).
    shown = [
        expression
        for expression in _display_expressions(tree)
        if not _is_print(expression)
        and (expression is node or not isinstance(expression.value, ast.Call))
    ]
    if not want or not shown:
        return code, False
    if len(shown) > 1 or shown[0] is not node:
        raise DownloadError(
            f"{where}: this session line displays a value a script cannot print as shown "
            "(several expressions, or one inside a block); print it with print() instead"
        )
    assert isinstance(node, ast.Expr)
    assert node.end_lineno is not None and node.end_col_offset is not None
    as_repr = bool(_REPR_SHOWN.match(want))
    lines = code.split("\n")
    first, last = node.lineno - 1, node.end_lineno - 1
    start = _offset(lines[first], node.col_offset)
    end = _offset(lines[last], node.end_col_offset)
    # A tuple displayed as ``a, b`` is printed as one value, not as print's arguments.
    if first == last:
        segment = lines[first][start:end]
    else:
        segment = "\n".join([lines[first][start:], *lines[first + 1 : last], lines[last][:end]])
    bare_tuple = isinstance(node.value, ast.Tuple) and not _parenthesized(segment)
    opening = "print(" + ("repr(" if as_repr else "") + ("(" if bare_tuple else "")
    lines[last] = lines[last][:end] + ")" * opening.count("(") + lines[last][end:]
    lines[first] = lines[first][:start] + opening + lines[first][start:]
    return "\n".join(lines), True


def _comments(text: str) -> str:
    """Output as ``#>`` lines, as the page shows it (doctest's blank-line marker too)."""
    lines = text.rstrip("\n").split("\n")
    return "".join("#>\n" if line in ("", "<BLANKLINE>") else f"#> {line}\n" for line in lines)


def _shown(want: str) -> str:
    """What the session's output is, with doctest's ``<BLANKLINE>`` as the empty line."""
    return "\n".join("" if line == "<BLANKLINE>" else line for line in want.split("\n"))


def _session_cells(source: str, first_line: int, page: str) -> list[Cell]:
    """A session split after each example that shows output, one cell per output."""
    cells: list[Cell] = []
    code: list[str] = []
    script: list[str] = []
    start = 0
    for session in doctest.DocTestParser().get_examples(source):
        line = first_line + 1 + session.lineno  # the fence's first line, then the example's
        where = f"docs/{page}:{line}"
        statement = strip_directives(session.source)
        if not code:
            start = line
        code.append(statement)
        outputs: tuple[Output, ...] = ()
        if session.exc_msg is not None:
            name, message = _exception(session)
            body = "".join("    " + part + "\n" for part in statement.rstrip("\n").split("\n"))
            printed = f'print("{name}:", error)' if ":" in message else f'print("{name}")'
            script.append(
                f"try:\n{body}except {name} as error:  # the page shows this error\n"
                f"    {printed}\n{_comments(message)}"
            )
            outputs = (Output("error", message, name),)
        else:
            printed_code, displays = _printing(statement.rstrip("\n"), session.want, where)
            script.append(printed_code + "\n")
            if session.want:
                script.append(_comments(session.want))
                kind: Literal["value", "stdout"] = "value" if displays else "stdout"
                outputs = (Output(kind, _shown(session.want)),)
        if outputs:
            cells.append(Cell("code", "".join(code), start, "".join(script), outputs))
            code, script = [], []
    if code:
        cells.append(Cell("code", "".join(code), start, "".join(script)))
    return cells


def _program_cell(program: str, line: int) -> Cell:
    """A snippet program: one cell, whose output is all its ``#>`` lines."""
    shown = [
        output_comment_text(line) for line in program.splitlines() if OUTPUT_COMMENT.match(line)
    ]
    outputs = (Output("stdout", "\n".join(shown) + "\n"),) if shown else ()
    return Cell("code", runnable_code(program, session=False), line, program, outputs)


def _skip_reason(directive: SkipDirective) -> str | None:
    """Why the next example is left out of a download, which a reader runs on the CPU.

    An example that needs an optional package stays in: the install page lists it.
    """
    if directive.action != "next" or directive.needs is not None:
        return None
    if not directive.applies_to("cpu"):
        return None
    return directive.reason


def page_cells(page: Path, root: Path = ROOT) -> list[Cell]:
    """The page as prose and code cells, in page order."""
    relative = page.relative_to(root / "docs").as_posix()
    text = page.read_text(encoding="utf-8")
    prose = _Prose(relative)
    cells: list[Cell] = []
    last = 0
    skip_next: str | None = None

    def add_prose(until: int) -> None:
        markdown = prose.convert(text[last:until]).strip("\n")
        if markdown.strip():
            cells.append(Cell("markdown", markdown + "\n"))

    for example in pages("cpu", root).parse(page).examples():
        add_prose(example.start)
        last = example.end
        parsed = example.parsed
        if isinstance(parsed, SkipDirective):
            skip_next = _skip_reason(parsed)
            continue
        body = parsed.body
        if skip_next is not None:
            note = f"**{skip_note_title(None)}:** {skip_next}\n\n```python\n{body.source}```\n"
            cells.append(Cell("markdown", note))
            skip_next = None
        elif body.kind == "include":
            for path in body.includes:
                program = (root / "snippets" / path).read_text(encoding="utf-8")
                cells.append(_program_cell(program, example.line + 1))
        elif body.kind == "doctest":
            cells.extend(_session_cells(body.source, example.line, relative))
        else:
            code = runnable_code(body.source, session=False)
            outputs = (Output("figure", body.caption or ""),) if body.kind == "figure" else ()
            cells.append(Cell("code", code, example.line + 1, code, outputs))
    add_prose(len(text))
    return cells


def page_script(page: Path, cells: list[Cell] | None = None, root: Path = ROOT) -> str:
    """The page's examples as one Python script that prints what the page shows."""
    relative = page.relative_to(root / "docs").as_posix()
    lines = [
        f"# {page_title(page)}",
        f"# The examples of docs/{relative}, in page order. Each value the page shows is",
        "# printed, with the page's output beneath it in #> comments.",
        "",
    ]
    for cell in page_cells(page, root) if cells is None else cells:
        if cell.kind == "code":
            lines += [f"# docs/{relative}:{cell.line}", cell.script.rstrip("\n"), ""]
    return "\n".join(lines)


def _notebook_outputs(cell: Cell, figures: list[list[str]]) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = []
    for output in cell.outputs:
        if output.kind == "value":
            data = {"text/plain": output.text.rstrip("\n").splitlines(keepends=True)}
            outputs.append(
                {
                    "output_type": "execute_result",
                    "execution_count": None,
                    "data": data,
                    "metadata": {},
                }
            )
        elif output.kind == "stdout":
            text = output.text.splitlines(keepends=True)
            outputs.append({"output_type": "stream", "name": "stdout", "text": text})
        elif output.kind == "error":
            value = output.text[len(output.name) :].removeprefix(":").strip()
            outputs.append(
                {
                    "output_type": "error",
                    "ename": output.name.rsplit(".", 1)[-1],
                    "evalue": value,
                    "traceback": [output.text],
                }
            )
        elif figures:
            for svg in figures.pop(0):
                outputs.append(
                    {"output_type": "display_data", "data": {"image/svg+xml": svg}, "metadata": {}}
                )
    return outputs


#: The notebook's first cell: Jupyter would wrap a long tuple or list over several lines,
#: where the page, like Python, shows its repr on one.
PLAIN_REPR = (
    "# Show values as Python shows them, as the page does.\n"
    "%config PlainTextFormatter.pprint = False\n"
)


def page_notebook(
    page: Path,
    cells: list[Cell] | None = None,
    figures: list[list[str]] | None = None,
    root: Path = ROOT,
) -> dict[str, Any]:
    """The page as a Jupyter notebook (nbformat 4.5) with the outputs the page shows.

    ``figures`` are the SVG figures of the page's figure fences, in order, if drawn.
    """
    relative = page.relative_to(root / "docs").as_posix()
    remaining = list(figures or [])
    notebook_cells: list[dict[str, Any]] = [
        {
            "cell_type": "code",
            "id": "show-repr",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": PLAIN_REPR.splitlines(keepends=True),
        }
    ]
    for index, cell in enumerate(page_cells(page, root) if cells is None else cells):
        source = cell.source.rstrip("\n").splitlines(keepends=True)
        identifier = f"cell-{index}"
        if cell.kind == "markdown":
            notebook_cells.append(
                {"cell_type": "markdown", "id": identifier, "metadata": {}, "source": source}
            )
            continue
        metadata: dict[str, Any] = {"page_line": f"docs/{relative}:{cell.line}"}
        if any(output.kind == "error" for output in cell.outputs):
            metadata["tags"] = ["raises-exception"]  # Jupyter's tag: run on past it
        notebook_cells.append(
            {
                "cell_type": "code",
                "id": identifier,
                "execution_count": None,
                "metadata": metadata,
                "outputs": _notebook_outputs(cell, remaining),
                "source": source,
            }
        )
    return {
        "cells": notebook_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_json(
    page: Path,
    cells: list[Cell] | None = None,
    figures: list[list[str]] | None = None,
    root: Path = ROOT,
) -> str:
    notebook = page_notebook(page, cells, figures, root)
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def has_examples(cells: list[Cell]) -> bool:
    return any(cell.kind == "code" for cell in cells)


def expected_output(script: str) -> list[tuple[int, str]]:
    """The ``#>`` lines of a downloaded script: (script line, text), in order."""
    return [
        (number, output_comment_text(line))
        for number, line in enumerate(script.splitlines(), start=1)
        if OUTPUT_COMMENT.match(line)
    ]
