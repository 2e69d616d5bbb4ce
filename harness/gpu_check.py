"""The whole CUDA verification as one command, for a GPU machine lent for a few minutes.

Such a machine has no network and its own torch, and may lack the pinned pytest and
Sybil, so ``make gpu-wheels`` (on a machine with network) downloads the pinned pure-Python
wheels into ``build/gpu-wheels`` and this module, run there as
``python3 -m harness.gpu_check``:

1. installs those wheels into a temporary folder put first on ``PYTHONPATH``, so that
   they shadow whatever older versions the machine has, without touching its packages;
2. runs every page, snippet program and tensorkit docstring, both passes, plus the unit
   test files that hold a test needing a GPU, in one pytest process (the root conftest
   writes ``verification.json`` at the end of the session; xdist workers would overwrite
   each other's records);
3. writes ``report.md`` and ``report.json`` into ``build/gpu-check``, separating the
   examples that fail in both passes (the machine's torch prints them differently) from
   those that fail only in the cuda pass (CUDA computes them differently), and copies
   ``verification.json`` there.

It imports nothing outside the standard library: torch and pytest run in subprocesses
under the carried wheels, and ``make gpu-wheels`` runs it with any Python to list them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

# Not harness.collect.ROOT: importing harness.collect imports torch and Sybil, which the
# machine that downloads the wheels need not have.
ROOT = Path(__file__).resolve().parent.parent
WHEELS = ROOT / "build" / "gpu-wheels"
OUT = ROOT / "build" / "gpu-check"
RECORD = ROOT / "verification.json"

#: Pure-Python distributions carried to the GPU machine, pinned by constraints.txt: pytest
#: and its dependencies (pytest 9 needs newer Pygments and packaging than a machine may
#: have), Sybil, and tqdm, whose progress bars tensorkit prints. Hypothesis is not among
#: them: its wheels are compiled, and the machine has a version of its own.
CARRIED = (
    "pytest",
    "pluggy",
    "iniconfig",
    "packaging",
    "Pygments",
    "sybil",
    "tqdm",
    # harness.skips renders a page with the site's Markdown extensions to find code
    # blocks; the machine has PyYAML, which is compiled.
    "Markdown",
    "pymdown-extensions",
)
#: Where every example lives; pytest runs these whole, so every document counts as verified.
DOCUMENTS = ("docs", "snippets", "tensorkit")
#: A unit test skipped for want of a GPU. Only such test files run: the rest of tests/
#: needs ruff, mypy, mkdocs or Chromium, which a GPU machine lacks, and passed on the CPU.
NEEDS_GPU = re.compile(r"skipif\(\s*not\s+torch\.cuda\.is_available\(\)")
#: The harness's two passes (harness.collect.PASSES, which imports torch to say so).
PASSES = ("cpu", "cuda")
#: Sybil names each example after its pass and position.
EXAMPLE_NAME = re.compile(r"sybil:(?P<pass>cpu|cuda),line:(?P<line>\d+),column:\d+")
#: Pytest gets this long, leaving the rest of the six minutes for installing and reporting.
PYTEST_TIMEOUT_S = 320.0
#: How many lines of a failure the report shows.
MESSAGE_LINES = 12

TORCH_VERSION = "differs because of the torch version"
CUDA = "differs because of CUDA"
CPU_ONLY = "fails in the cpu pass only"
UNIT = "unit tests and collection errors"

PROBE = """\
import importlib.metadata, json, platform, pytest, torch
cuda = torch.cuda.is_available()
print(json.dumps({
    "python": platform.python_version(),
    "torch": torch.__version__,
    "torch_cuda": torch.version.cuda,
    "cuda_available": cuda,
    "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    if cuda else [],
    "pytest": pytest.__version__,
    "pytest_from": pytest.__file__,
    "sybil": importlib.metadata.version("sybil"),
}))
"""


class CheckError(Exception):
    """The check cannot start; the message says what to do."""


class MissingWheels(CheckError):
    """The carried wheels are not all there, or are for other versions than the pins."""


@dataclass(frozen=True)
class Outcome:
    """One test case of pytest's junit XML: a Sybil example or an ordinary test."""

    file: str
    name: str
    outcome: str  # "passed", "failed" or "skipped"
    message: str = ""
    device: str | None = None  # the example's pass; None for an ordinary test
    line: int | None = None  # the example's line in its file

    @property
    def where(self) -> str:
        """``file:line`` for an example, the test's name otherwise."""
        return f"{self.file}:{self.line}" if self.line is not None else f"{self.file}::{self.name}"


