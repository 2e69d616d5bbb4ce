"""Run scripts as ``python script.py`` would, each in a fork of an interpreter that has
already imported the heavy third-party packages the script imports.

A page's script spends 2-4 s importing torch, matplotlib or scikit-learn before its first
example runs, and a second tearing torch down at exit. This runner imports them once and
forks one process per script, so that the script starts with its own imports done and
nothing else. A process that has only imported packages has no threads to lose in a fork
(torch starts its compute threads at the first operation, which the runner never runs;
OpenBLAS stops its idle pool for the fork), so forking it is safe.

``python fresh_process.py MANIFEST`` is a tree of processes:

* the root reads the manifest, works out what each script imports (:func:`_preload_of`),
  imports what most share (torch, on this site), forks one *zygote* per set of further
  modules, hands out the scripts ``workers`` at a time, and prints one JSON list of
  reports, in the manifest's order;
* a zygote imports its further modules (matplotlib.pyplot, sklearn.datasets, ...), forks
  one child per script it is given, reaps it, kills it past its timeout, and reports its
  wait status;
* a child becomes ``python script.py``: it closes the runner's pipes, sends its stdout and
  stderr to files, changes to the script's folder, sets ``sys.argv``, ``sys.orig_argv``
  and ``sys.path[0]`` as the interpreter does, runs the script in a new ``__main__``
  module with the globals the interpreter gives it, and ends as the interpreter ends: an
  uncaught exception printed by ``sys.excepthook`` and status 1, a ``SystemExit``'s code
  (or its message and 1), death by SIGINT after a ``KeyboardInterrupt``, non-daemon
  threads joined, atexit handlers run, stdout and stderr flushed (120 if that fails). A
  crash or a kill is a negative status, as with :mod:`subprocess`.

What a script could still tell apart from a fresh interpreter:

* modules it imports later are already in ``sys.modules``: only those of the manifest's
  packages (torch, numpy, ...) it imports at its top level before anything that could
  change what an import does (see :func:`_preload_of`), and the standard library modules
  this runner uses (all of which torch imports anyway);
* what those imports print is at the start of its stdout and stderr, not in between;
* the generators that imports seed (torch's default generator, NumPy's legacy global one)
  are reseeded unpredictably in each child, as a fresh interpreter seeds them, but the
  hash seed of ``str`` and ``bytes`` is the runner's, the same for all its scripts;
* its module frame has one caller, in this file (``inspect.stack()`` has two entries, and
  a warning with a ``stacklevel`` past the script's top is attributed to this file);
  tracebacks leave that frame out;
* modules are not torn down at exit, so ``__del__`` methods left to run then do not run.

If a preload import fails, the scripts that needed it run by ``os.execve`` in a fresh
interpreter instead, where they meet the failure themselves.
"""

from __future__ import annotations

import ast
import atexit
import builtins
import importlib
import json
import os
import select
import signal
import sys
import time
import types
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

RUNNER = Path(__file__).resolve()
#: Top-level packages worth preloading: heavy, third-party, and safe to fork after import.
HEAVY_PACKAGES = ("torch", "numpy", "matplotlib", "sklearn", "scipy")
#: A note sent through the shared results pipe is cut to this, so the write stays atomic.
_NOTE_CHARS = 600


@dataclass(frozen=True)
class Outcome:
    """How one script ended: what the runner saw, and what the script wrote."""

    script: Path
    #: As :class:`subprocess.Popen` gives it: negative for a signal; None if never known.
    returncode: int | None
    timed_out: bool
    seconds: float
    stdout: str
    stderr: str
    #: Why the runner could not report the script as asked, if it could not.
    note: str = ""

    @property
    def failure(self) -> str:
        """One line on how the script failed, or ``""`` if it exited 0."""
        if self.returncode == 0:
            return ""
        if self.timed_out:
            return f"{self.script.name} timed out after {self.seconds:.0f} s and was killed"
        if self.returncode is None:
            return f"{self.script.name}: {self.note}"
        if self.returncode < 0:
            name = signal.Signals(-self.returncode).name
            return f"{self.script.name} was killed by {name}"
        return f"{self.script.name} exited with status {self.returncode}"


