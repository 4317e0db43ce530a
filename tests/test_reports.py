"""Issue 11: feedback pages, class dashboard and LMS export, from a small real run, checked in Chromium.

The fixture runs `make demo`'s pipeline (`run_demo`: hand-ins submitted and collected through a
local nbgrader exchange, then autograde, feedback, `nnkit report` and `release_feedback`) on ps1 in a
copy of the course, with one grading seed instead of five to keep it short, and two more hand-ins
submitted and graded with the demo's three: `copycat` (the reference answers with renamed variables and a
comment, which the similarity check must flag) and `broken_file` (not a notebook: unreadable).

The browser tests drive Debian's /usr/bin/chromium through /usr/bin/chromedriver with
JavaScript switched off (the pages must not need it) and never download a browser; they skip,
saying why, where either is missing. Screenshots go to test-artifacts/ (git-ignored).
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, course_copy
from nnkit.demo import filled_release, reference_answers, run_demo
from nnkit.grading.notebook import read_notebook
from nnkit.grading.status import Status, read_record
from nnkit.report import similarity
from nnkit.report.bands import Band
from nnkit.report.collect import assignment_parts
from nnkit.report.explain import STATUS_EXPLANATIONS
from nnkit.report.views import render_views

ASSIGNMENT = "ps1_learning_rates"
NOTEBOOK = "learning_rates.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SECRETS = ("def test_", "grade_cell", "ps1_reference", "from nnkit.grading.checks", "MARK SCHEME", "Mark scheme",
           "BEGIN SOLUTION", "reference_train")
RENAMES = {"optimizer": "opt", "criterion": "loss_fn", "values": "vals", "receptive_field": "rf"}


def copycat_answers() -> dict[str, str]:
    """The reference answers with some variables renamed and a comment added: a disguised copy."""
    answers = {}
    for cell, code in reference_answers(ROOT / "source" / ASSIGNMENT / NOTEBOOK, markers=False).items():
        for old, new in RENAMES.items():
            code = re.sub(rf"\b{old}\b", new, code)
        answers[cell] = "# my own work\n" + code
    return answers


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("report-course"))
    shutil.copytree(ROOT / "calibration", course.root / "calibration")
    reference = course.root / "grader_tests" / ASSIGNMENT / "ps1_reference.py"
    reference.write_text(reference.read_text().replace("SEEDS = range(5)", "SEEDS = range(1)"))
    assert "SEEDS = range(1)" in reference.read_text(), "ps1_reference.SEEDS changed: update this fixture"
    extra = {"copycat": filled_release(ROOT / "release" / ASSIGNMENT / NOTEBOOK, copycat_answers()),
             "broken_file": '{"cells": [ truncated'}
    # submit and collect through a local exchange, autograde, generate_feedback, export, nnkit report, release_feedback
    assert run_demo(course, ASSIGNMENT, extra_hand_ins=extra) == 0
    return course


def page(course, student: str) -> Path:
    return course.root / "feedback" / student / ASSIGNMENT / "report.html"


# ---------------------------------------------------------------------------------------------
# Without a browser
# ---------------------------------------------------------------------------------------------

def test_similarity_sees_through_renaming_and_not_through_different_code():
    code = reference_answers(ROOT / "source" / ASSIGNMENT / NOTEBOOK)
    mine = "\n".join(code.values())
    renamed = "\n".join(copycat_answers().values())
    other = "\n".join(f"def f{i}(a, b):\n    return [a * k + b for k in range({i})] if a else {{}}\n" for i in range(30))
    pairs = similarity.similar_pairs({"a": mine, "b": renamed, "c": other})
    assert [(p.first, p.second) for p in pairs] == [("a", "b")]
    assert pairs[0].similarity == 1.0
    assert similarity.similar_pairs({"a": "x = 1\n", "b": "y = 2\n"}) == []  # too short to judge


def test_views_survive_malformed_measurements():
    """Measurements are the student's numbers: junk must not break the page."""
    junk = {"lr_sweep/lr=1/seed=0": ["a", None, {"x": 1}], "lr_sweep/lr=10/seed=0": "nan",
            "lr_sweep/lr=0.2/seed=0": [1e308, -1.0, 0.0], "lr_sweep/bad": None}
    band = Band("lr=1 diverges", "final / first loss", 57.6, 114.8, 210.9, 10)
    rendered = render_views(ASSIGNMENT, junk, {"lr=1 diverges": band}, "junk")
    assert len(rendered) == 1 and (rendered[0].svg.startswith("<svg") or "could not be plotted" in rendered[0].caption)


