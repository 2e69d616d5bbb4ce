"""How long an edit takes to reach the served page, under ``make serve``.

Starts ``make serve`` (``--builder zensical`` for Zensical) on a port of its own, waits
for the page to be served, then makes two edits and times each from the moment the file
is saved to the moment the server returns the changed page:

- a **prose** edit: one sentence added under the page's title;
- a **figure** edit: a title added to the page's first figure, in its fence's code.

Each edit is undone before the next (and on any exit), and the script waits until the
server shows the page as it was. It also times the page's own examples
(``pytest PAGE``, cpu pass), the figure edit's yardstick. Run it on a quiet machine::

    .venv/bin/python benchmarks/serve_edit.py --builder mkdocs --rounds 3
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_FIGURE_FENCE = re.compile(r"^```python figure=.*?\n(?P<code>.*?)^```$", re.MULTILINE | re.DOTALL)
#: MkDocs' live-reload call, whose arguments change with every build.
_LIVERELOAD = re.compile(r"livereload\(\d+, \d+\);")


def fetch(url: str) -> str | None:
    """The page's HTML, or None while the server does not answer with it."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8"))
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_for(url: str, until: Callable[[str], bool], timeout: float) -> float:
    """Seconds until the served page satisfies ``until``, polling every 50 ms."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        html = fetch(url)
        if html is not None and until(html):
            return time.perf_counter() - start
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not change within {timeout:.0f} s")


@contextmanager
def restored(path: Path) -> Iterator[str]:
    """The file's text, written back as it was however the block ends."""
    original = path.read_text(encoding="utf-8")
    try:
        yield original
    finally:
        path.write_text(original, encoding="utf-8")


def prose_edit(text: str, marker: str) -> str:
    """The page with one sentence holding ``marker`` added under its title."""
    title, _, rest = text.partition("\n")
    return f"{title}\n\nA sentence added while writing ({marker}).\n{rest}"


def figure_edit(text: str, marker: str) -> str:
    """The page with a title holding ``marker`` given to its first figure."""
    fence = _FIGURE_FENCE.search(text)
    if fence is None or "plt.show()" not in fence["code"]:
        raise SystemExit("the page has no figure fence ending in plt.show() to edit")
    show = fence.start("code") + fence["code"].rindex("plt.show()")
    return f"{text[:show]}plt.gca().set_title({marker!r})\n{text[show:]}"


def same_page(html: str, before: str) -> bool:
    """The same page but for MkDocs' live-reload script, which holds the build's time."""
    return _LIVERELOAD.sub("", html) == _LIVERELOAD.sub("", before)


def time_edit(url: str, page: Path, edited: str, args: argparse.Namespace) -> float:
    """Seconds from saving ``edited`` to the page being served changed; then undone."""
    before = fetch(url) or ""
    with restored(page):
        page.write_text(edited, encoding="utf-8")
        seconds = wait_for(url, lambda html: not same_page(html, before), args.timeout)
    wait_for(url, lambda html: same_page(html, before), args.timeout)
    return seconds


def page_code_seconds(page: Path) -> float:
    """Wall time of ``pytest PAGE`` (its examples, both passes), start-up included."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", str(page)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--builder", choices=("mkdocs", "zensical"), default="mkdocs")
    parser.add_argument("--page", type=Path, default=Path("docs/autograd/basics.md"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    page = (ROOT / args.page).resolve()
    url_path = page.relative_to(ROOT / "docs").with_suffix("").as_posix() + "/"
    url = f"http://127.0.0.1:{args.port}/{url_path}"
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"BUILDER={args.builder}", f"PORT={args.port}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so that the whole server stops with it
    )
    try:
        first = wait_for(url, lambda html: "</html>" in html, args.timeout)
        print(f"{args.builder}: first page served {first:.1f} s after `make serve`")
        timings: dict[str, list[float]] = {"prose": [], "figure": []}
        for number in range(1, args.rounds + 1):
            marker = f"edit-{os.getpid()}-{number}"
            for kind, edit in (("prose", prose_edit), ("figure", figure_edit)):
                timings[kind].append(time_edit(url, page, edit(page.read_text(), marker), args))
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)
    code = page_code_seconds(page)
    print(f"page: {args.page}, {args.rounds} rounds, seconds from save to served page")
    for kind, seconds in timings.items():
        print(
            f"  {kind:6} edit: median {statistics.median(seconds):.2f}, "
            f"min {min(seconds):.2f}, max {max(seconds):.2f}"
        )
    print(f"  its examples (`pytest {args.page}`, both passes, start-up included): {code:.2f}")


if __name__ == "__main__":
    main()
