"""pytest side of the hidden graders.

`grader_tests/conftest.py` star-imports this module, which gives every grader:

* ``--submission NOTEBOOK``: the student notebook to grade (required);
* ``--source-notebook``: the instructor's notebook (default: found under ``source/``);
* ``--grader-report FILE``: a JSON report, one entry per test, for autograde;
* ``--grader-device``: ``auto`` (CUDA if present), ``cpu`` or ``cuda``;
* ``--grader-progress``, ``--grader-skip-tests``, ``--grader-leave-out-cells`` and
  ``--forget-grader-sources``, with which `nnkit.grading.runner` watches a run and
  starts a fresh process past a check or cell that hung or crashed;
* the ``submission``, ``device`` and ``course`` fixtures;
* the ``grade_cell(grade_id)`` marker that ties a test to a hidden grade cell.

Only the tests of the submission's assignment run. Failures are reported with
student-facing messages only: never the grader's source or its traceback.
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
    group.addoption("--grader-threads", type=int, default=1, help="torch CPU threads for the graders")
    group.addoption("--grade-cells", help="comma-separated hidden cells: run only their tests")
    group.addoption("--grader-progress", help="keep this JSON file up to date with the running test and the "
                                              "finished ones (the runner watches it)")
    group.addoption("--grader-skip-tests", help="JSON list of test node ids not to run (already settled)")
    group.addoption("--grader-leave-out-cells", help="JSON object: cells of the submission not to run "
                                                     "(they crashed an earlier grader process) -> how it died")
    group.addoption("--forget-grader-sources", action="store_true",
                    help="delete the grader_tests folder once its tests are collected, before the student's code "
                         "is imported (only for a private copy: nnkit.grading.runner makes one)")


_CONFIG: dict = {}  # the logstart/logfinish hooks are not given the config


def pytest_configure(config):
    config.addinivalue_line("markers", "grade_cell(grade_id): the hidden grade cell this test scores")
    config._nnkit_results, config._nnkit_items, config._nnkit_finished = {}, {}, []
    config._nnkit_running = None
    _CONFIG["config"] = config
    if config.getoption("--submission"):
        # The graders' models are tiny: one CPU thread is several times faster than two
        # fighting over a busy machine, and it keeps runs comparable between hosts.
        import torch

        torch.set_num_threads(config.getoption("--grader-threads"))
        # Resolved before any student code loads: a submission cannot fake a GPU.
        try:
            config._nnkit_device = pick_device(config.getoption("--grader-device"))
        except DeviceUnavailable as problem:
            raise pytest.UsageError(str(problem)) from None


@dataclass
class Grading:
    course: Course
    assignment: str
    submission: Path
    source_notebook: Path


def _grading(config) -> Grading:
    cached = getattr(config, "_nnkit_grading", None)
    if cached:
        return cached
    path = config.getoption("--submission")
    if not path:
        raise pytest.UsageError("the graders need a notebook: pytest grader_tests --submission path/to/notebook.ipynb")
    submission = Path(path).resolve()
    course = Course.containing(Path(str(config.rootpath)), Path(__file__))
    assignment = config.getoption("--assignment") or course.infer_assignment(submission)
    source = Path(config.getoption("--source-notebook") or course.source_notebook(assignment))
    config._nnkit_grading = Grading(course, assignment, submission, source)
    return config._nnkit_grading


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
    config._nnkit_items = {item.nodeid: item for item in keep}


def _entry(item) -> dict:
    marker = item.get_closest_marker("grade_cell")
    return {"nodeid": item.nodeid, "function": item.originalname or item.name, "file": Path(str(item.path)).name,
            "cell": marker.args[0] if marker else None, "outcome": "passed", "message": ""}


def _write_progress(config, running, loading: str | None = None) -> None:
    """Tell the runner what is going on, in case this process dies or hangs: the test
    running, the submission cell being loaded, and the tests finished so far."""
    path = config.getoption("--grader-progress")
    if not path:
        return
    config._nnkit_running = running
    done = [config._nnkit_results[n] for n in config._nnkit_finished if n in config._nnkit_results]
    scratch = Path(path + ".new")
    scratch.write_text(json.dumps({"running": running, "loading": loading, "done": done}))
    scratch.replace(path)


def pytest_runtest_logstart(nodeid, location):
    config = _CONFIG.get("config")
    if config is not None and config.getoption("--submission"):
        item = config._nnkit_items.get(nodeid)
        _write_progress(config, _entry(item) if item else {"nodeid": nodeid, "cell": None})


def pytest_runtest_logfinish(nodeid, location):
    config = _CONFIG.get("config")
    if config is not None and config.getoption("--submission"):
        config._nnkit_finished.append(nodeid)
        _write_progress(config, None)


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
    return request.config._nnkit_device


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
    running = config._nnkit_running
    module = load_module(code, tmp_path_factory.mktemp("submission"), left_out=left_out,
                         before_cell=lambda origin: _write_progress(config, running, loading=origin))
    _write_progress(config, running)
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


def _student_message(excinfo) -> str:
    error = excinfo.value
    if isinstance(error, (GraderFailure, SubmissionError)):
        return str(error)
    if excinfo.typename == "Failed" and "Timeout" in str(error):
        return "Timed out: your code took too long (an endless loop, or far too slow)."
    return f"Your code raised {describe_exception(error)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not item.config.getoption("--submission"):
        return
    results = item.config._nnkit_results
    entry = results.setdefault(item.nodeid, _entry(item))
    if report.failed:
        entry["outcome"] = "failed"
        if not entry["message"] and call.excinfo is not None:
            entry["message"] = _student_message(call.excinfo)
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
    tests = list(config._nnkit_results.values())
    path = config.getoption("--grader-report")
    if path:
        grading = _grading(config)
        payload = {"assignment": grading.assignment, "submission": str(grading.submission),
                   "device": str(config._nnkit_device), "tests": tests}
        Path(path).write_text(json.dumps(payload, indent=1))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not config.getoption("--submission") or not config._nnkit_results:
        return
    grading = _grading(config)
    points = cell_points(read_notebook(grading.source_notebook))
    cells = score_cells(list(config._nnkit_results.values()), points)
    terminalreporter.write_sep("=", f"hidden grader scores: {grading.assignment}")
    terminalreporter.write_line(summarise(cells))