def test_every_band_the_views_draw_is_calibrated():
    """A renamed claim would silently drop its band from every student's plot."""
    from nnkit.report.bands import load_bands
    from nnkit.report.views import VIEWS

    for assignment, views in VIEWS.items():
        known = load_bands(ROOT, assignment, "cpu")
        for view in views:
            missing = [claim for claim in view.claims() if claim not in known]
            assert not missing, f"{assignment} {view.key}: no calibration/cpu.json claim named {missing}"


def _svg_texts(svg: str) -> list[str]:
    return [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_views_draw_red_only_where_a_check_failed_with_a_key_integer_counts_and_clipping_said():
    """Issue 21: lr=0.2's final loss of 0.183 lies below the reference band (0.205 to 2.3) while its
    checks pass: drawn apart (amber), not red; red once its part failed. Counts get whole-number ticks,
    the clipped divergence is said in the plot, and the plot has a key."""
    from nnkit.report.plots import OUTSIDE, OUTSIDE_PASSED

    diverging = [0.9 * 10 ** (3 * i) for i in range(8)] + [None] * 192         # past 1e12, then nan
    measurements = {"lr_sweep/lr=100/seed=0": diverging, "lr_sweep/lr=0.2/seed=0": [0.93] * 199 + [0.183]}
    bands = {"lr=0.2 final loss": Band("lr=0.2 final loss", "final loss", 0.205, 0.28, 2.3, 10),
             "lr=100 overflows to nan": Band("lr=100 overflows to nan", "non-finite steps", 192, 193, 194, 10)}
    passed, = render_views(ASSIGNMENT, measurements, bands, "passed")
    failed, = render_views(ASSIGNMENT, measurements, bands, "failed", failed_cells={"hidden_lr_regimes"})
    assert OUTSIDE_PASSED in passed.svg and OUTSIDE not in passed.svg
    assert OUTSIDE in failed.svg
    for svg in (passed.svg, failed.svg):
        labels = _svg_texts(svg)
        assert "a correct solution's range" in labels and "lr=100" in labels      # the keys
        assert "values above 1e+12 clipped" in labels
        assert not [t for t in labels if re.fullmatch(r"19\d\.\d+", t)], labels   # 192, 193, 194: no 192.8
    calm, = render_views(ASSIGNMENT, {"lr_sweep/lr=0.2/seed=0": [0.93] * 200}, bands, "calm")
    assert "values above 1e+12 clipped" not in _svg_texts(calm.svg)


def test_every_view_has_a_key():
    """Each assignment's views (the registry each assignment fills) draw a legend, on made-up numbers."""
    from nnkit.report.views import VIEWS

    curve = {"train_loss": [0.7 - 0.001 * i for i in range(60)], "test_loss": [0.7 - 0.0005 * i for i in range(60)],
             "test_accuracy": 0.8}
    made_up = {"lr_sweep/lr=1/seed=0": [1.0, 2.0, 4.0],
               "wd_sweep/wd=0.1/seed=0": [{"train": 0.8, "test": 0.85}, {"train": 0.9, "test": 0.9}],
               "batchnorm/eps=1e-05/seed=0": {"input_std": [0.1, 1.0, 10.0], "std": [1.0, 1.0, 1.0], "mean": [0.0, 1e-9, 0.0]},
               "dropout/p=0.5/seed=0": {"keep_rate": 0.5, "z": 0.3},
               "dropblock/p=0.3/k=3/8x8/seed=0": {"keep_rate": 0.72, "z": -0.5},
               "playground/circle_relu/seed=0": curve, "playground/spiral_overfit/seed=0": curve}
    assert set(VIEWS) == {"ps1_learning_rates", "ps2_regularization", "ps3_normalization", "ps4_learning_curves"}
    for assignment in VIEWS:
        rendered = render_views(assignment, made_up, {}, f"key-{assignment}")
        assert rendered, assignment
        for view in rendered:
            assert view.svg.startswith("<svg") and 'id="legend_' in view.svg, (assignment, view.key, view.caption)


def test_dashboard_columns_come_from_the_records_and_pairs_count_once(tmp_path):
    """Peak memory, the resource limit and the late penalty: shown where a record has them, left out
    (with a sentence) where none has; a similar pair is one pair, not one flag per student."""
    from nnkit.grading.course import Course
    from nnkit.report.collect import AssignmentResults, Part, PartResult, RunInfo, StudentResult
    from nnkit.report.dashboard import write_dashboard

    parts = [Part("hidden_a", "hidden", "the first check", 2.0), Part("q_a", "written", "Question 1. Why?", 1.0)]

    def student(name, score, **extra):
        return StudentResult(name, ASSIGNMENT, "nb", Status.GRADED,
                             [PartResult(parts[0], score, ["lr=1 did not diverge in 200 steps"] if score < 2 else []),
                              PartResult(parts[1], None)], **extra)

    bare = AssignmentResults(ASSIGNMENT, "nb", parts, [student("ann", 2.0, run=RunInfo(seconds=3.0)),
                                                       student("bob", 0.0, run=RunInfo(seconds=4.0))])
    pair = [similarity.SimilarPair("ann", "bob", 0.95)]
    path, summary = write_dashboard(Course(tmp_path), bare, pair, tmp_path / "bare")
    html = path.read_text()
    assert "<th>peak memory</th>" not in html and "<th>late penalty</th>" not in html and "resource limit hit</th>" not in html
    assert "Peak memory is recorded by <code>nnkit batch</code> only" in html and 'id="no-late"' in html
    assert (summary["flagged"], summary["similar_pairs"]) == (0, 1)
    assert html.count("<tr><td>ann and bob</td>") == 1 and "the first check" in html
    assert "lr=1 did not diverge in 200 steps <span class=\"count\">(1)</span>" in html
    full = AssignmentResults(ASSIGNMENT, "nb", parts, [
        student("ann", 2.0, run=RunInfo(seconds=3.0, peak_memory_mb=812.0, source="batch runner")),
        student("bob", 0.0, late_penalty=1.0, run=RunInfo(seconds=4.0, peak_memory_mb=640.0, limit="memory limit",
                                                          source="batch runner"))])
    html = write_dashboard(Course(tmp_path), full, [], tmp_path / "full")[0].read_text()
    assert "<th>peak memory</th>" in html and "812 MB" in html and "640 MB" in html
    assert "resource limit hit</th>" in html and "memory limit" in html
    assert "<th>late penalty</th>" in html and "−1" in html


def test_every_problem_status_is_explained():
    for status in (Status.TIMED_OUT, Status.CRASHED, Status.UNREADABLE, Status.NOT_GRADED, Status.NOT_SUBMITTED):
        explanation = STATUS_EXPLANATIONS[status]
        assert explanation.what and explanation.todo


def test_sandbox_refusals_and_resource_limits_are_explained():
    from nnkit.report.collect import Part, PartResult, RunInfo, StudentResult, _kernel_errors, _limit_hit
    from nnkit.report.explain import explanations

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("open('/etc/x', 'w')")])
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="OSError", evalue="[Errno 30] Read-only file system: '/etc/x'",
                                                  traceback=[])]
    errors = _kernel_errors(nb)
    assert _limit_hit(["RuntimeError: can't start new thread"], Status.CRASHED) == "process limit"
    assert _limit_hit(["The grading process crashed (a segfault, os._exit, or running out of memory?)"],
                      Status.CRASHED) is None  # the graders' generic advice is not evidence
    result = StudentResult("s", ASSIGNMENT, "learning_rates", Status.GRADED, [PartResult(Part("c", "hidden", "t", 1), 1.0)],
                           refusals=["Read-only file system"], run=RunInfo(limit=_limit_hit(errors + ["MemoryError: "], Status.GRADED)))
    titles = [e.title for e in explanations(result)]
    assert titles == ["Your code tried something the grading sandbox does not allow", "Your code hit a resource limit"]


