"""pytest side of the hidden graders.

`grader_tests/conftest.py` star-imports this module, which gives every grader:

* ``--submission NOTEBOOK``: the student notebook to grade (required);
* ``--source-notebook``: the instructor's notebook (default: found under ``source/``);
* ``--grader-report FILE``: a JSON report, one entry per test, for autograde;
* ``--grader-device``: ``auto`` (CUDA if present), ``cpu`` or ``cuda``;
* ``--grader-progress``, ``--grader-skip-tests``, ``--grader-leave-out-cells`` and
  ``--forget-grader-sources``, with which `nnkit.grading.runner` watches a run and
  starts a fresh process past a check or cell that hung or crashed;
* the ``submission``, ``device``, ``grading`` and ``measure`` fixtures;
* the ``grade_cell(grade_id)`` marker that ties a test to a hidden grade cell.

Only the tests of the submission's assignment run. Failures are reported with
student-facing messages only: never the grader's source or its traceback.

The state of one grading session (results per test, the running test, the
measurements) lives in a `GraderSession` registered as a plugin, kept in
``config.stash[SESSION]``.
"""
from __future__ import annotations

import importlib
import json
import linecache
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from nnkit.grading import checks  # noqa: F401  (captures torch references before student code loads)
from nnkit.grading.checks import GraderFailure, pick_device
from nnkit.grading.course import Course, DeviceUnavailable
from nnkit.grading.notebook import NotebookProblem, assemble_module_source, load_module, read_notebook
from nnkit.grading.results import cell_points, score_cells, summarise
from nnkit.threads import GRADING_THREADS, use_grading_threads
from nnkit.grading.status import MAX_MEASUREMENTS, MeasurementRefused, plain_data

SUBMISSION_FILE = "submission.py"


class SubmissionError(Exception):
    """The submission could not be turned into an importable module."""


def pytest_addoption(parser):
    group = parser.getgroup("nnkit", "hidden graders")
    group.addoption("--submission", help="student notebook (.ipynb) to grade")
    group.addoption("--source-notebook", help="instructor source notebook (default: source/<assignment>/*.ipynb)")
    group.addoption("--assignment", help="assignment name (default: inferred from the submission's path)")
    group.addoption("--grader-report", help="write per-test results as JSON to this file")
    group.addoption("--grader-device", default="auto", help="auto (CUDA when available), cpu or cuda")
    group.addoption("--grader-threads", type=int, default=GRADING_THREADS, help="torch CPU threads for the graders")
    group.addoption("--grade-cells", help="comma-separated hidden cells: run only their tests")
    group.addoption("--grader-progress", help="keep this JSON file up to date with the running test and the "
                                              "finished ones (the runner watches it)")
    group.addoption("--grader-skip-tests", help="JSON list of test node ids not to run (already settled)")
    group.addoption("--grader-leave-out-cells", help="JSON object: cells of the submission not to run "
                                                     "(they crashed an earlier grader process) -> how it died")
    group.addoption("--forget-grader-sources", action="store_true",
                    help="delete the grader_tests folder once its tests are collected, before the student's code "
                         "is imported (only for a private copy: nnkit.grading.runner makes one)")


class GraderSession:
    """One grading session's state, and the hooks that need it (pytest does not pass
    the config to the log hooks, so they are methods of this registered plugin)."""

    def __init__(self, config):
        self.config = config
        self.results: dict[str, dict] = {}   # nodeid -> report entry
        self.items: dict = {}                # nodeid -> item, for the tests that run
        self.finished: list[str] = []
        self.running: dict | None = None
        self.device = None
        self.grading: Grading | None = None
        self.measurements: dict = {}         # name -> plain data: the student's own numbers

    def write_progress(self, running, loading: str | None = None) -> None:
        """Tell the runner what is going on, in case this process dies or hangs: the test
        running, the submission cell being loaded, the tests finished so far and what
        they measured."""
        self.running = running
        path = self.config.getoption("--grader-progress")
        if not path:
            return
        done = [self.results[n] for n in self.finished if n in self.results]
        scratch = Path(path + ".new")
        scratch.write_text(json.dumps({"running": running, "loading": loading, "done": done,
                                       "measurements": self.measurements}, allow_nan=False))
        scratch.replace(path)

    def pytest_runtest_logstart(self, nodeid, location):
        item = self.items.get(nodeid)
        self.write_progress(_entry(item) if item else {"nodeid": nodeid, "cell": None})

    def pytest_runtest_logfinish(self, nodeid, location):
        self.finished.append(nodeid)
        self.write_progress(None)


