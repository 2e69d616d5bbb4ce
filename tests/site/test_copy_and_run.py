"""Copy-and-run, as a reader: each page's downloaded script, run where a reader runs it.

The test builds the site, then makes a virtual environment with exactly the commands
the install page gives (docs/install.md; kept until one of them or the wheel changes):
the site's own tensorkit wheel from the built site's downloads, no editable install, no
checkout on ``sys.path``. It runs
each page's downloaded ``.py`` there, as ``python page.py`` in a folder of its own, and
compares what it prints with the ``#>`` lines beneath each print, which are the page's
outputs: a difference names the page line. The one change to the page's commands:
PyTorch's own index is not reachable from CI, so ``--index-url`` is dropped, and pip
takes the same ``torch==2.13.0`` CPU build from the wheel this machine keeps (pip also
skips compiling bytecode at install, which readers' pip does; the first import does it).

Each script runs in its own process. By default that process is forked from a runner,
started with the reader environment's python, that has already imported the heavy
packages the script imports itself, and nothing else (tests/site/fresh_process.py, which
says what a script could still tell apart); that spares each page 2-4 s of imports.
``COPY_AND_RUN=fresh`` starts a new interpreter per page instead, and
``COPY_AND_RUN=compare`` runs both ways and fails where their outputs differ.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.collect import ROOT
from harness.downloads import expected_output, has_examples, page_cells
from harness.site_files import download_stem
from harness.translations import is_translation
from harness.wheel import DOWNLOADS
from tests.site.fresh_process import HEAVY_PACKAGES, Outcome, _preload_of, run_scripts

pytestmark = pytest.mark.site

#: English pages with examples. A translation's downloads hold its English page's code,
#: which tests/site/test_translations.py compares with these, line for line.
PAGES = [
    page
    for page in sorted((ROOT / "docs").rglob("*.md"))
    if not is_translation(page) and has_examples(page_cells(page))
]
MODES = ("fork", "fresh", "compare")
#: Forking needs Linux (fork, memfd_create); elsewhere each page gets a new interpreter.
MODE = os.environ.get("COPY_AND_RUN", "fork" if sys.platform == "linux" else "fresh")
TIMEOUT = 600
INSTALL_PAGE = ROOT / "docs" / "install.md"
#: The install page's fences up to this heading are the set-up; the rest shows use.
INSTALL_END = "## Running a page's examples"
#: The alternative to the CPU build, which a machine without a GPU does not run.
GPU_VARIANT = 'title="With an NVIDIA GPU"'
#: The CPU build's index, which only PyTorch's own host serves.
TORCH_INDEX = re.compile(r"\s+--index-url\s+https://download\.pytorch\.org/\S+")
_BASH_FENCE = re.compile(r"^```bash(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"^# (?P<page>docs/\S+):(?P<line>\d+)$")


def install_commands(page: Path = INSTALL_PAGE) -> list[str]:
    """The shell commands a reader without a GPU runs, in the install page's order."""
    text = page.read_text(encoding="utf-8").split(INSTALL_END)[0]
    commands = []
    for fence in _BASH_FENCE.finditer(text):
        if GPU_VARIANT not in fence.group("info"):
            commands += [line for line in fence.group("body").splitlines() if line.strip()]
    return commands


