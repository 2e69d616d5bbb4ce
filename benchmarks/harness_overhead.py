"""How much the doc harness costs over running the same examples as one plain script.

Both sides run in fresh interpreters, alternately, several times; the medians are
compared. The doc suite is ``pytest docs snippets tensorkit`` (every example, cpu pass
plus the cuda pass, which skips without a GPU), start-up included. The plain script runs
the same code, as a reader would copy it, each document in a namespace of its own.

Run it with ``.venv/bin/python benchmarks/harness_overhead.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import doctest
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.collect import docstrings, pages, snippets  # noqa: E402
from harness.evaluators import Parsed  # noqa: E402
from harness.fences import has_prompt, runnable_code  # noqa: E402


def plain_code(source: str) -> str:
    """The code of an example as a script runs it.

    An example that expects an exception (a page showing an error) is wrapped so that the
    script goes on, as the harness does after checking the exception.
    """
    if not has_prompt(source):
        return runnable_code(source, session=False)
    code = []
    for example in doctest.DocTestParser().get_examples(source):
        if example.exc_msg is None:
            code.append(example.source)
        else:
            code.append("try:\n" + textwrap.indent(example.source, "    "))
            code.append("except Exception:\n    pass\n")
    return "".join(code)


def plain_programs() -> list[tuple[str, str]]:
    """(name, code) for every document, in the order pytest runs them."""
    programs = []
    sources = [
        (pages("cpu"), sorted((ROOT / "docs").rglob("*.md"))),
        (snippets("cpu"), sorted((ROOT / "snippets").rglob("*.py"))),
        (docstrings("cpu"), sorted((ROOT / "tensorkit").rglob("*.py"))),
    ]
    for sybil, paths in sources:
        for path in paths:
            code = [
                plain_code(example.parsed.body.source)
                for example in sybil.parse(path).examples()
                if isinstance(example.parsed, Parsed) and example.parsed.body.kind != "include"
            ]
            if code:
                programs.append((str(path.relative_to(ROOT)), "".join(code)))
    return programs


def write_plain_script(directory: Path) -> Path:
    script = directory / "all_examples.py"
    lines = ["import torch  # noqa: F401", ""]
    for name, code in plain_programs():
        lines.append(f"exec(compile({code!r}, {name!r}, 'exec'), {{'__name__': '__main__'}})")
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return script


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        script = write_plain_script(Path(scratch))
        plain = [sys.executable, str(script)]
        suite = [sys.executable, "-m", "pytest", "-q", "docs", "snippets", "tensorkit"]
        counts = (
            subprocess.run([*suite, "-rN"], cwd=ROOT, capture_output=True, text=True, check=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        plain_times, suite_times = [], []
        for _ in range(options.repeat):
            plain_times.append(wall_time(plain))
            suite_times.append(wall_time(suite))
    plain_median = statistics.median(plain_times)
    suite_median = statistics.median(suite_times)
    print(f"documents: {len(plain_programs())}; doc suite: {counts}")
    for label, median, times in [
        ("plain script", plain_median, plain_times),
        ("doc suite", suite_median, suite_times),
    ]:
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{label:12s}  median {median:.3f} s  (runs: {runs})")
    print(f"ratio doc suite / plain script: {suite_median / plain_median:.2f}x (target <= 1.40x)")


if __name__ == "__main__":
    main()
