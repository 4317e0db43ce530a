"""The checker: pytest side of the hidden graders.

`grader_tests/conftest.py` loads this module as a plugin (``pytest_plugins``), which gives every grader:

* ``--grading-job JOB.json`` (a `nnkit.grading.job.GradingJob`, what the runner passes), or
  ``--submission NOTEBOOK`` with ``--source-notebook``, ``--assignment``, ``--grader-device``
  (what a TA types);
* ``--grader-report FILE`` or ``--grader-report-fd N``: a JSON report, one entry per test;
* the ``submission``, ``device``, ``grading``, ``probe`` and ``measure`` fixtures;
* the ``grade_cell(grade_id)`` marker that ties a test to a hidden grade cell.

This process never imports the student's code. ``submission`` is a
`nnkit.grading.proxy.RemoteRef` on the student's module, which lives in a
sandboxed probe process (`nnkit.grading.probe`); every call, attribute and
answer crosses as plain data, and the verdicts are decided here. A probe that
hangs past the running test's time limit, or dies, costs that test only: the
next one starts a fresh probe.

Only the tests of the submission's assignment run. Failures are reported with
student-facing messages only: never the grader's source or its traceback.

The state of one grading session (the job, the probe, results per test, the
measurements) lives in a `GraderSession` registered as a plugin, kept in
``config.stash[SESSION]``.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from nnkit.gc_policy import freeze_loaded, pause_collection
from nnkit.grading.course import Course, CourseProblem, DeviceUnavailable
from nnkit.grading.devices import EMULATED, probe_device
from nnkit.grading.failure import GraderFailure
from nnkit.grading.job import GradingJob
from nnkit.grading.notebook import NotebookProblem, assemble_module_source, read_notebook
from nnkit.grading.remote import Probe
from nnkit.grading.results import cell_points, score_cells, summarise
from nnkit.grading.status import keep_measurement
from nnkit.grading.verdicts import grader_error, is_grader_error, report_entry, student_message
from nnkit.threads import GRADING_THREADS, use_grading_threads


class SubmissionError(GraderFailure):
    """The submission could not be turned into a module."""


def pytest_addoption(parser):
    group = parser.getgroup("nnkit", "hidden graders")
    group.addoption("--grading-job", help="a GradingJob as JSON (nnkit.grading.job): what to grade, and how")
    group.addoption("--submission", help="student notebook (.ipynb) to grade")
    group.addoption("--source-notebook", help="instructor source notebook (default: source/<assignment>/*.ipynb)")
    group.addoption("--assignment", help="assignment name (default: inferred from the submission's path)")
    group.addoption("--grader-report", help="write per-test results as JSON to this file")
    group.addoption("--grader-report-fd", type=int, help="write per-test results as JSON to this inherited pipe")
    group.addoption("--grader-device", default="auto", help="auto (CUDA when available), cpu or cuda")
    group.addoption("--grader-threads", type=int, default=GRADING_THREADS, help="torch CPU threads for the graders")
    group.addoption("--grade-cells", help="comma-separated hidden cells: run only their tests")
    group.addoption("--grader-test-timeout", type=float, default=300.0,
                    help="seconds one hidden check may take, the student's code included")
    group.addoption("--no-probe-sandbox", action="store_true",
                    help="run the student's code without nnkit.sandbox (resource limits only)")


def _job_from_options(config) -> GradingJob | None:
    if config.getoption("--grading-job"):
        return GradingJob.from_json(Path(config.getoption("--grading-job")).read_text())
    path = config.getoption("--submission")
    if not path:
        return None
    submission = Path(path).resolve()
    course = Course.containing(Path(str(config.rootpath)), Path(__file__))
    assignment = config.getoption("--assignment") or course.infer_assignment(submission)
    source = Path(config.getoption("--source-notebook") or course.source_notebook(assignment))
    only = config.getoption("--grade-cells")
    return GradingJob(course.root, assignment, submission, source, device=config.getoption("--grader-device"),
                      per_test_timeout=config.getoption("--grader-test-timeout"),
                      sandbox=not config.getoption("--no-probe-sandbox"),
                      threads=config.getoption("--grader-threads"),
                      only_cells=tuple(only.split(",")) if only else ())


class GraderSession:
    """One grading session's state, and the hooks that need it."""

    def __init__(self, config, job: GradingJob):
        self.config = config
        self.job = job
        self.course = Course(job.course_root)
        self.results: dict[str, dict] = {}   # nodeid -> report entry
        self.device = None
        self.probe: Probe | None = None
        self.scratch: Path | None = None     # the probes' folders
        self.measurements: dict = {}         # name -> plain data: the student's own numbers
        self.emulation = None                # a device_emulation.SecondDevice, for --grader-device emulated-cuda

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        self._arm()
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        self._arm()
        yield

    def _arm(self):
        if self.probe is not None:
            self.probe.deadline = time.monotonic() + self.job.per_test_timeout

    def start_probe(self, tmp: Path) -> Probe:
        try:
            source_nb = read_notebook(self.job.source_notebook)
            student_nb = read_notebook(self.job.submission)
        except NotebookProblem as problem:
            raise SubmissionError(str(problem)) from None
        wrap = None
        if self.job.sandbox:
            from nnkit.sandbox import Limits, sandbox_argv

            # A GPU (capped: nnkit.sandbox.gpu_cap) only where the graders run on CUDA.
            limits = dataclasses.replace(Limits(**self.job.limits), gpu=probe_device(self.job.device) == "cuda")
            hidden = [self.course.root]

            def wrap(argv, folder):
                return sandbox_argv(argv, writable=[folder], hidden=hidden, limits=limits)
        self.probe = Probe(assemble_module_source(source_nb, student_nb), tmp,
                           threads=self.job.threads, wrap=wrap, default_budget=self.job.per_test_timeout,
                           partial=bool(self.job.only_cells), zygote=self.job.probe_zygote,
                           cell_load_seconds=self.job.cell_load_seconds)
        self.probe.emulated_cuda = self.job.device == EMULATED
        self._arm()
        return self.probe

    # ------------------------------------------------------------ hooks (this object is a plugin only
    # while it grades: a plain pytest run of the kit's own tests never sees them)
    def pytest_collection_modifyitems(self, session, config, items):
        """Keep the tests of this assignment (each tied to one of its hidden cells), or of `only_cells`."""
        job = self.job
        grader_dir = self.course.grader_dir(job.assignment).resolve()
        keep, drop = [], []
        for item in items:
            (keep if grader_dir in Path(str(item.path)).resolve().parents else drop).append(item)
        cells = cell_points(read_notebook(job.source_notebook))
        for item in keep:
            marker = item.get_closest_marker("grade_cell")
            if marker is None:
                raise pytest.UsageError(f"{item.nodeid} has no @pytest.mark.grade_cell(...): every grader must score a cell")
            if marker.args[0] not in cells:
                raise pytest.UsageError(f"{item.nodeid} scores cell '{marker.args[0]}', which is not a hidden-grader "
                                        f"cell of {job.source_notebook}")
        if job.only_cells:
            wanted = set(job.only_cells)
            drop += [i for i in keep if i.get_closest_marker("grade_cell").args[0] not in wanted]
            keep = [i for i in keep if i.get_closest_marker("grade_cell").args[0] in wanted]
        if job.first_failure_only:
            config.option.maxfail = 1
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep

    def pytest_collection_finish(self, session):
        freeze_loaded()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        entry = self.results.setdefault(item.nodeid, report_entry(item))
        if report.failed:
            entry["outcome"] = "failed"
            if not entry["message"] and call.excinfo is not None:
                entry["message"] = student_message(item, call.excinfo)
                if is_grader_error(call.excinfo):   # staff only: never in a student's message or notebook
                    entry["grader_error"] = grader_error(item, call.excinfo,
                                                         self.course.grader_dir(self.job.assignment).resolve())
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"
            entry["message"] = "This check did not run (it was skipped)."
        # pytest would print the grader's source on failure: show only the message (and, for a grader
        # error, the exception: this output goes to staff, in the terminal or the runner's log).
        if report.failed and call.excinfo is not None:
            error = entry.get("grader_error")
            report.longrepr = entry["message"] + (f"\nGRADER ERROR {error['type']}: {error['message']}\n  at "
                                                  f"{error['file']}:{error['line']}" if error else "")

    def pytest_sessionfinish(self, session, exitstatus):
        if self.probe:
            self.probe.close()   # nothing of the student's is running when the report is written
        shutil.rmtree(self.scratch, ignore_errors=True)
        text = json.dumps(report_payload(self), indent=1, allow_nan=False)
        path, fd = self.config.getoption("--grader-report"), self.config.getoption("--grader-report-fd")
        if path:
            Path(path).write_text(text)
        if fd is not None:
            with os.fdopen(fd, "w") as pipe:
                pipe.write(text)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        if not self.results:
            return
        cells = score_cells(list(self.results.values()), cell_points(read_notebook(self.job.source_notebook)))
        terminalreporter.write_sep("=", f"hidden grader scores: {self.job.assignment}")
        terminalreporter.write_line(summarise(cells))
        errors = [t for t in self.results.values() if t.get("grader_error")]
        if errors:
            terminalreporter.write_sep("=", f"grader errors: {len(errors)} (bugs of the graders, not the student's)",
                                       red=True)
            for test in errors:
                error = test["grader_error"]
                terminalreporter.write_line(f"{test['nodeid']} [{test['cell']}]\n  {error['type']}: "
                                            f"{error['message'][:500]}\n  at {error['file']}:{error['line']}")