# ---------------------------------------------------------------------------------------------
# The files of the run
# ---------------------------------------------------------------------------------------------

def test_graders_recorded_the_students_measurements(run):
    record = read_record(run.root / "autograded" / "reference" / ASSIGNMENT)
    assert record is not None and record.status is Status.GRADED
    for lr in ("100", "10", "1", "0.2", "0.001"):
        curve = record.measurements[f"lr_sweep/lr={lr}/seed=0"]
        assert len(curve) == 200
    html = page(run, "reference").read_text()
    assert "With lr=1 (seed 0) your training loss" in html
    assert "a correct solution gives" in html  # the calibration band is named


def test_feedback_says_what_went_wrong(run):
    wrong = page(run, "plausible_wrong").read_text()
    assert "departs from full-batch SGD" in wrong
    broken = page(run, "broken_file").read_text()
    assert "could not be read as a notebook" in broken and "What to do" in broken


def test_reports_leak_nothing(run):
    """No grader source, no reference solution, no mark scheme in any page the kit writes."""
    source = read_notebook(run.source_notebook(ASSIGNMENT))
    release = (ROOT / "release" / ASSIGNMENT / NOTEBOOK).read_text()
    hidden_lines = {line.strip() for path in (ROOT / "grader_tests" / ASSIGNMENT).glob("*.py")
                    for line in path.read_text().splitlines() if len(line.strip()) > 30}
    solution_lines = {line.strip() for cell in source.cells if cell.cell_type == "code"
                      for line in cell.source.splitlines() if len(line.strip()) > 20 and line.strip() not in release}
    marks = [cell.source for cell in source.cells if "MARK SCHEME" in cell.source or "BEGIN SOLUTION" in cell.source]
    pages = list((run.root / "feedback").glob(f"*/{ASSIGNMENT}/report.html")) + list((run.root / "reports").glob("*.html"))
    assert len(pages) == 5 + 2
    for path in pages:
        html = path.read_text()
        assert not [s for s in SECRETS if s in html], path
        assert not [line for line in hidden_lines if line in html], path
        assert not [line for line in solution_lines if line in html], path
        assert not [m for m in marks if m.strip()[:60] in html], path


