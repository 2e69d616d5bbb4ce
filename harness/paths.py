"""Where the repository is, and paths as a maintainer types them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def display_path(path: str) -> str:
    """The path as a maintainer would type it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return path