@dataclass
class Tally:
    """How many test cases of one kind were collected, and what became of them."""

    collected: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)


def pins(constraints: Path) -> dict[str, str]:
    """Map each pinned distribution's normalized name to its version."""
    found: dict[str, str] = {}
    for raw in constraints.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        name, equals, version = line.partition("==")
        if equals:
            found[normalize(name)] = version.strip()
    return found


def normalize(name: str) -> str:
    """A distribution's name as wheel file names spell it (PEP 427 and PEP 503)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def requirements(constraints: Path) -> list[str]:
    """``name==version`` for every carried distribution, as ``make gpu-wheels`` asks pip."""
    pinned = pins(constraints)
    missing = [name for name in CARRIED if normalize(name) not in pinned]
    if missing:
        raise MissingWheels(f"{constraints} pins no version of {', '.join(missing)}")
    return [f"{name}=={pinned[normalize(name)]}" for name in CARRIED]


def carried_wheels(wheels: Path, constraints: Path) -> list[Path]:
    """The wheel of every carried distribution at its pinned version.

    Only those wheels are installed: a stale wheel left beside them (an older pin) would
    otherwise be installed over the right one.

    Args:
        wheels: The folder ``make gpu-wheels`` downloaded into.
        constraints: The pins, ``constraints.txt``.

    Returns:
        One wheel per name of :data:`CARRIED`.

    Raises:
        MissingWheels: Some wheel is absent or of another version; the message says to
            run ``make gpu-wheels`` first.
    """
    available: dict[tuple[str, str], Path] = {}
    for wheel in wheels.glob("*.whl") if wheels.is_dir() else ():
        name, version = wheel.name.split("-")[:2]
        available[normalize(name), version] = wheel
    chosen: list[Path] = []
    missing: list[str] = []
    for requirement in requirements(constraints):
        name, _, version = requirement.partition("==")
        found = available.get((normalize(name), version))
        if found is None:
            missing.append(requirement)
        else:
            chosen.append(found)
    if missing:
        raise MissingWheels(
            f"no wheel in {wheels} for {', '.join(missing)}.\n"
            "Run `make gpu-wheels` on a machine with network first, then copy the tree "
            "with build/gpu-wheels to this machine."
        )
    return chosen


def install(wheels: Sequence[Path], target: Path) -> None:
    """Install the wheels into ``target`` alone, leaving the machine's packages as they are."""
    if importlib.util.find_spec("pip") is None:
        # A pure-Python wheel is a zip of its installed layout; a Python without pip can
        # still use it (its scripts, under .data, are not needed: pytest runs with -m).
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(target)
        return
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
        + ["--no-compile", "--no-cache-dir", "--upgrade", "--target", str(target)]
        + [str(wheel) for wheel in wheels]
    )
    if result.returncode != 0:
        raise CheckError(f"pip could not install the carried wheels (status {result.returncode})")


def gpu_unit_tests(root: Path) -> list[str]:
    """The unit test files, relative to ``root``, that skip a test when there is no GPU."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in (root / "tests").rglob("test_*.py")
        if NEEDS_GPU.search(path.read_text(encoding="utf-8"))
    )


def child_environment(site: Path, root: Path) -> dict[str, str]:
    """The environment of the probe and of pytest: the carried wheels first on the path."""
    env = dict(os.environ)
    paths = [str(site), str(root)] + [p for p in [env.get("PYTHONPATH", "")] if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    # The machine's own pytest plugins (pytest-xdist and whatever else) were installed for
    # its older pytest and may not load under the carried one; the harness needs none.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def probe(env: dict[str, str]) -> dict[str, Any]:
    """Which torch, GPU, pytest and Sybil the test run will see, or why it cannot start."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        # The last line of a traceback names the exception, "No module named 'torch'".
        return {"error": (result.stderr.strip().splitlines() or ["probe failed"])[-1]}
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def run_pytest(command: Sequence[str], env: dict[str, str], log: Path, timeout: float) -> int:
    """Run pytest with its output in ``log``; interrupt it, as Ctrl-C would, at ``timeout``.

    An interrupted pytest still writes the junit XML of what it ran.

    Returns:
        Pytest's exit status, or -1 when it ran out of time and was interrupted.
    """
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            return -1