def test_feedback_report_is_small(run):
    """Our page against nbgrader's default feedback page for the same student (printed for the record)."""
    for student in ("reference", "plausible_wrong"):
        ours = page(run, student).stat().st_size
        theirs = (page(run, student).parent / NOTEBOOK.replace(".ipynb", ".html")).stat().st_size
        print(f"\n{student}: report.html {ours / 1024:.0f} KB, nbgrader's feedback {theirs / 1024:.0f} KB")
        assert ours < 100 * 1024 and ours < theirs / 3


def test_lms_csv_has_one_row_per_student_and_a_column_per_part(run):
    with open(run.root / "reports" / "lms_grades.csv") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    with open(run.root / "grades.csv") as handle:
        nbgrader_scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(handle)}
    assert set(rows) == {"reference", "untouched", "plausible_wrong", "copycat", "broken_file"}
    parts = assignment_parts(run.source_notebook(ASSIGNMENT))
    for row in rows.values():
        for part in parts:
            assert f"{ASSIGNMENT}:{part.cell}" in row
        assert float(row[f"{ASSIGNMENT}:total"]) == nbgrader_scores[row["student_id"]] - float(row[f"{ASSIGNMENT}:late_penalty"])
    assert rows["broken_file"][f"{ASSIGNMENT}:status"] == "unreadable"
    assert rows["reference"][f"{ASSIGNMENT}:status"] == "graded"
    assert rows["reference"][f"{ASSIGNMENT}:hidden_train"] == "3" and rows["plausible_wrong"][f"{ASSIGNMENT}:hidden_train"] == "0"
    assert rows["reference"][f"{ASSIGNMENT}:q_sweep"] == ""  # a written answer not graded yet


