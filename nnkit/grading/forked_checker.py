"""Checkers forked from a warm process, for runs that grade many notebooks.

A checker, ``pytest grader_tests/<ps> --grading-job job.json`` (`runner.checker_command`), spends
about 2 s of CPU starting: importing torch and pytest. Where one process grades many notebooks,
that start-up is paid again for each: the mutant bank (``nnkit mutants``, ``make test``: hundreds
of quick runs, where it is most of a wrong variant's cost) and a plain ``nbgrader autograde
ASSIGNMENT`` of a class (`RunHiddenGraders.fork_checker`, on by default). Here multiprocessing's
*forkserver* imports those modules once, in a fresh interpreter of its own, and forks each
checker from it:

* every checker is a fork of the same clean server, never of an earlier checker, so nothing of
  one grading reaches the next (and the checker never runs student code: that stays in the
  sandboxed probe the checker starts, exactly as before);
* the server imports torch but never runs it: no thread pool, and no question to CUDA, not even
  ``torch.cuda.is_available()``, which would poison every fork (`nnkit.grading.devices`); a
  checker picks its device and threads after the fork, and refuses to run if the server asked
  CUDA anyway (a kit bug, reported in the checker's log; `tests/test_fork_safety.py`);
* each checker leads a session of its own (its process group is what the runner kills), writes
  its output to the log and its report to the pipe it is handed, as the subprocess does.

A process that grades one notebook (an `nnkit batch` job) pays the server's start instead of the
checker's, about the same. `runner.run_job(fork_checker=False)` starts a plain subprocess.
"""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

# What every checker imports before its first test (module names, imported once in the server).
PRELOAD = ["torch", "pytest", "nbformat", "pytest_timeout", "nnkit.grading.pytest_plugin",
           "nnkit.grading.api", "nnkit.grading.checks", "nnkit.grading.proxy", "nnkit.grading.remote", "nnkit.grading.wire", "nnkit.sandbox"]

_context = None


def _forkserver():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


def _checker_main(argv: list[str], cwd: str, env: dict, log_path: str, report) -> None:
    """In the forked child: become the `pytest ...` process that `argv` describes."""
    os.setsid()                                   # its own process group: the runner kills it whole
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.dont_write_bytecode = True
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    from nnkit.grading.devices import PoisonedFork, refuse_poisoned_fork

    try:
        refuse_poisoned_fork("this checker")      # before anything of the job: see nnkit.grading.devices
    except PoisonedFork as bug:
        print(f"nnkit: {bug}", file=sys.stderr, flush=True)   # the log: the runner's record shows it to staff
        os._exit(70)                              # EX_SOFTWARE: no report, so the run is "crashed", not a score
    report_fd = os.dup(report.fileno())           # the pytest plugin closes it when the report is written
    report.close()
    args = [a if a != "{report_fd}" else str(report_fd) for a in argv[3:]]   # argv: python -m pytest ...
    import pytest

    code = pytest.main(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code))


class ForkedChecker:
    """A checker forked from the server, with the part of `subprocess.Popen` the runner uses."""

    def __init__(self, argv: list[str], cwd: Path, env: dict, log_path: Path):
        context = _forkserver()
        reader, writer = context.Pipe(duplex=False)
        self.process = context.Process(target=_checker_main, args=(argv, str(cwd), env, str(log_path), writer),
                                       daemon=False)
        self.process.start()
        writer.close()                            # the runner sees the end of the report when the checker exits
        self.report_fd = os.dup(reader.fileno())  # a plain fd, the runner's to read and close
        reader.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait(self, timeout: float | None = None) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired("forked checker", timeout)
        return self.process.exitcode

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode
