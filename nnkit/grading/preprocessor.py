"""nbgrader autograde step that scores hidden-grader cells with out-of-kernel pytest.

Put it after `Execute` and before `SaveAutoGrades` in
`Autograde.autograde_preprocessors` (see `nbgrader_config.py`). For each
notebook it runs `grader_tests/<assignment>/` on the executed notebook in a
separate process and rewrites every hidden-grader cell's outputs:

* all of the cell's tests passed: a line on stdout, so nbgrader gives full points;
* otherwise: an error output listing the student-facing messages, so nbgrader
  gives 0 and the feedback says exactly what failed.

Whatever the student's kernel printed into those cells is discarded, and a cell
always ends with an output this step wrote, so it can never keep full marks by
default.

Around it, in `nbgrader_config.py`'s order: `StartHiddenGraders` (first: the graders start
while the kernel runs), `RemovePlantedFiles` (after the kernel: what its code left in the
folder), `RunHiddenGraders`, then `RecordGradingStatus` (the hand-in's record, from the run
`RunHiddenGraders` leaves in ``resources["nnkit"]["run"]``).
"""
from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer, Unicode

from nnkit.grading.course import Course
from nnkit.grading.intake import HAND_IN_NOT_GRADED, intake_note
from nnkit.grading.notebook import grade_id, hidden_grader_cells
from nnkit.grading.results import CellScore, describe_grader_error
from nnkit.grading.runner import GraderRun, run_graders
from nnkit.grading.status import Status, write_status


def cell_outputs(run: GraderRun, gid: str) -> list:
    if run.status.hand_in_replaced:   # a stand-in: the intake's note at the top is the one message
        return [new_output("error", ename="NotGraded", evalue=HAND_IN_NOT_GRADED, traceback=[HAND_IN_NOT_GRADED])]
    cell = run.cells.get(gid)
    if cell is None:
        return [new_output("error", ename="HiddenGraderMissing", evalue=gid,
                           traceback=[f"No hidden grader is set up for cell '{gid}'; tell your instructor."])]
    if cell.ok:
        return [new_output("stream", name="stdout",
                           text=f"Hidden tests passed: {cell.passed}/{cell.total} checks.\n")]
    failed = cell.total - cell.passed
    summary = (f"{failed} of {cell.total} hidden checks failed" if cell.total else "hidden checks did not run")
    return [new_output("error", ename="HiddenTestsFailed", evalue=summary,
                       traceback=[f"Hidden tests: {summary}."] + [f"  - {m}" for m in cell.messages])]


def stands_in(nb) -> bool:
    """The blank release stands in for a hand-in that could not be used (`nnkit.grading.intake`): there is
    nothing of the student's to grade, and the intake's note is the one message for the whole hand-in."""
    note = intake_note(nb)
    return note is not None and note.status.hand_in_replaced


def not_graded(nb, cells: list) -> GraderRun:
    """The run of a stand-in: no grader ran, every hidden cell scores 0 and only points to the note."""
    note = intake_note(nb)
    scores = {grade_id(c): CellScore(grade_id(c), float(c.metadata["nbgrader"].get("points", 0)),
                                     messages=[HAND_IN_NOT_GRADED]) for c in cells}
    return GraderRun(scores, note.status, note.message, 0.0, "none")


class RunHiddenGraders(NbGraderPreprocessor):
    """Score hidden-grader cells by running the assignment's pytest graders out of the kernel."""

    timeout = Float(900, help="Seconds before the whole grader run for one notebook is stopped").tag(config=True)
    per_test_timeout = Integer(300, help="Seconds one grader test may take").tag(config=True)
    device = Unicode("auto", help="auto (CUDA when available), cpu or cuda").tag(config=True)
    sandbox = Bool(True, help="Run the student's code (the probe) under nnkit.sandbox when it is available"
                   ).tag(config=True)
    fork_checker = Bool(True, help="Fork each notebook's checker from a forkserver that imported torch and pytest "
                        "once (nnkit.grading.forked_checker): `nbgrader autograde` of a class saves that start-up "
                        "for every notebook after the first. The checker never runs student code").tag(config=True)

    def start(self, nb, resources) -> "_Background":
        """Start grading `nb` in the background and return its handle. The graders need only
        the notebook's sources, so they can run while the kernel executes it."""
        course = Course.from_nbgrader(self.config)
        info = resources["nbgrader"]
        tmp = tempfile.TemporaryDirectory(prefix="nnkit-nb-")
        notebook = Path(tmp.name) / f"{info['notebook']}.ipynb"
        nbformat.write(nb, str(notebook))

        def grade():
            try:
                return run_graders(course, info["assignment"], notebook, timeout=self.timeout,
                                   per_test_timeout=self.per_test_timeout, device=self.device, sandbox=self.sandbox,
                                   fork_checker=self.fork_checker)
            finally:
                tmp.cleanup()
        return _Background(grade, sources=_sources(nb))

    def preprocess(self, nb, resources):
        """Three steps, one job each: get the run (`graded_run`), tell staff how it went (`log_run`),
        write what it found into the hidden cells (`write_findings`). The run is left in
        ``resources["nnkit"]["run"]`` for `RecordGradingStatus`."""
        cells = hidden_grader_cells(nb)
        if not cells:
            return nb, resources
        run = self.graded_run(nb, resources, cells)
        self.log_run(run, resources["nbgrader"])
        write_findings(cells, run)
        resources.setdefault("nnkit", {})["run"] = run
        return nb, resources

    def graded_run(self, nb, resources, cells) -> GraderRun:
        """The graders' run on `nb`: the one `StartHiddenGraders` started, if the sources are still
        those it graded, else a new one; for a stand-in (`stands_in`), none."""
        started = resources.get("nnkit", {}).pop("graders", None)
        if stands_in(nb):
            return not_graded(nb, cells)
        if started is None or started.sources != _sources(nb):
            started = self.start(nb, resources)   # not started early, or the sources changed since
        return started.result()

    def log_run(self, run: GraderRun, info: dict) -> None:
        """nbgrader's log: the score, anything but "graded", and every grader error (a bug of the
        graders, which staff see here and in the record; the student never reads it)."""
        who = f"{info.get('student')}/{info['assignment']}"
        if run.status.hand_in_replaced:
            self.log.warning("%s: %s; no grader was run on the blank release standing in for it", who, run.status)
            return
        self.log.info("Hidden graders for %s: %s, %g/%g points in %.1f s on %s",
                      who, run.status, run.score, run.max_score, run.seconds, run.device)
        if run.status is not Status.GRADED:
            self.log.warning("Grader process %s for %s; its last output:\n%s", run.status, info.get("student"), run.detail)
        for error in run.grader_errors:
            self.log.error("GRADER ERROR for %s %s", who, describe_grader_error(error))