SESSION = pytest.StashKey[GraderSession]()


def _session(config) -> GraderSession:
    return config.stash[SESSION]


def pytest_configure(config):
    config.addinivalue_line("markers", "grade_cell(grade_id): the hidden grade cell this test scores")
    try:
        job = _job_from_options(config)
    except CourseProblem as problem:   # a TA's typo (no such assignment, notebook outside the course): say which
        raise pytest.UsageError(str(problem)) from None
    if job is None:
        return
    session = config.stash[SESSION] = GraderSession(config, job)
    config.pluginmanager.register(session, "nnkit-grader-session")
    pause_collection()   # until the graders are collected: torch, the warm-up and the grader modules load
    # Launch the probe first, before this process imports torch: the probe takes seconds to load
    # torch and the student's module, and does so while the checker loads torch and collects.
    session.scratch = Path(tempfile.mkdtemp(prefix="nnkit-probe-"))
    try:
        session.start_probe(session.scratch).launch()
    except SubmissionError:
        pass   # the `probe` fixture says so, in every test
    import torch  # noqa: F401  (before use_grading_threads, which sets torch's count once it is loaded)

    from nnkit.grading.devices import pick_device
    from nnkit.grading.precision import use_ieee_float32

    use_grading_threads(job.threads)
    use_ieee_float32()   # the tolerances were measured in IEEE float32 (nnkit.grading.precision)
    try:
        session.device = pick_device(job.device)   # asked here, in the checker: never before a fork
    except DeviceUnavailable as problem:
        if session.probe:
            session.probe.close()
        raise pytest.UsageError(str(problem)) from None
    if job.device == EMULATED:   # CUDA's placement rules on the CPU, for the kit's tests (nnkit.grading.devices)
        from nnkit.grading.device_emulation import SecondDevice

        session.emulation = SecondDevice()
        session.emulation.__enter__()
    if session.probe:
        for name in session.probe.warm_up:       # while the probe imports the same (remote.warm_up_modules)
            importlib.import_module(name)