# The client, used by the tests: write a manifest, start the runner, read the outcomes.


def run_scripts(
    scripts: Sequence[Path],
    work: Path,
    *,
    workers: int = 2,
    timeout: float = 600,
    packages: Sequence[str] = HEAVY_PACKAGES,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
) -> dict[Path, Outcome]:
    """Run each script in its own folder, ``workers`` at a time, in the order given.

    Each gets ``timeout`` seconds; ``work`` holds the manifest and what each one writes.
    ``python`` is the interpreter the scripts run with (a reader's environment's); the
    runner needs only its standard library.
    """
    import subprocess

    jobs: list[dict[str, Any]] = []
    for index, script in enumerate(scripts):
        script = script.absolute()
        jobs.append(
            {
                "script": str(script),
                "cwd": str(script.parent),
                "stdout": str(work / f"{index}-{script.stem}.stdout"),
                "stderr": str(work / f"{index}-{script.stem}.stderr"),
                "timeout": timeout,
            }
        )
    manifest = work / "manifest.json"
    manifest.write_text(
        json.dumps({"workers": workers, "packages": list(packages), "jobs": jobs}),
        encoding="utf-8",
    )
    rounds = -(-len(jobs) // max(workers, 1))
    result = subprocess.run(
        [python, str(RUNNER), str(manifest)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout * rounds + 120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the runner exited with {result.returncode}:\n{result.stderr}")
    reports: list[dict[str, Any]] = json.loads(result.stdout)
    outcomes = {}
    for script, job, report in zip(scripts, jobs, reports, strict=True):
        outcomes[script] = Outcome(
            script=script,
            returncode=report["returncode"],
            timed_out=report["timed_out"],
            seconds=report["seconds"],
            stdout=_read(Path(job["stdout"])),
            stderr=_read(Path(job["stderr"])),
            note=report["note"],
        )
    return outcomes


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


# The runner.


@dataclass(frozen=True)
class _Job:
    index: int
    script: str
    cwd: str
    stdout: str
    stderr: str
    timeout: float


@dataclass(frozen=True)
class _Prelude:
    """What the preload imports wrote, and why they failed if they did."""

    stdout: bytes = b""
    stderr: bytes = b""
    failure: str | None = None

    def then(self, later: _Prelude) -> _Prelude:
        return _Prelude(
            self.stdout + later.stdout,
            self.stderr + later.stderr,
            self.failure if self.failure is not None else later.failure,
        )


@dataclass
class _Script:
    """What a forked child runs, as ``python script.py`` would run it."""

    path: str
    namespace: dict[str, Any] = field(default_factory=dict)

    def code(self) -> types.CodeType:
        with open(self.path, "rb") as source:
            # dont_inherit: this file's ``from __future__`` imports are not the script's.
            return compile(source.read(), self.path, "exec", dont_inherit=True)


#: Modules and builtins through which a script could change what a later import does
#: (the environment, sys.path, warning filters, files, matplotlib's backend).
_STATE_MODULES = frozenset(
    {"os", "sys", "warnings", "importlib", "builtins", "site", "locale", "ctypes", "io"}
    | {"pathlib", "shutil", "subprocess", "tempfile", "matplotlib"}
)
_STATE_BUILTINS = frozenset({"open", "exec", "eval", "compile", "__import__", "setattr"})


def _preload_of(script: str, packages: Sequence[str]) -> list[str]:
    """The modules of ``packages`` a script imports, that can be imported before it runs.

    Only import statements at the top level of the script count (one under ``if`` or
    ``try``, or in a function, may never run), and only up to the first statement that
    could change what an import does: one that uses os, sys, warnings, matplotlib itself,
    open, ... (``os.environ[...] = ...`` or ``matplotlib.use(...)`` before an import), or
    the import of a module that is neither a preloadable package nor the standard
    library's (the project's own, say), which may do anything.
    """
    try:
        with open(script, "rb") as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError, ValueError):
        return []
    modules: list[str] = []
    state = set(_STATE_BUILTINS)  # names through which state can change
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            imported = [(alias.name, alias.asname or alias.name) for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
            imported = [
                (statement.module, alias.asname or alias.name) for alias in statement.names
            ]
        else:
            if state & {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)}:
                return modules
            continue
        for module, bound in imported:
            top = module.partition(".")[0]
            if top in _STATE_MODULES and (module == top or top != "matplotlib"):
                state.add(bound.partition(".")[0])
            if top in packages:
                if module not in modules:
                    modules.append(module)
            elif top not in sys.stdlib_module_names:
                return modules
    return modules


def _import(modules: Sequence[str]) -> _Prelude:
    """Import ``modules``, keeping what they print for the scripts that import them."""
    if not modules:
        return _Prelude()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    captured = os.memfd_create("preload-stdout"), os.memfd_create("preload-stderr")
    os.dup2(captured[0], 1)
    os.dup2(captured[1], 2)
    failure = None
    try:
        for module in modules:
            importlib.import_module(module)
    except Exception:
        import traceback

        failure = traceback.format_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
    texts = []
    for descriptor in captured:
        os.lseek(descriptor, 0, os.SEEK_SET)
        texts.append(_read_all(descriptor))
        os.close(descriptor)
    for descriptor in saved:
        os.close(descriptor)
    return _Prelude(texts[0], texts[1], failure)


def _read_all(descriptor: int) -> bytes:
    chunks = []
    while chunk := os.read(descriptor, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _fork() -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    with warnings.catch_warnings():
        # Python 3.12+ warns of forking a process with threads: here, OpenBLAS's idle
        # pool, which it shuts down before the fork and starts again in the child.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def _send(descriptor: int, message: dict[str, Any]) -> None:
    # One write of under PIPE_BUF bytes: atomic, however many processes share the pipe.
    os.write(descriptor, (json.dumps(message) + "\n").encode())


def _serve(manifest_path: str) -> _Script | None:
    """Run the manifest's scripts; return only in a forked child, with its script."""
    with open(manifest_path, encoding="utf-8") as file:
        manifest = json.load(file)
    # Import from a folder like a script's (it holds nothing importable), not from this
    # file's: ./matplotlibrc and sys.path[0] are looked up there.
    folder = os.path.join(os.path.dirname(os.path.abspath(manifest_path)), "preload")
    os.makedirs(folder, exist_ok=True)
    os.chdir(folder)
    sys.path[0] = folder
    workers = max(int(manifest["workers"]), 1)
    jobs = [_Job(index, **job) for index, job in enumerate(manifest["jobs"])]
    env = dict(os.environ)
    preloads = [_preload_of(job.script, manifest["packages"]) for job in jobs]
    # The root imports the module most scripts preload (torch), and what all of those
    # preload with it; the other scripts get their zygotes before it does.
    counts = Counter(module for preload in preloads for module in preload)
    sharing = [p for p in preloads if counts and counts.most_common(1)[0][0] in p]
    common = [m for m in (sharing[0] if sharing else []) if all(m in p for p in sharing)]

    results_read, results_write = os.pipe()
    commands: list[tuple[int, int]] = []
    members_of: list[list[int]] = []
    group_of: dict[int, int] = {}
    zygotes: dict[int, int] = {}  # pid -> group
    root = os.getpid()

    def spawn(extra: tuple[str, ...], members: list[int], prelude: _Prelude) -> _Script | None:
        """Fork a zygote for ``members``; this returns only in the root, or in a job's child."""
        group = len(commands)
        commands.append(os.pipe())
        members_of.append(members)
        for index in members:
            group_of[index] = group
        pid = _fork()
        if pid == 0:
            os.close(results_read)
            for read, write in commands[:-1]:
                os.close(read)
                os.close(write)
            os.close(commands[-1][1])
            own = commands[-1][0]
            return _zygote(group, extra, prelude, jobs, env, own, results_write, root)
        zygotes[pid] = group
        return None

    # Scripts that preload the same further modules share a zygote.
    early: dict[tuple[str, ...], list[int]] = {}
    for job, preload in zip(jobs, preloads, strict=True):
        if not all(m in preload for m in common):
            early.setdefault(tuple(preload), []).append(job.index)
    for extra, members in early.items():
        if child := spawn(extra, members, _Prelude()):
            return child
    prelude = _import(common)
    groups: dict[tuple[str, ...], list[int]] = {}
    for job, preload in zip(jobs, preloads, strict=True):
        if all(m in preload for m in common):
            extra = tuple(m for m in preload if m not in sys.modules)
            groups.setdefault(extra, []).append(job.index)
    for extra, members in groups.items():
        if child := spawn(extra, members, prelude):
            return child
    os.close(results_write)
    for read, _ in commands:
        os.close(read)

    reports: dict[int, dict[str, Any]] = {}
    pending = [job.index for job in jobs]
    running: dict[int, float] = {}  # job -> when the root gives up on hearing of it
    ready: set[int] = set()
    notes: dict[int, str] = {}
    buffer = b""

    def lose(index: int, note: str) -> None:
        reports[index] = {"returncode": None, "timed_out": False, "seconds": 0.0, "note": note}
        running.pop(index, None)
        if index in pending:
            pending.remove(index)

    while len(reports) < len(jobs):
        for index in list(pending):
            if len(running) >= workers:
                break
            if group_of[index] in ready:
                pending.remove(index)
                running[index] = time.monotonic() + jobs[index].timeout + 60
                os.write(commands[group_of[index]][1], f"{index}\n".encode())
        readable, _, _ = select.select([results_read], [], [], 0.05)
        if readable:
            chunk = os.read(results_read, 1 << 16)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                message = json.loads(line)
                if "ready" in message:
                    ready.add(message["ready"])
                    if message["note"]:
                        notes[message["ready"]] = message["note"]
                    continue
                index = message["done"]
                running.pop(index, None)
                note = notes.get(group_of[index], "")
                reports[index] = {
                    "returncode": os.waitstatus_to_exitcode(message["status"]),
                    "timed_out": message["timed_out"],
                    "seconds": message["seconds"],
                    "note": f"preload failed, so it ran in a fresh interpreter: {note}"
                    if note
                    else "",
                }
            if not chunk:  # every zygote is gone
                for index in set(range(len(jobs))) - set(reports):
                    lose(index, "the runner lost this script: its zygote exited")
        for pid, group in list(zygotes.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                del zygotes[pid]
                for index in members_of[group]:
                    if index not in reports:
                        lose(index, f"its zygote ended with wait status {status}")
        for index, deadline in list(running.items()):
            if time.monotonic() > deadline:
                lose(index, "its zygote never reported it")

    for _, write in commands:
        os.close(write)  # a zygote ends when its command pipe does
    for pid in zygotes:
        os.waitpid(pid, 0)
    print(json.dumps([reports[job.index] for job in jobs]))
    return None


def _zygote(
    group: int,
    extra: tuple[str, ...],
    prelude: _Prelude,
    jobs: list[_Job],
    env: dict[str, str],
    commands: int,
    results: int,
    root: int,
) -> _Script:
    """Import ``extra``, then fork a child for each job the root sends; never returns,
    except in such a child."""
    prelude = prelude.then(_import(extra))
    fresh = prelude.failure is not None
    _send(results, {"ready": group, "note": (prelude.failure or "")[-_NOTE_CHARS:]})
    children: dict[int, tuple[int, float]] = {}  # pid -> (job, start)
    killed: set[int] = set()
    buffer = b""
    closed = False
    while not closed or children:
        # Polls: every 10 ms while a child runs, to reap it and keep its time limit.
        wait = 0.01 if children else 0.2
        readable, _, _ = select.select([] if closed else [commands], [], [], wait)
        if readable:
            chunk = os.read(commands, 1 << 12)
            closed = not chunk
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                job = jobs[int(line)]
                pid = _fork()
                if pid == 0:
                    os.close(commands)
                    os.close(results)
                    return _become(job, prelude, fresh, env)
                children[pid] = (job.index, time.monotonic())
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            index, start = children.pop(pid)
            message = {
                "done": index,
                "status": status,
                "timed_out": pid in killed,
                "seconds": round(time.monotonic() - start, 3),
            }
            _send(results, message)
        for pid, (index, start) in children.items():
            if pid not in killed and time.monotonic() - start > jobs[index].timeout:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        if os.getppid() != root:  # the root is gone: nobody will read what we report
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            os._exit(1)
    os._exit(0)


def _become(job: _Job, prelude: _Prelude, fresh: bool, env: dict[str, str]) -> _Script:
    """Turn this forked child into ``python job.script``, up to running the script."""
    for descriptor, path, text in (
        (1, job.stdout, prelude.stdout),
        (2, job.stderr, prelude.stderr),
    ):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        if not fresh:  # a fresh interpreter prints its own
            os.write(opened, text)
        os.dup2(opened, descriptor)
        os.close(opened)
    os.chdir(job.cwd)  # after the redirections, so that a failure shows in its stderr
    if fresh:
        try:
            os.execve(sys.executable, [sys.executable, job.script], env)
        finally:
            os._exit(127)
    _reseed()
    sys.argv = [job.script]
    sys.orig_argv = [sys.orig_argv[0], job.script]
    sys.path[0] = os.path.dirname(os.path.realpath(job.script))
    path = os.path.abspath(job.script)
    main = types.ModuleType("__main__")
    # The globals ``python script.py`` starts with, in its order.
    main.__dict__.update(
        __loader__=importlib.machinery.SourceFileLoader("__main__", path),
        __annotations__={},
        __builtins__=builtins,
        __file__=path,
        __cached__=None,
    )
    sys.modules["__main__"] = main
    return _Script(job.script, main.__dict__)


def _reseed() -> None:
    """Give the generators that a preload seeded a new unpredictable seed, as at startup."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.default_generator.seed()
    mtrand = sys.modules.get("numpy.random.mtrand")
    if mtrand is not None:
        # Re-initialised in place: np.random.rand and the rest are bound to this object.
        mtrand._rand.__init__()


def _status_after(error: BaseException) -> int:
    """Report an exception the script did not catch, as the interpreter would, and give
    the exit status it would give; -SIGINT for a KeyboardInterrupt, as a signal."""
    if isinstance(error, SystemExit):
        code = error.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF if -(2**63) <= code < 2**63 else 255
        if sys.stderr is not None:
            sys.stderr.write(f"{code}\n")
        return 1
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_frame.f_code.co_filename == __file__:
        traceback = traceback.tb_next  # this file's frame: not the script's
    error = error.with_traceback(traceback)  # what the default hook prints
    sys.last_type, sys.last_value, sys.last_traceback = type(error), error, traceback
    sys.excepthook(type(error), error, traceback)
    return -signal.SIGINT if isinstance(error, KeyboardInterrupt) else 1


def _exit(status: int) -> NoReturn:
    """End as the interpreter ends, up to what a script can see or what sets the status:
    wait for non-daemon threads, run atexit handlers, flush stdout and stderr.

    Tearing down the modules is left out: with torch imported it takes a second.
    """
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except Exception:
            status = 120  # as Py_Exit gives when flushing fails
    if status == -signal.SIGINT:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        status = 128 + signal.SIGINT  # where the signal does not end it, as in Python
    os._exit(status & 0xFF)


if __name__ == "__main__":
    _child = _serve(sys.argv[1])
    if _child is None:
        sys.stdout.flush()
        os._exit(0)  # tearing torch down would take a second
    # A forked child: the script runs in this frame, the bottom of the stack.
    _status = 0
    try:
        exec(_child.code(), _child.namespace)
    except BaseException as _error:
        _status = _status_after(_error)
        del _error
    _exit(_status)
