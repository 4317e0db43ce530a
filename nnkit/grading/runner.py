"""Run an assignment's hidden graders on one notebook: the runner's side of the contract.

`run_graders` writes a `GradingJob` (`nnkit.grading.job`) and starts the checker,
``pytest grader_tests/<assignment> --grading-job job.json``, in a process of its
own. The checker never imports the student's code: that runs only in the
sandboxed probe the checker starts (`nnkit.grading.probe`), so no submission
can reach the process that decides its score, nor the report it writes, which
comes back through a pipe that only the checker holds. Past the job's wall
limit the checker's process group is killed, and the probes with it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from nnkit.grading.course import Course
from nnkit.grading.job import GradingJob
from nnkit.grading.notebook import read_notebook
from nnkit.grading.remote import HUNG
from nnkit.grading.results import CellScore, cell_points, grader_errors, score_cells
from nnkit.processes import kill_group, log_tail
from nnkit.grading.status import Status, keep_measurement

OUTPUT_TAIL_BYTES = 4000
CHECKER_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg",
               "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
CHECKER_GRACE = 60  # seconds pytest-timeout gives a check beyond its own limit before it stops the checker


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
    def grader_errors(self) -> list[dict]:
        """The graders' own exceptions (bugs of the graders, never the student's): for staff only."""
        return grader_errors(self.cells)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.cells.values())


# When the grader run as a whole ends without a report, one note (the first hidden cell's output) says
# why, once per hand-in; every cell points to it instead of repeating it.
WHOLE_RUN_FAILED = "Not checked: the graders stopped for the whole notebook; the note above the first hidden test says why."


def _fail_all(points: dict[str, float], status: Status, message: str, detail: str, seconds: float) -> "GraderRun":
    return GraderRun({gid: CellScore(gid, pts, messages=[WHOLE_RUN_FAILED]) for gid, pts in points.items()},
                     status, detail, seconds, notes=[message])


def checker_command(course: Course, assignment: str, job_file: Path, report_fd: int | str,
                    per_test_timeout: float) -> list[str]:
    return [sys.executable, "-m", "pytest", str(course.grader_dir(assignment)),
            "--grading-job", str(job_file), "--grader-report-fd", str(report_fd),
            "--rootdir", str(course.root / "grader_tests"),
            # Only the plugins a checker uses (with CHECKER_ENV): looking up and loading every installed
            # one (anyio, xdist, ...) was 0.47 of a quick checker's 0.65 s of CPU.
            "-p", "pytest_timeout", "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
            # A backstop only: each request to the probe already ends at the test's limit.
            "--timeout", str(int(per_test_timeout + CHECKER_GRACE)), "--timeout-method", "thread"]


def run_job(job: GradingJob, fork_checker: bool = False) -> "GraderRun":
    """Grade one notebook as `job` says (see `nnkit.grading.job`). `fork_checker`: fork the
    checker from a warm server instead of starting a new interpreter (`nnkit.grading.forked_checker`;
    for processes that grade many notebooks)."""
    course = Course(job.course_root)
    if job.device.startswith("cuda"):
        # A missing GPU is the course's problem: say so here, not as a crash in every report.
        from nnkit.grading.devices import pick_device

        pick_device(job.device)
    points = cell_points(read_notebook(job.source_notebook))
    start = time.monotonic()
    env = dict(os.environ, **CHECKER_ENV)
    with tempfile.TemporaryDirectory(prefix="nnkit-grade-") as tmp:
        work = Path(tmp)
        job_file = job.save(work / "job.json")
        log = work / "checker.log"
        chunks: list[bytes] = []
        timed_out = False
        with open(log, "wb") as out:
            if fork_checker:
                from nnkit.grading.forked_checker import ForkedChecker

                proc = ForkedChecker(checker_command(course, job.assignment, job_file, "{report_fd}",
                                                     job.per_test_timeout), work, env, log)
                read_end = proc.report_fd
            else:
                read_end, write_end = os.pipe()
                proc = subprocess.Popen(checker_command(course, job.assignment, job_file, write_end,
                                                        job.per_test_timeout),
                                        cwd=work, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=env, start_new_session=True, pass_fds=(write_end,))
                os.close(write_end)
            reader = threading.Thread(target=_drain, args=(read_end, chunks), daemon=True)
            reader.start()
            try:
                proc.wait(timeout=job.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                kill_group(proc.pid)
                proc.wait()
        reader.join(timeout=30)
        seconds = time.monotonic() - start
        tail = log_tail(log, OUTPUT_TAIL_BYTES)
    if timed_out:
        return _fail_all(points, Status.TIMED_OUT, f"Timed out: grading stopped after {job.timeout:g} s. "
                         "Look for an endless loop or a very slow cell.", tail, seconds)
    try:
        payload = json.loads(b"".join(chunks).decode())
    except ValueError:
        return _fail_all(points, Status.CRASHED, "The graders stopped before they could report (exit status "
                         f"{proc.returncode}); tell your instructor.", tail, seconds)
    tests = payload.get("tests", [])
    probe = payload.get("probe") or {}
    cells = score_cells(tests, points)
    left_out = probe.get("left_out") or {}
    # Counted by the checker as it happened (nnkit.grading.remote.ProbeEvents), never read from messages.
    crashed = [origin for origin, how in left_out.items() if how != HUNG]
    status = (Status.CRASHED if probe.get("crashes") or crashed else
              Status.TIMED_OUT if probe.get("timeouts") or left_out else Status.GRADED)
    notes = [f"{origin[0].upper()}{origin[1:]} {'hung' if how == HUNG else 'crashed'} the grading "
             f"process ({how}), so the graders ran without it." for origin, how in left_out.items()]
    return GraderRun(cells, status, tail, seconds, payload.get("device", "?"), notes,
                     _checked(payload.get("measurements") or {}))


def _drain(fd: int, chunks: list[bytes]) -> None:
    with os.fdopen(fd, "rb") as pipe:
        while True:
            chunk = pipe.read(1 << 16)
            if not chunk:
                return
            chunks.append(chunk)


def run_graders(course: Course, assignment: str, submission: Path, *, timeout: float = 900,
                per_test_timeout: float = 300, device: str = "auto", first_failure_only: bool = False,
                only_cells: list[str] | None = None, sandbox: bool = True,
                fork_checker: bool = False, probe_zygote: str = "", cell_load_seconds: float = 60.0) -> "GraderRun":
    """Grade `submission` (a notebook) with `grader_tests/<assignment>`: `run_job` for a job
    built from these arguments."""
    return run_job(GradingJob(course.root, assignment, Path(submission).resolve(), course.source_notebook(assignment),
                              device=device, per_test_timeout=per_test_timeout, timeout=timeout, sandbox=sandbox,
                              only_cells=tuple(only_cells or ()), first_failure_only=first_failure_only,
                              probe_zygote=probe_zygote, cell_load_seconds=cell_load_seconds),
                   fork_checker=fork_checker)


def _checked(measured) -> dict:
    """The checker's measurements, capped again as it capped them (`keep_measurement`): a checker
    that broke its report's shape must not make this process keep more than a checker may send."""
    kept: dict = {}
    for name, value in (measured.items() if type(measured) is dict else ()):
        keep_measurement(kept, name, value)
    return kept
