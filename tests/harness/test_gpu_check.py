"""The GPU check's reading of a test run, and its refusal to start without its wheels.

The junit XML below is shaped as pytest writes it with ``-o junit_family=xunit1`` for
Sybil's items; no test here runs the site's examples.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from harness import collect, gpu_check
from harness.gpu_check import (
    CPU_ONLY,
    CUDA,
    TORCH_VERSION,
    UNIT,
    MissingWheels,
    build_report,
    carried_wheels,
    classify,
    gpu_unit_tests,
    install,
    markdown,
    normalize,
    parse_junit,
    requirements,
    run_pytest,
    tally,
)

CONSTRAINTS = gpu_check.ROOT / "constraints.txt"
NO_GPU = "cuda pass: torch.cuda.is_available() is False on this machine"


def case(file: str, name: str, body: str = "") -> str:
    attributes = f'classname="x" name="{name}" file="{file}" line="1" time="0.01"'
    return f"<testcase {attributes}>{body}</testcase>"


def failure(message: str) -> str:
    return f'<failure message="{message}">{message}</failure>'


def skipped(reason: str) -> str:
    return f'<skipped type="pytest.skip" message="{reason}">/abs/file:2: {reason}</skipped>'


RUN = [
    # Fails in both passes: torch prints it differently.
    case(
        "docs/a.md", "sybil:cpu,line:5,column:1", failure("Expected:&#10;    1&#10;Got:&#10;    2")
    ),
    case("docs/a.md", "sybil:cuda,line:5,column:1", failure("cuda says 2")),
    # Fails in the cuda pass only: CUDA computes it differently.
    case("docs/a.md", "sybil:cpu,line:20,column:1"),
    case("docs/a.md", "sybil:cuda,line:20,column:1", failure("off by more than a digit")),
    # The same line in another file fails on the CPU only: paired by file as well as line.
    case("docs/b.md", "sybil:cpu,line:20,column:1", failure("cpu only")),
    case("docs/b.md", "sybil:cuda,line:20,column:1"),
    case("tensorkit/shape.py", "sybil:cpu,line:12,column:5"),
    case("tensorkit/shape.py", "sybil:cuda,line:12,column:5", skipped("NumPy lives on the CPU")),
    case("tests/tensors/test_creation.py", "test_cuda_gets_the_cpu_values", failure("boom")),
    case("tests/tensors/test_creation.py", "test_something_else"),
]


def junit(tmp_path: Path, cases: list[str]) -> Path:
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        f'<testsuite name="pytest">{"".join(cases)}</testsuite></testsuites>',
        encoding="utf-8",
    )
    return xml


def test_failures_are_classed_by_the_passes_they_fail_in(tmp_path: Path) -> None:
    classes = classify(parse_junit(junit(tmp_path, RUN)))
    where = {cause: [o.where for o in cases] for cause, cases in classes.items()}
    assert where == {
        TORCH_VERSION: ["docs/a.md:5"],
        CUDA: ["docs/a.md:20"],
        CPU_ONLY: ["docs/b.md:20"],
        UNIT: ["tests/tensors/test_creation.py::test_cuda_gets_the_cpu_values"],
    }


def test_each_pass_is_counted_with_its_skip_reasons(tmp_path: Path) -> None:
    counts = tally(parse_junit(junit(tmp_path, RUN)))
    cpu, cuda, unit = counts["cpu"], counts["cuda"], counts[UNIT]
    assert (cpu.collected, cpu.passed, cpu.failed, cpu.skipped) == (4, 2, 2, 0)
    assert (cuda.collected, cuda.passed, cuda.failed, cuda.skipped) == (4, 1, 2, 1)
    assert cuda.skip_reasons == {"NumPy lives on the CPU": 1}
    assert (unit.collected, unit.passed, unit.failed) == (2, 1, 1)


def test_the_report_shows_both_messages_of_a_torch_version_failure(tmp_path: Path) -> None:
    outcomes = parse_junit(junit(tmp_path, RUN))
    report = build_report(outcomes, 1, {"torch": "2.11.0+cu130"}, {"pytest": 1.0}, [], False)
    entry = report.failures[TORCH_VERSION][0]
    assert entry["message"] == ["Expected:", "    1", "Got:", "    2"]
    assert entry["cuda_message"] == ["cuda says 2"]
    page = markdown(report)
    torch_section = page.split(f"## Failures: {TORCH_VERSION}")[1].split("## Failures")[0]
    assert "`docs/a.md:5` (cpu pass)" in torch_section and "cuda says 2" in torch_section
    assert "docs/a.md:20" not in torch_section
    assert not report.ok and "5 test case(s) failed" in report.problems


def test_a_run_without_a_gpu_fails_unless_allowed(tmp_path: Path) -> None:
    cases = [
        case("docs/a.md", "sybil:cpu,line:5,column:1"),
        case("docs/a.md", "sybil:cuda,line:5,column:1", skipped(NO_GPU)),
    ]
    outcomes = parse_junit(junit(tmp_path, cases))
    strict = build_report(outcomes, 0, {}, {}, [], allow_no_gpu=False)
    assert not strict.ok and any("nothing was verified on CUDA" in p for p in strict.problems)
    dry = build_report(outcomes, 0, {}, {}, [], allow_no_gpu=True)
    assert dry.ok and dry.tallies["cuda"].skip_reasons == {NO_GPU: 1}
    assert f"1 × {NO_GPU}" in markdown(dry)


def fake_wheels(folder: Path, leave_out: str = "", version: str = "") -> None:
    folder.mkdir()
    for requirement in requirements(CONSTRAINTS):
        name, _, pinned = requirement.partition("==")
        if name != leave_out:
            (folder / f"{normalize(name)}-{pinned}-py3-none-any.whl").touch()
        elif version:
            (folder / f"{normalize(name)}-{version}-py3-none-any.whl").touch()


def test_every_pinned_wheel_is_chosen(tmp_path: Path) -> None:
    fake_wheels(tmp_path / "wheels")
    chosen = carried_wheels(tmp_path / "wheels", CONSTRAINTS)
    assert {w.name.split("-")[0] for w in chosen} == {normalize(n) for n in gpu_check.CARRIED}
    assert any(w.name.startswith("sybil-10.1.0-") for w in chosen)


def test_a_missing_wheel_says_to_run_make_gpu_wheels(tmp_path: Path) -> None:
    fake_wheels(tmp_path / "wheels", leave_out="sybil")
    with pytest.raises(MissingWheels, match=r"sybil==10\.1\.0(.|\n)*make gpu-wheels"):
        carried_wheels(tmp_path / "wheels", CONSTRAINTS)


def test_a_wheel_of_another_version_counts_as_missing(tmp_path: Path) -> None:
    fake_wheels(tmp_path / "wheels", leave_out="pytest", version="8.3.5")
    with pytest.raises(MissingWheels, match=r"pytest==9\.2\.0"):
        carried_wheels(tmp_path / "wheels", CONSTRAINTS)


def test_missing_wheels_stop_the_check_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    status = gpu_check.main(["--wheels", str(tmp_path / "nowhere"), "--out", str(out)])
    assert status == 1
    assert "make gpu-wheels" in capsys.readouterr().err
    assert not out.exists()


def test_the_unit_tests_that_need_a_gpu_are_selected() -> None:
    selected = gpu_unit_tests(gpu_check.ROOT)
    # test_creation.py spells its skipif over two lines.
    assert {"tests/tensors/test_creation.py", "tests/training/test_data.py"} <= set(selected)
    assert "tests/test_code_quality.py" not in selected
    assert not any(path.startswith(("tests/harness/", "tests/site/")) for path in selected)


def test_a_python_without_pip_unpacks_the_wheels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = tmp_path / "carried-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("carried/__init__.py", "VERSION = '1.0'\n")
        archive.writestr("carried-1.0.dist-info/METADATA", "Name: carried\nVersion: 1.0\n")
    monkeypatch.setattr(gpu_check.importlib.util, "find_spec", lambda name: None)
    # Were pip called instead, it would fail: this is not a real wheel.
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    install([wheel], tmp_path / "site")
    assert (tmp_path / "site" / "carried" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    assert (tmp_path / "site" / "carried-1.0.dist-info" / "METADATA").is_file()


def test_the_passes_are_the_harness_passes() -> None:
    # gpu_check spells them out so as not to import torch; they must not drift apart.
    assert gpu_check.PASSES == collect.PASSES


def test_a_run_past_its_time_is_interrupted(tmp_path: Path) -> None:
    # A stand-in for pytest that would sleep far longer than it is given.
    command = [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"]
    assert run_pytest(command, {}, tmp_path / "log", timeout=2) == -1
    assert "started" in (tmp_path / "log").read_text()
    quick = [sys.executable, "-c", "raise SystemExit(3)"]
    assert run_pytest(quick, {}, tmp_path / "log", timeout=30) == 3