def parse_junit(xml: Path) -> list[Outcome]:
    """Each test case of a junit XML written with ``-o junit_family=xunit1``.

    That family keeps the ``file`` attribute, which the default one drops; a test case has
    a ``failure`` or ``error`` element when it failed and a ``skipped`` one when skipped.
    """
    outcomes = []
    for case in ElementTree.parse(xml).getroot().iter("testcase"):
        name = case.get("name", "")
        file = case.get("file") or case.get("classname") or ""
        problems = [e for e in case if e.tag in ("failure", "error")]
        skips = [e for e in case if e.tag == "skipped"]
        if problems:
            outcome = "failed"
            message = "\n".join(e.get("message") or (e.text or "") for e in problems)
        elif skips:
            outcome, message = "skipped", skips[0].get("message", "")
        else:
            outcome, message = "passed", ""
        match = EXAMPLE_NAME.fullmatch(name)
        outcomes.append(
            Outcome(
                file=file,
                name=name,
                outcome=outcome,
                message=message,
                device=match["pass"] if match else None,
                line=int(match["line"]) if match else None,
            )
        )
    return outcomes


def tally(outcomes: Iterable[Outcome]) -> dict[str, Tally]:
    """Counts per pass (``cpu``, ``cuda``) and for the ordinary tests."""
    tallies = {kind: Tally() for kind in (*PASSES, UNIT)}
    for outcome in outcomes:
        counts = tallies[outcome.device or UNIT]
        counts.collected += 1
        setattr(counts, outcome.outcome, getattr(counts, outcome.outcome) + 1)
        if outcome.outcome == "skipped":
            counts.skip_reasons[outcome.message] = counts.skip_reasons.get(outcome.message, 0) + 1
    return tallies


def classify(outcomes: Iterable[Outcome]) -> dict[str, list[Outcome]]:
    """The failures by cause; an example's cpu and cuda runs share its file and line.

    One that fails in both passes fails on this machine's CPU too, so what differs from
    the verified output is torch; one that fails only in the cuda pass differs on CUDA.

    Returns:
        The failures under :data:`TORCH_VERSION` (each listed once, by its cpu run),
        :data:`CUDA`, :data:`CPU_ONLY` and :data:`UNIT` (ordinary tests).
    """
    failed = [o for o in outcomes if o.outcome == "failed"]
    in_cpu = {(o.file, o.line) for o in failed if o.device == "cpu"}
    in_cuda = {(o.file, o.line) for o in failed if o.device == "cuda"}
    classes: dict[str, list[Outcome]] = {TORCH_VERSION: [], CUDA: [], CPU_ONLY: [], UNIT: []}
    for o in failed:
        if o.device is None:
            classes[UNIT].append(o)
        elif (o.file, o.line) in in_cpu and (o.file, o.line) in in_cuda:
            # Listed once, with the cuda pass's message beside the cpu pass's.
            if o.device == "cpu":
                classes[TORCH_VERSION].append(o)
        elif o.device == "cuda":
            classes[CUDA].append(o)
        else:
            classes[CPU_ONLY].append(o)
    return classes


def first_lines(message: str, count: int = MESSAGE_LINES) -> list[str]:
    """The start of a failure message, without doctest's rows of asterisks."""
    lines = [line for line in message.splitlines() if line.strip().strip("*")]
    return lines[:count]


