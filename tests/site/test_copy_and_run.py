"""Copy-and-run: each page's examples, as a reader copies them, run in a fresh interpreter.

The script is the one the site offers for download (harness/downloads.py): every copy
button's text in page order. It runs with no harness around it: no cuda pass, no seeding,
no warning filters; only matplotlib is told there is no screen.

Each script runs in its own process, as ``python script.py`` in its own folder. By
default that process is forked from a runner that has already imported the heavy
packages the script imports itself, and nothing else (tests/site/fresh_process.py, which
says what a script could still tell apart); that spares each page 2-4 s of imports.
``COPY_AND_RUN=fresh`` starts a new interpreter per page instead, as this test first did,
and ``COPY_AND_RUN=compare`` runs both ways and fails where their exit statuses differ.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.collect import ROOT
from harness.downloads import page_blocks, page_script
from tests.site.fresh_process import HEAVY_PACKAGES, Outcome, _preload_of, run_scripts

pytestmark = pytest.mark.site

PAGES = [
    page
    for page in sorted((ROOT / "docs").rglob("*.md"))
    if any(block.code for block in page_blocks(page))
]
MODES = ("fork", "fresh", "compare")
#: Forking needs Linux (fork, memfd_create); elsewhere each page gets a new interpreter.
MODE = os.environ.get("COPY_AND_RUN", "fork" if sys.platform == "linux" else "fresh")
TIMEOUT = 600


def run_script(page: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    script = folder / f"{page.stem}.py"
    script.write_text(page_script(page), encoding="utf-8")
    environment = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=folder,
        capture_output=True,
        text=True,
        env=environment,
        timeout=TIMEOUT,
    )


def run_fresh(folders: dict[Path, Path]) -> dict[Path, Outcome]:
    """Each page in a new interpreter, two at a time: the slow way, kept to compare."""

    def outcome(page: Path) -> Outcome:
        result = run_script(page, folders[page])
        script = folders[page] / f"{page.stem}.py"
        return Outcome(script, result.returncode, False, 0.0, result.stdout, result.stderr)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(folders, pool.map(outcome, folders), strict=True))


def run_forked(folders: dict[Path, Path], work: Path) -> dict[Path, Outcome]:
    """Each page in a fork of a runner that has imported what it imports, two at a time."""
    scripts = {}
    for page, folder in folders.items():
        scripts[page] = folder / f"{page.stem}.py"
        scripts[page].write_text(page_script(page), encoding="utf-8")
    # Longest first, a rough guess of which run longest, so that none is left to run last.
    order = sorted(scripts.values(), key=lambda script: -script.stat().st_size)
    environment = {**os.environ, "MPLBACKEND": "Agg"}  # as run_script gives it
    outcomes = run_scripts(order, work, workers=2, timeout=TIMEOUT, env=environment)
    return {page: outcomes[script] for page, script in scripts.items()}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Outcome]:
    assert MODE in MODES, f"COPY_AND_RUN={MODE!r}: expected one of {MODES}"
    folders = {page: tmp_path_factory.mktemp(page.stem) for page in PAGES}
    if MODE == "fresh":
        return run_fresh(folders)
    forked = run_forked(folders, tmp_path_factory.mktemp("copy-and-run"))
    if MODE == "compare":
        fresh = run_fresh({page: tmp_path_factory.mktemp(page.stem) for page in PAGES})
        differ = {
            str(page.relative_to(ROOT)): (fresh[page].returncode, forked[page].returncode)
            for page in PAGES
            if fresh[page].returncode != forked[page].returncode
        }
        assert not differ, f"exit status (fresh interpreter, forked) differs: {differ}"
    return forked


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_copied_examples_run_in_a_fresh_interpreter(
    page: Path, results: dict[Path, Outcome]
) -> None:
    result = results[page]
    assert result.returncode == 0, (
        f"{page.relative_to(ROOT)}: {result.failure}\n{result.stderr[-3000:]}"
    )


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