@pytest.fixture(scope="session")
def grading(request) -> GradingJob:
    return _session(request.config).job


@pytest.fixture(scope="session")
def device(request):
    return _session(request.config).device


@pytest.fixture(scope="session")
def probe(request) -> Probe:
    """The probe process that holds the student's module (`nnkit.grading.remote.Probe`)."""
    state = _session(request.config)
    found = state.probe or state.start_probe(state.scratch)
    yield found
    found.close()


@pytest.fixture(scope="session")
def submission(probe):
    """The student's module, in the probe: `submission.train(...)` runs there."""
    return probe.module


@pytest.fixture
def measure(request):
    """`measure(name, value)`: keep one of the student's own numbers for feedback and reports.

    `value` must be plain data (numbers, strings, lists, dicts; tensors and arrays
    become lists; a non-finite number becomes None), at most a few thousand values.
    Graders measure only what the student's code produced, never reference answers.
    """
    session = _session(request.config)

    def record(name: str, value) -> None:
        keep_measurement(session.measurements, name, value)   # capped; never a failed check

    return record


def report_payload(state: GraderSession) -> dict:
    events = state.probe.events if state.probe else None
    device = f"{state.device} (emulated on the CPU)" if state.emulation else str(state.device)
    return {"assignment": state.job.assignment, "submission": str(state.job.submission),
            "device": device, "tests": list(state.results.values()),
            "measurements": state.measurements,
            "probe": {"crashes": events.crashes if events else 0, "timeouts": events.timeouts if events else 0,
                      "left_out": dict(events.left_out) if events else {},
                      "load_errors": list(events.load_errors) if events else []}}