def verdict(returncode: int, tallies: dict[str, Tally], allow_no_gpu: bool) -> list[str]:
    """Why the check did not pass; empty when it did.

    A cuda pass in which no example ran verified nothing on CUDA, so it fails the check
    unless ``--allow-no-gpu`` (a dry run on a machine without a GPU) says otherwise.
    """
    reasons = []
    failed = sum(t.failed for t in tallies.values())
    if failed:
        reasons.append(f"{failed} test case(s) failed")
    if returncode == -1:
        reasons.append("pytest ran out of time and was interrupted")
    elif returncode != 0 and not failed:
        reasons.append(f"pytest exited with status {returncode} (see pytest.log)")
    cuda = tallies["cuda"]
    if cuda.passed + cuda.failed == 0 and not allow_no_gpu:
        reasons.append("no cuda pass example ran: nothing was verified on CUDA")
    return reasons


@dataclass
class Report:
    """What ``report.json`` holds; ``report.md`` is written from it."""

    ok: bool
    problems: list[str]
    environment: dict[str, Any]
    timings_s: dict[str, float]
    command: list[str]
    pytest_exit_status: int
    tallies: dict[str, Tally]
    failures: dict[str, list[dict[str, Any]]]


def build_report(
    outcomes: list[Outcome],
    returncode: int,
    environment: dict[str, Any],
    timings: dict[str, float],
    command: list[str],
    allow_no_gpu: bool,
) -> Report:
    """Tally, classify and judge a test run.

    Args:
        outcomes: Every test case of the run.
        returncode: Pytest's exit status, -1 when it was interrupted.
        environment: What :func:`probe` found.
        timings: Seconds per phase so far.
        command: The pytest command line.
        allow_no_gpu: Pass although no cuda example ran.
    """
    tallies = tally(outcomes)
    problems = verdict(returncode, tallies, allow_no_gpu)
    cuda_messages = {(o.file, o.line): o.message for o in outcomes if o.device == "cuda"}
    failures = {
        cause: [
            {
                "where": o.where,
                "pass": o.device,
                "message": first_lines(o.message),
                **(
                    {"cuda_message": first_lines(cuda_messages[o.file, o.line])}
                    if cause == TORCH_VERSION
                    else {}
                ),
            }
            for o in cases
        ]
        for cause, cases in classify(outcomes).items()
    }
    return Report(
        ok=not problems,
        problems=problems,
        environment=environment,
        timings_s=timings,
        command=command,
        pytest_exit_status=returncode,
        tallies=tallies,
        failures=failures,
    )