def write_findings(cells: list, run: GraderRun) -> None:
    """Each hidden cell's outputs, from `run` (whatever the kernel printed there is replaced); the
    run's notes, once, before the first."""
    for cell in cells:
        cell.outputs = cell_outputs(run, grade_id(cell))
    if run.notes:
        cells[0].outputs.insert(0, new_output("stream", name="stdout", text="".join(f"Note: {n}\n" for n in run.notes)))


def remove_planted_files(folder: Path) -> list[str]:
    """Delete links, FIFOs and other non-regular files the student's kernel left in its
    writable folder: nbgrader (running as the instructor) would follow or block on them."""
    removed = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(top) / name
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                path.unlink()
                removed.append(str(path.relative_to(folder)))
    return removed


class RemovePlantedFiles(NbGraderPreprocessor):
    """After the student's kernel has run: delete the links, FIFOs and other special files its code
    left in the autograded folder, which nbgrader (running as the instructor) would follow or block on."""

    def preprocess(self, nb, resources):
        folder = resources.get("metadata", {}).get("path")
        if folder:
            for name in remove_planted_files(Path(folder)):
                self.log.warning("Removed %s (a link or special file) left by %s's code", name,
                                 resources["nbgrader"].get("student"))
        return nb, resources


class RecordGradingStatus(NbGraderPreprocessor):
    """After `RunHiddenGraders`: write the hand-in's record (`.nnkit-status.json`: its `Status`, the
    graders' seconds, device, notes and grader errors, the intake's note, the student's own
    measurements) for the export's status column, the batch runner and the reports."""

    def preprocess(self, nb, resources):
        folder = resources.get("metadata", {}).get("path")
        run = resources.get("nnkit", {}).get("run")
        if not folder or run is None:
            return nb, resources
        execution = resources.get("nnkit", {}).get("execution", {"status": Status.GRADED, "detail": ""})
        note = intake_note(nb)
        write_status(Path(folder), execution, {"status": run.status, "seconds": round(run.seconds, 1),
                                               "device": run.device, "notes": run.notes,
                                               "grader_errors": run.grader_errors},
                     note and vars(note), run.measurements)
        return nb, resources


def _sources(nb) -> list[str]:
    return [cell.source for cell in nb.cells]


class _Background:
    """A grading run in a daemon thread (the work is in the checker's process; the thread waits)."""

    def __init__(self, work, sources: list[str]):
        self.sources = sources
        self._done = threading.Event()
        self._outcome = None

        def run():
            try:
                self._outcome = (work(), None)
            except BaseException as error:  # handed to whoever waits for the result
                self._outcome = (None, error)
            finally:
                self._done.set()
        threading.Thread(target=run, name="nnkit-hidden-graders", daemon=True).start()

    def result(self):
        self._done.wait()
        value, error = self._outcome
        if error is not None:
            raise error
        return value


class StartHiddenGraders(NbGraderPreprocessor):
    """Start the hidden graders before the kernel runs the notebook (put it first in
    `Autograde.autograde_preprocessors`); `RunHiddenGraders`, after `SafeExecute`, then only
    waits for them. The graders read the solution cells' sources, never the kernel's outputs,
    so both run at once: an autograde takes about the longer of the two, not their sum.
    `RunHiddenGraders`' settings apply; if a step between changes a source, it grades again."""

    enabled = Bool(True, help="Overlap the graders with the kernel (one hand-in finishes sooner). `nnkit batch` "
                              "turns it off: there the pool keeps every core busy, one job per core").tag(config=True)

    def preprocess(self, nb, resources):
        if self.enabled and hidden_grader_cells(nb) and not stands_in(nb):
            graders = RunHiddenGraders(config=self.config, parent=self.parent)
            resources.setdefault("nnkit", {})["graders"] = graders.start(nb, resources)
        return nb, resources
