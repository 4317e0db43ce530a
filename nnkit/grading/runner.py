"""Run an assignment's hidden graders on one notebook, in a process of their own.

The student's code is imported by pytest in a child process, never in the
caller: a submission that loops, crashes, exits or floods stdout takes only
that child with it. Its output goes to a file of which only the tail is read,
the whole process group is killed at the deadline, and the verdict is read
from the JSON report the pytest plugin writes.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from nnkit.grading.course import Course
from nnkit.grading.notebook import is_solution, read_notebook
from nnkit.grading.results import CellScore, cell_points, score_cells

OUTPUT_TAIL_BYTES = 4000
MAX_LOG_BYTES = 8 << 20


@dataclass
class GraderRun:
    """Per-cell scores plus how the grader process ended: "ok", "timed out" or "crashed"."""
    cells: dict[str, CellScore]
    status: str
    detail: str
    seconds: float
    device: str = "?"

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.cells.values())


def _tail(path: Path) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - OUTPUT_TAIL_BYTES))
        return handle.read().decode("utf-8", "replace")


def _fail_all(points: dict[str, float], message: str) -> dict[str, CellScore]:
    return {gid: CellScore(gid, pts, messages=[message]) for gid, pts in points.items()}


def given_cells_only(source_notebook: Path, destination: Path) -> None:
    """Copy the source notebook without its solutions: all the graders need from it
    are the given cells and the hidden cells' points, and the student's code runs
    in the same process."""
    nb = read_notebook(source_notebook)
    for cell in nb.cells:
        if is_solution(cell):
            cell.source = ""
    nbformat.write(nb, str(destination))


def pytest_command(course: Course, assignment: str, submission: Path, source: Path, report: Path,
                   device: str = "auto", per_test_timeout: int = 300, first_failure_only: bool = False,
                   only_cells: list[str] | None = None) -> list[str]:
    argv = [sys.executable, "-m", "pytest", str(course.grader_dir(assignment)),
            "--submission", str(submission), "--assignment", assignment,
            "--source-notebook", str(source),
            "--grader-report", str(report), "--grader-device", device,
            "--rootdir", str(course.root / "grader_tests"),
            "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
            "--timeout", str(per_test_timeout)]
    if first_failure_only:
        argv.append("-x")
    if only_cells:
        argv += ["--grade-cells", ",".join(only_cells)]
    return argv


def run_graders(course: Course, assignment: str, submission: Path, *, timeout: float = 900,
                per_test_timeout: int = 300, device: str = "auto", first_failure_only: bool = False,
                only_cells: list[str] | None = None,
                wrap: Callable[[list[str], Path, list[Path]], list[str]] | None = None) -> GraderRun:
    """Grade `submission` (a notebook) with `grader_tests/<assignment>`.

    `wrap(argv, workdir, readable)` may return a sandboxed command line for the pytest
    process (see `nnkit.sandbox.grader_wrapper`).
    """
    points = cell_points(read_notebook(course.source_notebook(assignment)))
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nnkit-grade-") as tmp:
        work = Path(tmp)
        report, log = work / "report.json", work / "pytest.log"
        # A private copy: the sandboxed process sees only its work folder.
        copy, source = work / Path(submission).name, work / "given_cells.ipynb"
        shutil.copyfile(submission, copy)
        given_cells_only(course.source_notebook(assignment), source)
        argv = pytest_command(course, assignment, copy, source, report, device, per_test_timeout,
                              first_failure_only, only_cells)
        if wrap:
            graders = course.root / "grader_tests"
            argv = wrap(argv, work, [course.grader_dir(assignment), graders / "conftest.py",
                                     course.root / "nbgrader_config.py"])
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, cwd=work, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                # Student code may have forked; take the whole group down.
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        seconds = time.monotonic() - start
        tail = _tail(log)
        if timed_out:
            return GraderRun(_fail_all(points, f"Timed out: grading stopped after {timeout:g} s. "
                                       "Look for an endless loop or a very slow cell."),
                             "timed out", tail, seconds)
        try:
            payload = json.loads(report.read_text())
        except (OSError, ValueError):
            return GraderRun(_fail_all(points, "The grading process crashed while running your code "
                                       f"(exit code {proc.returncode}); no check could finish. Look for "
                                       "sys.exit, os._exit or code that kills the Python process."),
                             "crashed", tail, seconds)
        tests = payload.get("tests", [])
        cells = score_cells(tests, points)
        status = "timed out" if any(t["message"].startswith("Timed out") for t in tests) else "ok"
        return GraderRun(cells, status, tail, seconds, payload.get("device", "?"))