def reader_environment() -> dict[str, str]:
    """This process's environment without this project's venv or paths."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
    }
    ours = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join(
        part for part in environment.get("PATH", "").split(os.pathsep) if part != ours
    )
    return environment


#: Reader environments already made, one folder per `reader_key` (only the latest kept).
READER_ENVIRONMENTS = ROOT / "build" / "reader-environments"
#: Written once an environment is complete: one stopped half-way is made again.
_MADE = "made"


def reader_key(commands: list[str], wheels: list[Path], python: str) -> str:
    """What a reader environment is made from: the commands, the wheels' bytes and the
    version of the ``python3`` that runs them; the versions the commands pin follow."""
    digest = hashlib.sha256(python.encode() + b"\0")
    for command in commands:
        digest.update(b"command\0" + command.encode() + b"\0")
    for wheel in wheels:
        digest.update(b"wheel\0" + wheel.name.encode() + b"\0" + wheel.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def make_reader_environment(home: Path, commands: list[str], wheels: list[Path]) -> None:
    """Run the install page's commands in ``home``, beside the wheels a reader downloaded."""
    home.mkdir(parents=True)
    for wheel in wheels:
        shutil.copy(wheel, home)  # what clicking the page's download link gives
    script = "set -euo pipefail\n" + "\n".join(commands) + "\n"
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=home,
        capture_output=True,
        text=True,
        env={**reader_environment(), "PIP_NO_COMPILE": "1", "PIP_QUIET": "1"},
        timeout=1800,
    )
    assert result.returncode == 0, f"the install page's commands failed:\n{result.stderr[-4000:]}"
    (home / _MADE).write_text("\n".join(commands) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def reader_python(site: Path) -> Path:
    """A venv made with the install page's commands; its python.

    Making one takes two minutes (torch, TensorFlow, scikit-learn), so it is kept in
    build/reader-environments under `reader_key` and made again whenever a command, the
    tensorkit wheel or python3 changes; a fresh clone, as in CI, always makes it. The
    scripts themselves always run.
    """
    wheels = sorted((site / "downloads").glob("*.whl"))
    commands = [TORCH_INDEX.sub("", command) for command in install_commands()]
    venvs = [c.split()[-1] for c in commands if re.match(r"python3? -m venv ", c)]
    assert venvs, f"{INSTALL_PAGE}: no 'python3 -m venv' command"
    python3 = subprocess.run(
        ["python3", "-c", "import sys; print(sys.executable, sys.version)"],
        capture_output=True,
        text=True,
        env=reader_environment(),
        check=True,
    ).stdout
    home = READER_ENVIRONMENTS / reader_key(commands, wheels, python3)
    if not (home / _MADE).is_file():
        shutil.rmtree(READER_ENVIRONMENTS, ignore_errors=True)  # older ones, a half-made one
        make_reader_environment(home, commands, wheels)
    python = home / venvs[0] / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import tensorkit; print(tensorkit.__file__)"],
        cwd=home,
        capture_output=True,
        text=True,
        env=reader_environment(),
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(home / venvs[0]), f"tensorkit imported from {where}"
    return python


def test_a_changed_command_wheel_or_python_makes_a_new_reader_environment(
    tmp_path: Path,
) -> None:
    wheel = tmp_path / "pytorch_fundamentals_tensorkit-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"one")
    commands = ["python3 -m venv env", "pip install torch==2.13.0"]
    key = reader_key(commands, [wheel], "3.11.2")
    assert reader_key(list(commands), [wheel], "3.11.2") == key
    assert reader_key([*commands[:1], "pip install torch==2.12.0"], [wheel], "3.11.2") != key
    assert reader_key(commands, [wheel], "3.12.0") != key
    wheel.write_bytes(b"two")  # tensorkit changed, the wheel's name did not
    assert reader_key(commands, [wheel], "3.11.2") != key


def script_of(site: Path, page: Path) -> Path:
    """The page's script in the built site, where the page's download link points."""
    return site / DOWNLOADS / f"{download_stem(page)}.py"


def copy_scripts(site: Path, folders: dict[Path, Path]) -> dict[Path, Path]:
    """Each page's downloaded script, copied into a folder of its own."""
    scripts = {}
    for page, folder in folders.items():
        scripts[page] = Path(shutil.copy(script_of(site, page), folder))
    return scripts


def run_fresh(scripts: dict[Path, Path], python: Path) -> dict[Path, Outcome]:
    """Each page in a new interpreter, two at a time: the slow way, kept to compare."""

    def outcome(page: Path) -> Outcome:
        script = scripts[page]
        result = subprocess.run(
            [str(python), script.name],
            cwd=script.parent,
            capture_output=True,
            text=True,
            env={**reader_environment(), "MPLBACKEND": "Agg"},
            timeout=TIMEOUT,
        )
        return Outcome(script, result.returncode, False, 0.0, result.stdout, result.stderr)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(scripts, pool.map(outcome, scripts), strict=True))


def run_forked(scripts: dict[Path, Path], python: Path, work: Path) -> dict[Path, Outcome]:
    """Each page in a fork of a runner that has imported what it imports, two at a time."""
    # Longest first, a rough guess of which run longest, so that none is left to run last.
    order = sorted(scripts.values(), key=lambda script: -script.stat().st_size)
    environment = {**reader_environment(), "MPLBACKEND": "Agg"}  # as run_fresh gives it
    outcomes = run_scripts(
        order, work, workers=2, timeout=TIMEOUT, env=environment, python=str(python)
    )
    return {page: outcomes[script] for page, script in scripts.items()}


def page_line(script: str, script_line: int) -> str:
    """The page line a script line comes from, by the ``# docs/page.md:N`` marker above it."""
    before = [
        match
        for number, text in enumerate(script.splitlines(), start=1)
        if number < script_line and (match := _MARKER.match(text))
    ]
    return f"{before[-1]['page']}:{before[-1]['line']}" if before else "the script's start"


def where_it_failed(script: Path, stderr: str) -> str:
    """The page line of the script line a traceback ends in, if it names one."""
    lines = re.findall(rf'File "[^"]*{re.escape(script.name)}", line (\d+)', stderr)
    if not lines:
        return "no line of the script in the traceback"
    return page_line(script.read_text(encoding="utf-8"), int(lines[-1]))


def first_difference(script: str, printed: str) -> str | None:
    """Where the script's output leaves the page's: the page line and both texts.

    Lines compare as the site's checker compares them: trailing spaces aside.
    """
    expected = expected_output(script)
    lines = printed.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for index, (number, want) in enumerate(expected):
        got = lines[index] if index < len(lines) else None
        if got is None or got.rstrip() != want.rstrip():
            return (
                f"{page_line(script, number)}: the page shows {want!r}, the script printed "
                f"{'nothing more' if got is None else repr(got)} (script line {number})"
            )
    if len(lines) > len(expected):
        return f"the script printed more than the page shows: {lines[len(expected)]!r}"
    return None