def markdown(report: Report) -> str:
    """The report as a page a person reads first."""
    env = report.environment
    devices = ", ".join(env.get("devices", [])) or "none (torch.cuda.is_available() is False)"
    lines = [
        "# GPU check",
        "",
        f"**{'Everything passed.' if report.ok else 'Not everything passed.'}**",
        *(f"- {problem}" for problem in report.problems),
        "",
        f"- torch {env.get('torch', '?')} (CUDA {env.get('torch_cuda')}), "
        f"Python {env.get('python', '?')}",
        f"- CUDA device: {devices}",
        f"- pytest {env.get('pytest', '?')} from `{env.get('pytest_from', '?')}`, "
        f"Sybil {env.get('sybil', '?')}",
        *([f"- probe failed: {env['error']}"] if "error" in env else []),
        f"- command: `{' '.join(report.command)}` (exit status {report.pytest_exit_status})",
        "",
        "## Timings",
        "",
        *(f"- {phase}: {seconds:.1f} s" for phase, seconds in report.timings_s.items()),
        "",
        "## Outcomes",
        "",
        "| | collected | passed | failed | skipped |",
        "| --- | --- | --- | --- | --- |",
    ]
    names = {kind: f"the {kind} pass" if kind in PASSES else kind for kind in report.tallies}
    for kind, counts in report.tallies.items():
        lines.append(
            f"| {names[kind]} | {counts.collected} | {counts.passed} | {counts.failed} "
            f"| {counts.skipped} |"
        )
    for kind, counts in report.tallies.items():
        if counts.skip_reasons:
            lines += ["", f"Skipped in {names[kind]}:", ""]
            lines += [f"- {n} × {reason}" for reason, n in sorted(counts.skip_reasons.items())]
    for cause, cases in report.failures.items():
        lines += ["", f"## Failures: {cause} ({len(cases)})", ""]
        if not cases:
            lines.append("None.")
        for case in cases:
            lines.append(
                f"- `{case['where']}`" + (f" ({case['pass']} pass)" if case["pass"] else "")
            )
            lines += ["", "  ```text", *(f"  {line}" for line in case["message"]), "  ```", ""]
            if "cuda_message" in case:
                lines += ["  cuda pass:", "", "  ```text"]
                lines += [*(f"  {line}" for line in case["cuda_message"]), "  ```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def check(wheels: Path, out: Path, timeout: float, allow_no_gpu: bool) -> Report:
    """Install, probe, run and report; see the module's docstring.

    Args:
        wheels: The folder of carried wheels.
        out: Where the report, the junit XML, pytest's log and the record go.
        timeout: Seconds pytest may run.
        allow_no_gpu: Pass although no cuda example ran.

    Returns:
        The report, also written as ``report.json`` and ``report.md``.

    Raises:
        CheckError: The wheels are missing or pip cannot install them; nothing ran.
    """
    timings: dict[str, float] = {}
    started = time.monotonic()
    chosen = carried_wheels(wheels, ROOT / "constraints.txt")
    out.mkdir(parents=True, exist_ok=True)
    junit, log = out / "junit.xml", out / "pytest.log"
    junit.unlink(missing_ok=True)
    # The record as it was, put back if pytest is cut short: the recorder would otherwise
    # count a half-run document as verified.
    before = RECORD.read_bytes() if RECORD.is_file() else None
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as site:
        mark = time.monotonic()
        install(chosen, Path(site))
        timings["install wheels"] = time.monotonic() - mark

        env = child_environment(Path(site), ROOT)
        mark = time.monotonic()
        environment = probe(env)
        timings["probe torch and GPU"] = time.monotonic() - mark

        command = [sys.executable, "-m", "pytest", *DOCUMENTS, *gpu_unit_tests(ROOT)]
        command += ["-o", "junit_family=xunit1", f"--junitxml={junit}"]
        mark = time.monotonic()
        returncode = run_pytest(command, env, log, timeout)
        timings["pytest"] = time.monotonic() - mark

    mark = time.monotonic()
    if returncode == -1 and before is not None:
        RECORD.write_bytes(before)
    outcomes = parse_junit(junit) if junit.is_file() else []
    if RECORD.is_file():
        shutil.copy2(RECORD, out / RECORD.name)
    report = build_report(outcomes, returncode, environment, timings, command, allow_no_gpu)
    if not junit.is_file():
        report.problems.append("pytest wrote no junit XML (see pytest.log)")
        report.ok = False
    # The report holds this very dict, so the last two timings still reach it.
    timings["report"] = time.monotonic() - mark
    timings["total"] = time.monotonic() - started
    (out / "report.json").write_text(json.dumps(asdict(report), indent=2) + "\n", "utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; 0 when everything passed, 1 otherwise (the report is written anyway)."""
    parser = argparse.ArgumentParser(prog="python3 -m harness.gpu_check", description=__doc__)
    parser.add_argument("--wheels", type=Path, default=WHEELS, help="the carried wheels")
    parser.add_argument("--out", type=Path, default=OUT, help="where the report goes")
    parser.add_argument(
        "--timeout", type=float, default=PYTEST_TIMEOUT_S, help="seconds pytest may run"
    )
    parser.add_argument(
        "--allow-no-gpu", action="store_true", help="pass without a GPU (a dry run)"
    )
    parser.add_argument(
        "--print-requirements",
        action="store_true",
        help="print the pinned requirements of the carried wheels, for `make gpu-wheels`",
    )
    args = parser.parse_args(argv)
    try:
        if args.print_requirements:
            print(" ".join(requirements(ROOT / "constraints.txt")))
            return 0
        report = check(args.wheels.resolve(), args.out.resolve(), args.timeout, args.allow_no_gpu)
    except CheckError as error:
        print(f"gpu-check: {error}", file=sys.stderr)
        return 1
    print((args.out / "report.md").read_text(encoding="utf-8"), end="")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
