"""Execute downloaded notebooks as Jupyter does, and compare their outputs with the stored ones.

Each notebook runs top to bottom in a kernel of its own (nbclient, the library behind
``jupyter nbconvert --execute``), in a folder of its own, a few kernels at a time. A
cell tagged ``raises-exception`` may raise, as in Jupyter; any other error stops that
notebook, as it would stop a reader.

Outputs are compared as a reader would compare them by eye: printed text and displayed
values exactly (trailing spaces aside, as the site's checker allows), an error by its
name and message, a figure by being drawn. Output the stored notebook does not show,
such as a warning on stderr, is a difference too.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

#: Output types that show a picture.
_PICTURES = ("image/png", "image/svg+xml")


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def _shown(outputs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """A cell's outputs as (kind, text): what a reader sees, in order."""
    shown: list[tuple[str, str]] = []
    for output in outputs:
        kind = output["output_type"]
        if kind == "stream":
            shown.append((f"printed to {output['name']}", _text(output["text"])))
        elif kind == "execute_result":
            shown.append(("value", _text(output["data"].get("text/plain", ""))))
        elif kind == "error":
            shown.append(("error", f"{output['ename']}: {output['evalue']}"))
        elif kind == "display_data" and any(k in output["data"] for k in _PICTURES):
            shown.append(("figure", ""))
        elif kind == "display_data":
            shown.append(("display", _text(output["data"].get("text/plain", ""))))
    # Jupyter splits one print's text over several stream outputs; a reader sees one.
    merged: list[tuple[str, str]] = []
    for kind, text in shown:
        if merged and kind == merged[-1][0] and kind.startswith("printed"):
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged


def differences(stored: dict[str, Any], executed: dict[str, Any]) -> list[str]:
    """Where the executed notebook shows something other than the stored one: page:line."""
    found = []
    pairs = zip(stored["cells"], executed["cells"], strict=True)
    for before, after in pairs:
        if before["cell_type"] != "code":
            continue
        where = before["metadata"].get("page_line", "a cell")
        want, got = _shown(before["outputs"]), _shown(after["outputs"])
        want_kinds, got_kinds = [k for k, _ in want], [k for k, _ in got]
        if want_kinds != got_kinds:
            found.append(f"{where}: the notebook shows {want_kinds}, running it gives {got}")
            continue
        for (kind, text), (_, ran) in zip(want, got, strict=True):
            if kind != "figure" and _lines(text) != _lines(ran):
                found.append(f"{where}: {kind} differs:\n  stored: {text!r}\n  ran:    {ran!r}")
    return found


async def _execute(path: Path, folder: Path, timeout: float, slots: asyncio.Semaphore) -> Any:
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]  # untyped
    async with slots:
        client = NotebookClient(
            copy.deepcopy(notebook),
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(folder)}},
        )
        try:
            executed = await client.async_execute()
        except CellExecutionError as error:
            return error
    return executed


def execute(
    notebooks: dict[Path, Path], *, workers: int = 2, timeout: float = 300
) -> dict[Path, Any]:
    """Run each notebook (path -> its own folder); each result is the executed notebook,
    or the :class:`CellExecutionError` that stopped it."""

    async def run_all() -> list[Any]:
        slots = asyncio.Semaphore(workers)
        return await asyncio.gather(
            *(_execute(path, folder, timeout, slots) for path, folder in notebooks.items())
        )

    return dict(zip(notebooks, asyncio.run(run_all()), strict=True))