@pytest.fixture(scope="module")
def results(
    site: Path, reader_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[Path, Outcome]:
    assert MODE in MODES, f"COPY_AND_RUN={MODE!r}: expected one of {MODES}"
    folders = {page: tmp_path_factory.mktemp(page.stem) for page in PAGES}
    scripts = copy_scripts(site, folders)
    if MODE == "fresh":
        return run_fresh(scripts, reader_python)
    forked = run_forked(scripts, reader_python, tmp_path_factory.mktemp("copy-and-run"))
    if MODE == "compare":
        again = copy_scripts(site, {page: tmp_path_factory.mktemp(page.stem) for page in PAGES})
        fresh = run_fresh(again, reader_python)
        differ = {
            str(page.relative_to(ROOT)): (fresh[page].returncode, forked[page].returncode)
            for page in PAGES
            if (fresh[page].returncode, fresh[page].stdout)
            != (forked[page].returncode, forked[page].stdout)
        }
        assert not differ, f"exit status or output (fresh interpreter, forked) differ: {differ}"
    return forked


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_downloaded_script_prints_what_the_page_shows(
    page: Path, results: dict[Path, Outcome]
) -> None:
    result = results[page]
    assert result.returncode == 0, (
        f"{where_it_failed(result.script, result.stderr)}: {result.failure}\n"
        f"{result.stderr[-3000:]}"
    )
    difference = first_difference(result.script.read_text(encoding="utf-8"), result.stdout)
    assert difference is None, difference


def test_a_script_that_prints_otherwise_names_the_page_line() -> None:
    script = "# docs/a.md:3\nprint(1)\n#> 1\n\n# docs/a.md:9\nprint(2)\n#> 2\n"
    assert first_difference(script, "1\n2\n") is None
    assert first_difference(script, "1 \n2\n") is None  # trailing spaces, as the checker
    assert first_difference(script, "1\n3\n") == (
        "docs/a.md:9: the page shows '2', the script printed '3' (script line 7)"
    )
    assert "printed nothing more" in str(first_difference(script, "1\n"))
    assert "more than the page shows: '4'" in str(first_difference(script, "1\n2\n4\n"))


def test_a_script_that_raises_names_the_page_line_it_came_from(tmp_path: Path) -> None:
    script = tmp_path / "a.py"
    script.write_text("# docs/a.md:3\nx = 1\n\n# docs/a.md:8\nimport seaborn\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, script.name], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert where_it_failed(script, result.stderr) == "docs/a.md:8"


def test_the_install_commands_are_the_cpu_ones_in_page_order() -> None:
    commands = install_commands()
    assert commands[0].startswith("python3 -m venv ") and "activate" in commands[1]
    torch = [c for c in commands if "torch==" in c]
    assert len(torch) == 1 and "whl/cpu" in torch[0]  # the GPU variant is left out
    assert any(c.endswith(".whl") for c in commands)
    assert TORCH_INDEX.sub("", torch[0]) == "pip install torch==2.13.0"


# The forking runner itself, on tiny scripts: a failure is reported as the interpreter
# would report it, and a script starts as `python script.py` starts.

_SCRIPTS = {
    "prints": "print('to stdout')\n",
    "warns": "import sys\nprint('only to stderr', file=sys.stderr)\n",
    "raises": "def broken():\n    raise ValueError('boom')\n\n\nbroken()\n",
    "exits": "import sys\nprint('leaving')\nsys.exit(3)\n",
    "exits_with_message": "raise SystemExit('a message')\n",
    "crashes": "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGSEGV)\n",
    "hangs": "import time\n\ntime.sleep(60)\n",
    "waits_for_its_thread": (
        "import threading\nimport time\n\n\ndef late():\n    time.sleep(0.2)\n"
        "    print('thread done')\n\n\nthreading.Thread(target=late).start()\n"
    ),
    "syntax_error": "x = (\n",
    "imports_preloaded": (
        "import os\n\nimport preloaded\n\nprint(preloaded.PID != os.getpid())\n"
    ),
    "imports_preloaded_too": "import preloaded\n",
    "sets_up_before_importing": (
        "import os\n\nos.environ['SEEN_AT_IMPORT'] = 'set'\nimport preloaded\n\n"
        "print(preloaded.SEEN_AT_IMPORT, preloaded.PID == os.getpid())\n"
    ),
    "interrupted": "raise KeyboardInterrupt\n",
    "imports_broken": "import sys\n\nimport broken_on_import\n",
}
_PROBE = """\
import inspect
import os
import sys

main = sys.modules["__main__"]
print(sorted(globals()))
print(main.__dict__ is globals(), main.__spec__, main.__package__, main.__cached__)
print(__file__, type(main.__loader__).__name__, main.__loader__.name, main.__loader__.path)
print(sys.argv, sys.orig_argv[1:], sys.path[0], os.getcwd(), os.listdir())
print(sorted(os.listdir("/proc/self/fd")))
print("preloaded" in sys.modules, "fresh_process" in sys.modules)
print(len(inspect.stack()))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the forking runner needs Linux")
def test_forked_scripts_end_as_in_a_fresh_interpreter(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "preloaded.py").write_text(
        "import os\nimport sys\n\nPID = os.getpid()\n"
        "SEEN_AT_IMPORT = os.environ.get('SEEN_AT_IMPORT')\n"
        "print('importing preloaded', file=sys.stderr)\n"
        f"with open({str(tmp_path / 'imports')!r}, 'a') as log:\n    print(PID, file=log)\n"
    )
    (library / "broken_on_import.py").write_text("raise ImportError('cannot be imported')\n")
    scripts = {}
    for name, code in {**_SCRIPTS, "probe": _PROBE}.items():
        (tmp_path / name).mkdir()
        scripts[name] = tmp_path / name / f"{name}.py"
        scripts[name].write_text(code)
    (tmp_path / "work").mkdir()
    environment = {**os.environ, "PYTHONPATH": str(library)}
    outcomes = run_scripts(
        list(scripts.values()),
        tmp_path / "work",
        timeout=3,  # each: ample for a tiny script on a busy machine
        packages=("preloaded", "broken_on_import"),
        env=environment,
    )
    ran = {script.stem: outcome for script, outcome in outcomes.items()}

    assert (ran["prints"].returncode, ran["prints"].stdout) == (0, "to stdout\n")
    assert (ran["warns"].returncode, ran["warns"].stderr) == (0, "only to stderr\n")
    assert ran["raises"].returncode == 1
    assert ran["raises"].stderr.splitlines() == [
        "Traceback (most recent call last):",
        f'  File "{scripts["raises"]}", line 5, in <module>',
        "    broken()",
        f'  File "{scripts["raises"]}", line 2, in broken',
        "    raise ValueError('boom')",
        "ValueError: boom",
    ]
    assert (ran["exits"].returncode, ran["exits"].stdout) == (3, "leaving\n")
    assert ran["exits"].failure == "exits.py exited with status 3"
    assert (ran["exits_with_message"].returncode, ran["exits_with_message"].stderr) == (
        1,
        "a message\n",
    )
    assert ran["crashes"].returncode == -signal.SIGSEGV
    assert ran["crashes"].failure == "crashes.py was killed by SIGSEGV"
    assert ran["hangs"].timed_out and ran["hangs"].returncode == -signal.SIGKILL
    assert ran["hangs"].failure.startswith("hangs.py timed out after 3 s")
    assert (ran["waits_for_its_thread"].returncode, ran["waits_for_its_thread"].stdout) == (
        0,
        "thread done\n",
    )
    assert ran["syntax_error"].returncode == 1
    assert ran["syntax_error"].stderr.startswith(f'  File "{scripts["syntax_error"]}", line 1\n')

    assert ran["interrupted"].returncode == -signal.SIGINT
    assert ran["interrupted"].stderr.endswith("KeyboardInterrupt\n")

    # Imported once in the runner, for the two scripts that import it first thing, and
    # once by the script that sets up the environment first; what the runner's import
    # printed is in each script's stderr, as its own import would have printed it.
    assert len((tmp_path / "imports").read_text().splitlines()) == 2
    for name in ("imports_preloaded", "imports_preloaded_too", "sets_up_before_importing"):
        assert (ran[name].returncode, ran[name].stderr) == (0, "importing preloaded\n")
    assert ran["imports_preloaded"].stdout == "True\n"
    assert ran["sets_up_before_importing"].stdout == "set True\n"
    # A preload that fails sends its scripts to a fresh interpreter, to fail there.
    assert ran["imports_broken"].returncode == 1
    assert "ImportError: cannot be imported" in ran["imports_broken"].stderr
    assert f'File "{scripts["imports_broken"]}", line 3' in ran["imports_broken"].stderr
    assert "preload failed" in ran["imports_broken"].note

    # The probe sees what `python probe.py` sees, bar its one caller frame.
    probe = scripts["probe"]
    fresh = subprocess.run(
        [sys.executable, str(probe)],
        cwd=probe.parent,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert fresh.returncode == ran["probe"].returncode == 0, fresh.stderr + ran["probe"].stderr
    *same, stack = fresh.stdout.splitlines()
    assert stack == "1"
    assert ran["probe"].stdout.splitlines() == [*same, "2"], (fresh.stdout, ran["probe"].stdout)


@pytest.mark.parametrize(
    ("script", "preloaded"),
    [
        (
            "import torch\nx = torch.ones(1)\nimport matplotlib.pyplot as plt\n",
            ["torch", "matplotlib.pyplot"],
        ),
        (
            "import numpy as np\nfrom torch.utils.data import DataLoader\n",
            ["numpy", "torch.utils.data"],
        ),
        # Imports that may never run.
        (
            "if True:\n    import torch\ntry:\n    import numpy\nexcept ImportError:\n    pass\n",
            [],
        ),
        # What could change what an import does.
        ("import os\nos.environ['OMP_NUM_THREADS'] = '1'\nimport torch\n", []),
        ("from os import environ\nenviron['A'] = '1'\nimport torch\n", []),
        (
            "import torch\nimport matplotlib\nmatplotlib.use('svg')\nimport matplotlib.pyplot\n",
            ["torch", "matplotlib"],
        ),
        ("import torch\nimport tensorkit\nimport numpy\n", ["torch"]),
        ("import math\nimport torch\nprint(open)\nimport numpy\n", ["torch"]),
    ],
)
def test_preloads_stop_where_the_script_could_change_an_import(
    script: str, preloaded: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "script.py"
    path.write_text(script)
    assert _preload_of(str(path), HEAVY_PACKAGES) == preloaded