def test_report_command(run):
    done = subprocess.run([sys.executable, "-m", "nnkit", "--course", str(run.root), "report"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reports/ps1_learning_rates.html" in done.stdout and "Feedback: 5 pages" in done.stdout
    env = {**os.environ, "PATH": f"{sys.prefix}/bin:{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--exporter", "nnkit.report.export.LmsCsvExport",
                           "--to", "lms.csv"], cwd=run.root, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (run.root / "lms.csv").read_text() == (run.root / "reports" / "lms_grades.csv").read_text()


def test_report_for_chosen_students_only(run, tmp_path):
    """`nnkit report --student ID`: that student's pages are written again, nobody else's; the class
    views are rebuilt whole; an unknown id is refused with the ids the gradebook has."""
    from nnkit.grading.course import CourseProblem
    from nnkit.report.build import write_reports

    pages = {s: page(run, s) for s in ("reference", "plausible_wrong", "copycat")}
    before = {s: p.stat().st_mtime_ns for s, p in pages.items()}
    paths = write_reports(run, [ASSIGNMENT], out=tmp_path / "reports", students=["plausible_wrong", "copycat"])
    assert sorted(p.parent.parent.name for p in paths.feedback) == ["copycat", "plausible_wrong"]
    after = {s: p.stat().st_mtime_ns for s, p in pages.items()}
    assert after["reference"] == before["reference"]
    assert after["plausible_wrong"] > before["plausible_wrong"] and after["copycat"] > before["copycat"]
    assert (tmp_path / "reports" / f"{ASSIGNMENT}.html").is_file() and paths.csv.is_file()
    with pytest.raises(CourseProblem, match="no student nobody .*it has: broken_file, copycat"):
        write_reports(run, [ASSIGNMENT], out=tmp_path / "again", students=["nobody"])
    done = subprocess.run([sys.executable, "-m", "nnkit", "--course", str(run.root), "report", "--assignment", ASSIGNMENT,
                           "--student", "reference"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Feedback: 1 pages" in done.stdout and "for reference" in done.stdout


def test_batch_for_chosen_students_only(run):
    """`nnkit batch --student ID`: jobs for those students' hand-ins alone (planned here, not run: the
    module's course is graded once); an id without a hand-in stops the batch before any job."""
    from nnkit.batch import plan_batch
    from nnkit.grading.course import CourseProblem

    everyone = plan_batch(run, [ASSIGNMENT], force=True)
    assert len(everyone.jobs) == 5
    chosen = plan_batch(run, [ASSIGNMENT], force=True, only_students=["copycat", "untouched"])
    assert sorted(j.student for j in chosen.jobs) == ["copycat", "untouched"]
    assert all("--student" in j.command() for j in chosen.jobs)
    with pytest.raises(CourseProblem, match="no hand-in by nobody"):
        plan_batch(run, [ASSIGNMENT], force=True, only_students=["copycat", "nobody"])
    done = subprocess.run([sys.executable, "-m", "nnkit", "--course", str(run.root), "batch", ASSIGNMENT,
                           "--student", "nobody", "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "no hand-in by nobody" in done.stderr, done.stdout[-2000:] + done.stderr[-2000:]


# ---------------------------------------------------------------------------------------------
# nbgrader's hand-back and hand grading
# ---------------------------------------------------------------------------------------------

def _nbgrader(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{sys.prefix}/bin:{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, f"nbgrader {args[0]}: " + done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def test_students_fetch_the_report_through_nbgrader_exchange(run):
    """`nbgrader release_feedback`, then `nbgrader fetch_feedback` as the student (who submitted through the
    same local exchange, in the fixture): what arrives is nbgrader's page with the kit's report in it (the
    student's own score table), and no hidden test, grader source or mark scheme."""
    from nnkit.demo import cell_scores

    exchange = run.root / "exchange" / "shared"
    _nbgrader("release_feedback", ASSIGNMENT, f"--Exchange.root={exchange}", cwd=run.root)
    hidden_lines = {line.strip() for path in (ROOT / "grader_tests" / ASSIGNMENT).glob("*.py")
                    for line in path.read_text().splitlines() if len(line.strip()) > 30}
    for student in ("reference", "plausible_wrong", "broken_file"):
        home = run.root / "exchange" / "home" / student     # where the fixture's `nbgrader submit` ran
        _nbgrader("fetch_feedback", ASSIGNMENT, "--course", "nn-best-practices", f"--Exchange.root={exchange}",
                  f"--Exchange.cache={home / '.nbgrader_cache'}", "--student", student, cwd=home)
        fetched = [p for p in (home / ASSIGNMENT / "feedback").rglob("*") if p.is_file()]
        assert [p.name for p in fetched] == [NOTEBOOK.replace(".ipynb", ".html")], fetched
        html = fetched[0].read_text()
        assert html.count('<section id="nnkit-report">') == 1 and 'id="notebook"' in html  # the report, then the notebook
        assert f"{student} · " in html and '<table id="scores">' in html
        scores = cell_scores(run, ASSIGNMENT, student)
        for part in assignment_parts(run.source_notebook(ASSIGNMENT)):
            row = re.search(rf'<tr id="part-{part.cell}">.*?<td class="num [a-z]+">([^<]*)</td>', html, re.S)
            assert row, (student, part.cell)
            shown = row.group(1).split(" / ")
            assert float(shown[1]) == part.max_points
            if part.kind == "hidden":
                assert float(shown[0]) == scores[part.cell], (student, part.cell, shown)
            else:
                assert shown[0] == "to be graded", (student, part.cell, shown)   # not hand-graded in the fixture
        if student == "plausible_wrong":
            assert "departs from full-batch SGD" in html
        if student == "broken_file":
            assert "could not be read as a notebook" in html
        assert not [s for s in SECRETS if s in html], student
        assert not [line for line in hidden_lines if line in html], student


class _Formgrader:
    """A real Jupyter server on localhost with nbgrader's formgrader extension, serving the course at `root`
    (as `jupyter lab` in the course folder does), called through formgrader's REST API with token auth."""

    def __init__(self, root: Path, log: Path):
        import secrets
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.token, self.log, self.output = secrets.token_hex(16), log, open(log, "wb")
        env = {**os.environ, "PATH": f"{sys.prefix}/bin:{os.environ['PATH']}"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={root}"],
            cwd=root, env=env, stdout=self.output, stderr=subprocess.STDOUT, start_new_session=True)

    def call(self, method: str, path: str, body: dict | None = None):
        import json
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/formgrader/api/{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def __enter__(self):
        import time
        import urllib.error

        deadline = time.monotonic() + 120
        try:
            while True:
                assert self.process.poll() is None, "jupyter server stopped:\n" + self.log.read_text()[-3000:]
                try:
                    assert self.call("GET", "status") == {"status": True}
                    return self
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() < deadline, "formgrader did not answer:\n" + self.log.read_text()[-3000:]
                    time.sleep(0.3)
        except BaseException:
            self.__exit__()   # `with` calls __exit__ only once __enter__ has returned: no server left behind
            raise

    def __exit__(self, *exc):
        self.process.terminate()   # its gradebook session ends before nbgrader writes the file again
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.output.close()


def test_hand_grades_survive_a_regrade(run, tmp_path):
    """Issue 21: a TA hand-grades in formgrader (a real Jupyter server on localhost, its REST API, as the
    Manual Grading page's save does): a score for a written answer, and a manual score with extra credit
    that overrides an autograded cell. Both survive `nbgrader autograde --force`, then `nnkit batch --force`,
    in a copy of the graded course, on the blank release (the quickest hand-in to grade again).
    `ResetAutogradedOverrides` clears the override, never the written answer's grade, only when enabled
    (`--ResetAutogradedOverrides.enabled=True`), here run as autograde runs it, after `SaveAutoGrades`."""
    from nbgrader.api import Gradebook
    from traitlets.config import Config

    from nnkit.grading.gradebook import ResetAutogradedOverrides

    root = tmp_path / "course"
    shutil.copytree(run.root, root, ignore=shutil.ignore_patterns("exchange"), symlinks=True)
    db, student, notebook = f"sqlite:///{root / 'gradebook.db'}", "untouched", NOTEBOOK[:-6]
    hand_grades = {"hidden_model": {"manual_score": 1.5, "extra_credit": 0.5},   # overrides the automatic 0
                   "q_broadcast": {"manual_score": 2.0}}                          # a written answer

    def grades() -> dict:
        with Gradebook(db) as gb:
            return {g.name: {**g.to_dict(), "score": g.score}
                    for g in gb.find_submission_notebook(notebook, ASSIGNMENT, student).grades}

    with _Formgrader(root, tmp_path / "jupyter-server.log") as formgrader:
        submission = next(s for s in formgrader.call("GET", f"submitted_notebooks/{ASSIGNMENT}/{notebook}")
                          if s["student"] == student)
        cells = {g["name"]: g for g in formgrader.call("GET", f"grades?submission_id={submission['id']}")}
        assert cells["hidden_model"]["auto_score"] == 0 and cells["q_broadcast"]["needs_manual_grade"]
        for name, grade in hand_grades.items():
            saved = formgrader.call("PUT", f"grade/{cells[name]['id']}", grade)
            assert (saved["manual_score"], saved["needs_manual_grade"]) == (grade["manual_score"], False)
    assert grades()["hidden_model"]["score"] == 2.0 and grades()["q_broadcast"]["score"] == 2.0

    def hand_grades_kept(log: str) -> dict:
        assert "Resetting manual score" not in log
        kept = grades()
        assert (kept["hidden_model"]["auto_score"], kept["hidden_model"]["manual_score"],
                kept["hidden_model"]["extra_credit"], kept["hidden_model"]["score"]) == (0, 1.5, 0.5, 2.0)
        assert kept["hidden_model"]["needs_manual_grade"]          # nbgrader: a new automatic score to look at
        assert (kept["q_broadcast"]["manual_score"], kept["q_broadcast"]["score"]) == (2.0, 2.0)
        return kept

    hand_grades_kept(_nbgrader("autograde", ASSIGNMENT, "--student", student, "--force", cwd=root))
    for other in (root / "submitted").iterdir():   # the batch grades every hand-in in submitted/: only this one
        if other.name != student:
            shutil.rmtree(other)
    done = subprocess.run([sys.executable, "-m", "nnkit", "batch", ASSIGNMENT, "--force", "--workers", "1"], cwd=root,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PATH": f"{sys.prefix}/bin:{os.environ['PATH']}"})
    assert done.returncode == 0 and "graded 1 hand-in(s)" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    kept = hand_grades_kept((root / "autograded" / student / ASSIGNMENT / ".nnkit-run.log").read_text())

    nb = read_notebook(root / "autograded" / student / ASSIGNMENT / NOTEBOOK)
    resources = {"nbgrader": {"db_url": db, "notebook": notebook, "assignment": ASSIGNMENT, "student": student}}
    ResetAutogradedOverrides()(nb, resources)                  # the default: off
    assert grades() == kept
    ResetAutogradedOverrides(config=Config({"ResetAutogradedOverrides": {"enabled": True}}))(nb, resources)
    reset = grades()
    assert (reset["hidden_model"]["manual_score"], reset["hidden_model"]["extra_credit"],
            reset["hidden_model"]["score"], reset["hidden_model"]["needs_manual_grade"]) == (None, None, 0, False)
    assert (reset["q_broadcast"]["manual_score"], reset["q_broadcast"]["score"]) == (2.0, 2.0)


# ---------------------------------------------------------------------------------------------
# In Chromium
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"Chromium not installed ({CHROMIUM} and {CHROMEDRIVER}): apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1100,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def _open(driver, path: Path):
    from selenium.webdriver.common.by import By

    driver.get(path.as_uri())
    return lambda css: driver.find_elements(By.CSS_SELECTOR, css)


def _visible(elements, what: str, min_height: int = 10):
    assert elements, f"no {what}"
    for element in elements:
        assert element.is_displayed() and element.size["height"] >= min_height and element.size["width"] > 100, what


def _screenshot(driver, name: str, width: int = 1100) -> Path:
    """The whole page, under test-artifacts/ (the viewport is stretched to the page's height)."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": min(height, 8000), "deviceScaleFactor": 1, "mobile": False})
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path)) and path.stat().st_size > 5000
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return path


def _links_resolve(page_path: Path, find) -> int:
    checked = 0
    for link in find("a[href]"):
        href = link.get_attribute("href")
        if href.startswith("file://"):
            target = Path(href.split("#")[0][len("file://"):])
            assert target.is_file(), f"{page_path.name}: link to {target} does not resolve"
            if "#" in href and target == page_path:
                assert find("#" + href.split("#")[1]), f"{page_path.name}: no element for {href}"
            checked += 1
    return checked


def test_feedback_page_in_chromium(run, browser):
    for student in ("plausible_wrong", "broken_file"):
        path = page(run, student)
        find = _open(browser, path)
        assert f"feedback for {student}" in browser.title
        _visible(find("table#scores"), "score table", 100)
        if student == "plausible_wrong":
            _visible(find("figure.plot svg"), "plot", 150)
            assert len(find("figure.plot svg")) == 1
        else:
            _visible(find(".box"), "explanation of the unreadable notebook", 40)
        assert _links_resolve(path, find) >= 1
        _screenshot(browser, f"feedback_{student}.png")


def test_student_report_shows_whole_questions_the_score_to_come_and_keyed_plots(run, browser):
    """Issue 21, the student's report: every written question whole (it was cut mid-sentence), the
    score as "auto 11/16 · 7 to hand-grade" while written answers wait, a key on every plot, and red
    only in the plot of a part whose check failed."""
    from nnkit.demo import cell_scores
    from nnkit.report.plots import OUTSIDE

    student = "plausible_wrong"
    path = page(run, student)
    find = _open(browser, path)
    parts = assignment_parts(run.source_notebook(ASSIGNMENT))
    scores = cell_scores(run, ASSIGNMENT, student)
    hidden = [p for p in parts if p.kind == "hidden"]
    auto, auto_max = sum(scores[p.cell] for p in hidden), sum(p.max_points for p in hidden)
    waiting = sum(p.max_points for p in parts if p.kind == "written")      # none hand-graded in the fixture
    assert auto < auto_max and waiting > 0
    assert find("#total")[0].text == f"auto {auto:g}/{auto_max:g} · {waiting:g} to hand-grade"
    release = read_notebook(ROOT / "release" / ASSIGNMENT / NOTEBOOK)
    for part in (p for p in parts if p.kind == "written"):
        shown = find(f"tr#part-{part.cell} td.question")[0].text
        cell = next(c for c in release.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == part.cell)
        paragraph = cell.source.split("\n\n")[0]
        last_words = re.sub(r"[*_`$]", "", paragraph).split()[-3:]
        assert shown.endswith(" ".join(last_words)), (part.cell, shown)   # the question's own ending, not "what does"
        assert "…" not in shown
    failed = {p.cell for p in hidden if scores[p.cell] < p.max_points}
    plots = find("figure.plot")
    assert plots
    for figure in plots:
        svg = figure.get_attribute("innerHTML")
        assert 'id="legend_' in svg, figure.get_attribute("id")
        if figure.get_attribute("id") == "figure-lr-sweep" and "hidden_lr_regimes" not in failed:
            assert OUTSIDE not in svg, "red in the plot of a part whose checks all passed"
    _screenshot(browser, "student_report.png", 1280)


def test_nbgrader_feedback_page_fits_1280_pixels_without_a_cdn(run, browser):
    """Issue 21: the page students fetch (nbgrader's, with the report inside) fits a 1280 px window:
    long code lines and failure messages wrap, the 5-panel figure scales; its maths is drawn in the page
    (no MathJax from a CDN); written answers not graded yet read "to be graded by hand", not 0."""
    path = run.root / "feedback" / "plausible_wrong" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")
    html = path.read_text()
    assert not re.findall(r"<script[^>]+src=[\"']https?://", html) and "mathjax" not in html.lower()
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    try:
        find = _open(browser, path)
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 1280
        maths = find("img.math")
        assert len(maths) >= 10
        for image in maths:
            assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image), \
                image.get_attribute("alt")
        assert "$" not in " ".join(e.text for e in find(".text_cell_render"))   # no raw TeX left
        contents = find("#toc")[0].text
        assert "Task (to be graded by hand / 2.0)" in contents and "Task (Score: 0.0" not in contents
        assert "to be graded by hand" in find("h4")[0].text
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    _screenshot(browser, "feedback_page_1280.png", 1280)


def test_dashboard_in_chromium(run, browser):
    from nnkit.demo import cell_scores

    path = run.root / "reports" / f"{ASSIGNMENT}.html"
    find = _open(browser, path)
    _visible(find("#figure-scores svg"), "score distribution", 60)
    assert 'id="legend_' in find("#figure-scores")[0].get_attribute("innerHTML")
    _visible(find("table#parts"), "per-part table", 100)
    _visible(find("table#slowest"), "slowest submissions", 40)
    flagged = find("ul#flagged li")
    _visible(flagged, "flagged list")
    reasons = dict(item.text.split(": ", 1) for item in flagged)
    assert reasons == {"broken_file": "unreadable"}          # similar code is listed apart, once per pair
    pairs = [row.text for row in find("table#similar tbody tr")]             # "copycat and reference 100%"
    assert len(pairs) == len({frozenset(p.split(" ")[0:3:2]) for p in pairs})   # A~B and B~A: one row
    assert "copycat and reference 100%" in pairs               # renamed variables
    # the demo's wrong student is the reference answers with two slips: near-identical too, but not the same
    assert any(re.fullmatch(r"plausible_wrong and reference 9\d%", p) for p in pairs), pairs
    assert not [p for p in pairs if "untouched" in p]           # the blank release: nothing of its own to compare
    # per part: its description, mean, share with full marks, most common failures (from the gradebook)
    handed_in = ("reference", "untouched", "plausible_wrong", "copycat", "broken_file")
    scores = {s: cell_scores(run, ASSIGNMENT, s) for s in handed_in}
    for part in (p for p in assignment_parts(run.source_notebook(ASSIGNMENT)) if p.kind == "hidden"):
        row = find(f"tr#stats-{part.cell}")[0]
        got = [scores[s][part.cell] for s in handed_in]
        assert row.find_element("css selector", "td.part").text.startswith(part.short_title)
        assert row.find_element("css selector", "td.mean").text == f"{sum(got) / len(got):.2g} / {part.max_points:g}"
        full = sum(g == part.max_points for g in got) / len(got)
        assert row.find_element("css selector", "td.full").text == f"{100 * full:.0f}%"
        failures = row.find_elements("css selector", "ol.failures li")
        assert len(failures) <= 3 and (failures or full == 1)
    train = find("tr#stats-hidden_train ol.failures")[0].text
    assert "departs from full-batch SGD" in train and "(1)" in train
    assert "peak memory" not in find("table#slowest")[0].text     # no batch run in the fixture: no empty column
    assert "late penalty" not in find("table#students")[0].text and find("#no-late")
    assert len(find("a.feedback-link")) == 5
    assert _links_resolve(path, find) >= 5 + 1
    _screenshot(browser, "dashboard_ps1_learning_rates.png", 1280)
    course_page = run.root / "reports" / "index.html"
    find = _open(browser, course_page)
    _visible(find("table#assignments"), "assignment table", 30)
    row = find("table#assignments tbody tr")[0].text
    assert row.endswith(f" 1 {len(pairs)}"), row               # 1 flagged hand-in; each similar pair once
    assert _links_resolve(course_page, find) >= 1 + 4
    _screenshot(browser, "dashboard_course.png", 1280)
