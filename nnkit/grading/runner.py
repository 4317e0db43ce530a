"""Run an assignment's hidden graders on one notebook, in a process of their own.

The student's code is imported by pytest in a child process, never in the
caller: a submission that loops, crashes, exits or floods stdout takes only
that child with it. Its output goes to a file of which only the tail is read,
the whole process group is killed at the deadline, and the verdict is read
from the JSON report the pytest plugin writes. The child imports a private copy
of the graders, which it deletes before the student's code loads.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from nnkit.grading.course import Course
from nnkit.grading.notebook import is_solution, read_notebook
from nnkit.grading.results import CellScore, cell_points, score_cells
from nnkit.grading.status import MAX_MEASUREMENTS, MeasurementRefused, Status, plain_data

OUTPUT_TAIL_BYTES = 4000
POLL_SECONDS = 0.5
STOP_GRACE = 10  # seconds a test may outlive its timeout before its process is killed
MAX_ATTEMPTS = 50  # grader processes for one notebook, each going on past what stopped the last


@dataclass
class GraderRun:
    """Per-cell scores plus how the grader processes ended (graded, timed out or crashed),
    and what the graders measured of the student's code (see `nnkit.grading.status`)."""
    cells: dict[str, CellScore]
    status: Status
    detail: str
    seconds: float
    device: str = "?"
    notes: list[str] = field(default_factory=list)  # for the student: what was left out, and why
    measurements: dict = field(default_factory=dict)

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