SESSION = pytest.StashKey[GraderSession]()


def _session(config) -> GraderSession:
    return config.stash[SESSION]


def pytest_configure(config):
    config.addinivalue_line("markers", "grade_cell(grade_id): the hidden grade cell this test scores")
    if not config.getoption("--submission"):
        return
    session = config.stash[SESSION] = GraderSession(config)
    config.pluginmanager.register(session, "nnkit-grader-session")
    import torch  # noqa: F401  (before use_grading_threads, which sets torch's count once it is loaded)

    use_grading_threads(config.getoption("--grader-threads"))
    # Resolved before any student code loads: a submission cannot fake a GPU.
    try:
        session.device = pick_device(config.getoption("--grader-device"))
    except DeviceUnavailable as problem:
        raise pytest.UsageError(str(problem)) from None


@dataclass
class Grading:
    course: Course
    assignment: str
    submission: Path
    source_notebook: Path


def _grading(config) -> Grading:
    session = _session(config)
    if session.grading:
        return session.grading
    path = config.getoption("--submission")
    if not path:
        raise pytest.UsageError("the graders need a notebook: pytest grader_tests --submission path/to/notebook.ipynb")
    submission = Path(path).resolve()
    course = Course.containing(Path(str(config.rootpath)), Path(__file__))
    assignment = config.getoption("--assignment") or course.infer_assignment(submission)
    source = Path(config.getoption("--source-notebook") or course.source_notebook(assignment))
    session.grading = Grading(course, assignment, submission, source)
    return session.grading


def pytest_collection_modifyitems(session, config, items):
    if not config.getoption("--submission"):
        return
    grading = _grading(config)
    grader_dir = grading.course.grader_dir(grading.assignment).resolve()
    keep, drop = [], []
    for item in items:
        (keep if grader_dir in Path(str(item.path)).resolve().parents else drop).append(item)
    cells = cell_points(read_notebook(grading.source_notebook))
    for item in keep:
        marker = item.get_closest_marker("grade_cell")
        if marker is None:
            raise pytest.UsageError(f"{item.nodeid} has no @pytest.mark.grade_cell(...): every grader must score a cell")
        if marker.args[0] not in cells:
            raise pytest.UsageError(f"{item.nodeid} scores cell '{marker.args[0]}', which is not a hidden-grader "
                                    f"cell of {grading.source_notebook}")
    skip_file = config.getoption("--grader-skip-tests")
    if skip_file:
        settled = set(json.loads(Path(skip_file).read_text()))
        drop += [i for i in keep if i.nodeid in settled]
        keep = [i for i in keep if i.nodeid not in settled]
    only = config.getoption("--grade-cells")
    if only:
        wanted = set(only.split(","))
        drop += [i for i in keep if i.get_closest_marker("grade_cell").args[0] not in wanted]
        keep = [i for i in keep if i.get_closest_marker("grade_cell").args[0] in wanted]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep
    _session(config).items = {item.nodeid: item for item in keep}


def _entry(item) -> dict:
    marker = item.get_closest_marker("grade_cell")
    return {"nodeid": item.nodeid, "function": item.originalname or item.name, "file": Path(str(item.path)).name,
            "cell": marker.args[0] if marker else None, "outcome": "passed", "message": ""}


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """With --forget-grader-sources, delete the graders from disk now that they are imported.

    The student's code is imported later, into this same process: it must not be
    able to read the hidden tests and copy them into an error message.
    """
    config = session.config
    if not (config.getoption("--submission") and config.getoption("--forget-grader-sources")):
        return
    shutil.rmtree(_grading(config).course.root / "grader_tests")
    linecache.clearcache()
    importlib.invalidate_caches()


@pytest.fixture(scope="session")
def grading(request) -> Grading:
    return _grading(request.config)


@pytest.fixture(scope="session")
def device(request):
    return _session(request.config).device