def private_graders(course: Course, assignment: str, destination: Path) -> Course:
    """Copy what the grader process imports (the conftest and one assignment's graders)
    into `destination`, laid out as a course of its own.

    The pytest plugin deletes this copy once the tests are collected
    (``--forget-grader-sources``), before the student's code is imported: that code
    shares the process, so it must not find the graders' source on disk.
    """
    graders = destination / "grader_tests"
    shutil.copytree(course.grader_dir(assignment), graders / assignment,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copyfile(course.root / "grader_tests" / "conftest.py", graders / "conftest.py")
    # Course.containing() recognises a course by this file; the graders never read it.
    (destination / "nbgrader_config.py").write_text("# a private copy of one assignment's graders (nnkit.grading.runner)\n")
    return Course(destination)


def pytest_command(course: Course, assignment: str, submission: Path, source: Path, report: Path,
                   device: str = "auto", per_test_timeout: int = 300, first_failure_only: bool = False,
                   only_cells: list[str] | None = None, forget_sources: bool = False,
                   progress: Path | None = None, skip_tests: Path | None = None,
                   leave_out_cells: Path | None = None) -> list[str]:
    argv = [sys.executable, "-m", "pytest", str(course.grader_dir(assignment)),
            "--submission", str(submission), "--assignment", assignment,
            "--source-notebook", str(source),
            "--grader-report", str(report), "--grader-device", device,
            "--rootdir", str(course.root / "grader_tests"),
            "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
            "--timeout", str(per_test_timeout)]
    if forget_sources:
        argv.append("--forget-grader-sources")
    if progress:
        argv += ["--grader-progress", str(progress)]
    if skip_tests:
        argv += ["--grader-skip-tests", str(skip_tests)]
    if leave_out_cells:
        argv += ["--grader-leave-out-cells", str(leave_out_cells)]
    if first_failure_only:
        argv.append("-x")
    if only_cells:
        argv += ["--grade-cells", ",".join(only_cells)]
    return argv


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _supervise(argv: list[str], work: Path, log: Path, progress: Path, env: dict, deadline: float,
               stop_after: float) -> tuple[str, dict | None]:
    """Run one pytest process to its end: ("exited", {"returncode": ...}), ("deadline", None),
    or ("stuck", test) for a test still running `stop_after` seconds after it started.

    pytest-timeout stops a slow test by raising inside it, which student code that
    catches BaseException can swallow; so the process is also watched from here.
    """
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, cwd=work, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        running, since, ended = None, time.monotonic(), ("exited", None)
        try:
            while True:
                try:
                    proc.wait(timeout=POLL_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                if now >= deadline:
                    ended = ("deadline", None)
                    break
                current = (_read_json(progress) or {}).get("running")
                if current != running:
                    running, since = current, now
                elif running and now - since > stop_after:
                    ended = ("stuck", running)
                    break
        finally:
            # Student code may have forked; take the whole group down.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    return ended[0], ended[1] if ended[0] != "exited" else {"returncode": proc.returncode}


def run_graders(course: Course, assignment: str, submission: Path, *, timeout: float = 900,
                per_test_timeout: int = 300, device: str = "auto", first_failure_only: bool = False,
                only_cells: list[str] | None = None,
                wrap: Callable[[list[str], Path, list[Path]], list[str]] | None = None) -> GraderRun:
    """Grade `submission` (a notebook) with `grader_tests/<assignment>`.

    `wrap(argv, workdir, readable)` may return a sandboxed command line for the pytest
    process (see `nnkit.sandbox.grader_wrapper`).

    One bad function should cost only its own checks. So a test that outlives its
    timeout by `STOP_GRACE` seconds fails as timed out, a test during which the
    process dies fails as crashed, a submission cell that kills the process while
    it loads is left out, and each time a fresh process runs what had not finished.
    """
    if device.startswith("cuda"):
        # A missing GPU is the course's problem: say so here, not as a crash in every report.
        # (Imported here: checks imports torch, which the caller, nbgrader, does not need.)
        from nnkit.grading.checks import pick_device

        pick_device(device)
    points = cell_points(read_notebook(course.source_notebook(assignment)))
    start = time.monotonic()
    deadline = start + timeout
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    with tempfile.TemporaryDirectory(prefix="nnkit-grade-") as tmp:
        work = Path(tmp)
        log = work / "pytest.log"
        # A private copy: the sandboxed process sees only its work folder.
        copy, source = work / Path(submission).name, work / "given_cells.ipynb"
        shutil.copyfile(submission, copy)
        given_cells_only(course.source_notebook(assignment), source)
        settled: dict[str, dict] = {}  # tests stopped by the watch or by a crash, and those finished before them
        left_out: dict[str, str] = {}  # submission cells that crashed a grader process -> how
        crashes = 0
        measured: dict = {}  # from every process, including those that died
        for attempt in itertools.count(1):
            report, progress, skip, cells = (work / f"{name}-{attempt}.json"
                                             for name in ("report", "progress", "skip", "left-out"))
            skip.write_text(json.dumps(sorted(settled)))
            cells.write_text(json.dumps(left_out))
            graders = private_graders(course, assignment, work / f"course-{attempt}")
            argv = pytest_command(graders, assignment, copy, source, report, device, per_test_timeout,
                                  first_failure_only, only_cells, forget_sources=True, progress=progress,
                                  skip_tests=skip, leave_out_cells=cells)
            if wrap:
                argv = wrap(argv, work, [])
            ended, detail = _supervise(argv, work, log, progress, env, deadline, per_test_timeout + STOP_GRACE)
            state = _read_json(progress) or {}
            measured.update(state.get("measurements") or {})
            if ended == "exited" and report.exists():
                break
            if ended == "deadline" or attempt >= MAX_ATTEMPTS:
                break
            for test in state.get("done", []):
                settled[test["nodeid"]] = test
            if ended == "stuck":
                settled[detail["nodeid"]] = dict(detail, outcome="failed", message=(
                    "Timed out: your code took too long and kept running when it was told to stop "
                    "(an endless loop that catches every exception?)."))
                continue
            # The process died. Go on without what it was running, if that is known.
            how = _how_it_died(detail["returncode"])
            if state.get("loading") and state["loading"] not in left_out:
                left_out[state["loading"]] = how
            elif state.get("running") and state["running"]["nodeid"] not in settled:
                settled[state["running"]["nodeid"]] = dict(state["running"], outcome="failed", message=(
                    f"The grading process crashed during this check ({how}): your code killed the Python "
                    "process (a segfault, os._exit, or running out of memory?)."))
            else:
                break
            crashes += 1
        seconds = time.monotonic() - start
        tail = _tail(log)
        if ended == "deadline":
            return GraderRun(_fail_all(points, f"Timed out: grading stopped after {timeout:g} s. "
                                       "Look for an endless loop or a very slow cell."),
                             Status.TIMED_OUT, tail, seconds, measurements=_checked(measured))
        payload = _read_json(report)
        if payload is None:
            how = _how_it_died(detail["returncode"]) if ended == "exited" else f"stopped after {attempt} tries"
            return GraderRun(_fail_all(points, f"The grading process crashed while running your code ({how}); "
                                       "no check could finish. Look for sys.exit, os._exit or code that kills "
                                       "the Python process."), Status.CRASHED, tail, seconds,
                             measurements=_checked(measured))
        tests = list(settled.values()) + [t for t in payload.get("tests", []) if t["nodeid"] not in settled]
        cells = score_cells(tests, points)
        status = (Status.CRASHED if crashes else
                  Status.TIMED_OUT if any(t["message"].startswith("Timed out") for t in tests) else Status.GRADED)
        measured.update(payload.get("measurements") or {})
        notes = [f"{origin[0].upper()}{origin[1:]} crashed the grading process ({how}), so the graders ran "
                 "without it." for origin, how in left_out.items()]
        return GraderRun(cells, status, tail, seconds, payload.get("device", "?"), notes, _checked(measured))


def _checked(measured: dict) -> dict:
    """The measurements again as capped plain data: the files they came through were
    writable by the student's code, so they are display data, never part of a verdict."""
    kept = {}
    for name, value in list(measured.items())[:MAX_MEASUREMENTS]:
        try:
            kept[str(name)[:200]] = plain_data(value)
        except MeasurementRefused:
            continue
    return kept


def _how_it_died(returncode: int) -> str:
    """Exit code or signal; bubblewrap passes a signal on as 128 + its number."""
    number = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else None
    try:
        return f"signal {signal.Signals(number).name}" if number else f"exit code {returncode}"
    except ValueError:
        return f"exit code {returncode}"