@pytest.fixture
def measure(request):
    """`measure(name, value)`: keep one of the student's own numbers for feedback and reports.

    `value` must be plain data (numbers, strings, lists, dicts; tensors and arrays
    become lists; a non-finite number becomes None), at most a few thousand values.
    Graders measure only what the student's code produced, never reference answers.
    """
    session = _session(request.config)

    def record(name: str, value) -> None:
        if len(session.measurements) >= MAX_MEASUREMENTS and name not in session.measurements:
            return
        try:
            session.measurements[str(name)[:200]] = plain_data(value)
        except MeasurementRefused:
            pass  # not worth a failed check: the verdict never depends on a measurement

    return record


class Submission:
    """The student's module; a missing name is a grader failure, not a crash."""

    def __init__(self, module):
        object.__setattr__(self, "_module", module)

    def __getattr__(self, name):
        try:
            return getattr(self._module, name)
        except AttributeError:
            errors = getattr(self._module, "__load_errors__", [])
            if errors:
                where = "; ".join(f"{origin} raised {describe_exception(error)}" for origin, error in errors[:3])
                raise GraderFailure(f"`{name}` is not defined because running your notebook's code failed: {where}") from None
            raise GraderFailure(f"Your notebook does not define `{name}`. Did you delete or rename its cell?") from None


@pytest.fixture(scope="session")
def submission(request, grading, tmp_path_factory) -> Submission:
    try:
        source_nb = read_notebook(grading.source_notebook)
        student_nb = read_notebook(grading.submission)
    except NotebookProblem as problem:
        raise SubmissionError(str(problem)) from None
    code = assemble_module_source(source_nb, student_nb)
    config = request.config
    left_out_file = config.getoption("--grader-leave-out-cells")
    left_out = json.loads(Path(left_out_file).read_text()) if left_out_file else {}
    session = _session(config)
    running = session.running
    module = load_module(code, tmp_path_factory.mktemp("submission"), left_out=left_out,
                         before_cell=lambda origin: session.write_progress(running, loading=origin))
    session.write_progress(running)
    return Submission(module)


def describe_exception(error: BaseException) -> str:
    """`Type: message`, plus the last line of the student's own code it came from."""
    text = f"{type(error).__name__}: {error}"
    if len(text) > 400:
        text = text[:400] + " …"
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith(SUBMISSION_FILE):
            text += f" (in your code: `{(frame.line or '').strip()[:120]}`)"
            break
    return text


def _raised_in_submission(error: BaseException) -> bool:
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].filename.endswith(SUBMISSION_FILE)


def _student_message(item, excinfo) -> str:
    error = excinfo.value
    if isinstance(error, (GraderFailure, SubmissionError)):
        return str(error)
    if excinfo.typename == "Failed" and "Timeout" in str(error):
        return "Timed out: your code took too long (an endless loop, or far too slow)."
    if isinstance(error, AssertionError) and not _raised_in_submission(error):
        # A grader's own bare `assert`: the student did not raise it, and its text is grader source.
        return (f"The hidden check `{item.originalname or item.name}` failed on what your code returned; "
                "the visible checks and the exercise text say what is expected.")
    return f"Your code raised {describe_exception(error)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not item.config.getoption("--submission"):
        return
    results = _session(item.config).results
    entry = results.setdefault(item.nodeid, _entry(item))
    if report.failed:
        entry["outcome"] = "failed"
        if not entry["message"] and call.excinfo is not None:
            entry["message"] = _student_message(item, call.excinfo)
    elif report.skipped and entry["outcome"] == "passed":
        # A skip earns nothing: student code could raise pytest's Skipped itself.
        entry["outcome"] = "skipped"
        entry["message"] = "This check did not run (it was skipped)."
    # pytest would print the grader's source on failure: show only the message.
    if report.failed and call.excinfo is not None:
        report.longrepr = entry["message"]


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not config.getoption("--submission"):
        return
    state = _session(config)
    path = config.getoption("--grader-report")
    if path:
        grading = _grading(config)
        payload = {"assignment": grading.assignment, "submission": str(grading.submission),
                   "device": str(state.device), "tests": list(state.results.values()),
                   "measurements": state.measurements}
        Path(path).write_text(json.dumps(payload, indent=1, allow_nan=False))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not config.getoption("--submission") or not _session(config).results:
        return
    grading = _grading(config)
    points = cell_points(read_notebook(grading.source_notebook))
    cells = score_cells(list(_session(config).results.values()), points)
    terminalreporter.write_sep("=", f"hidden grader scores: {grading.assignment}")
    terminalreporter.write_line(summarise(cells))
