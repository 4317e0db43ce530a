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


def test_hand_grades_survive_a_regrade(run, tmp_path):
    """A TA's manual score on an autograded cell (with extra credit) and the hand grade of a written answer
    survive `nbgrader autograde --force`, in a copy of the graded course, on the blank release (the
    quickest hand-in to grade again). `ResetAutogradedOverrides` clears the first only when enabled
    (`--ResetAutogradedOverrides.enabled=True`), here run as autograde runs it, after `SaveAutoGrades`."""
    from nbgrader.api import Gradebook
    from traitlets.config import Config

    from nnkit.grading.gradebook import ResetAutogradedOverrides

    root = tmp_path / "course"
    shutil.copytree(run.root, root, ignore=shutil.ignore_patterns("exchange"), symlinks=True)
    db, student, notebook = f"sqlite:///{root / 'gradebook.db'}", "untouched", NOTEBOOK[:-6]

    def grades() -> dict:
        with Gradebook(db) as gb:
            return {g.name: {**g.to_dict(), "score": g.score}
                    for g in gb.find_submission_notebook(notebook, ASSIGNMENT, student).grades}

    with Gradebook(db) as gb:   # what formgrader's "save" does (nbgrader's GradeHandler.put)
        for name, manual, extra in (("hidden_model", 1.5, 0.5), ("q_broadcast", 2.0, None)):
            grade = gb.find_grade(name, notebook, ASSIGNMENT, student)
            grade.manual_score, grade.extra_credit = manual, extra
            grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        gb.db.commit()
    assert grades()["hidden_model"]["auto_score"] == 0 and grades()["hidden_model"]["score"] == 2.0

    log = _nbgrader("autograde", ASSIGNMENT, "--student", student, "--force", cwd=root)
    assert "Resetting manual score" not in log
    kept = grades()
    assert (kept["hidden_model"]["auto_score"], kept["hidden_model"]["manual_score"],
            kept["hidden_model"]["extra_credit"], kept["hidden_model"]["score"]) == (0, 1.5, 0.5, 2.0)
    assert kept["hidden_model"]["needs_manual_grade"]          # nbgrader: a new automatic score to look at
    assert (kept["q_broadcast"]["manual_score"], kept["q_broadcast"]["score"]) == (2.0, 2.0)

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


def _screenshot(driver, name: str) -> Path:
    """The whole page, under test-artifacts/ (the viewport is stretched to the page's height)."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1100, "height": min(height, 8000), "deviceScaleFactor": 1, "mobile": False})
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


def test_dashboard_in_chromium(run, browser):
    path = run.root / "reports" / f"{ASSIGNMENT}.html"
    find = _open(browser, path)
    _visible(find("#figure-scores svg"), "score distribution", 60)
    _visible(find("table#failures"), "failure-rate table", 100)
    _visible(find("table#slowest"), "slowest submissions", 40)
    flagged = find("ul#flagged li")
    _visible(flagged, "flagged list")
    reasons = dict(item.text.split(": ", 1) for item in flagged)
    assert reasons["broken_file"] == "unreadable"
    assert "code near-identical to reference's (100% similar)" in reasons["copycat"]  # renamed variables
    # the demo's wrong student is the reference answers with two slips: near-identical too, but not the same
    assert re.search(r"code near-identical to reference's \(9\d% similar\)", reasons["plausible_wrong"])
    assert "untouched" not in reasons  # the blank release: nothing of its own to compare
    assert len(find("a.feedback-link")) == 5
    assert _links_resolve(path, find) >= 5 + 1
    _screenshot(browser, "dashboard_ps1_learning_rates.png")
    course_page = run.root / "reports" / "index.html"
    find = _open(browser, course_page)
    _visible(find("table#assignments"), "assignment table", 30)
    assert _links_resolve(course_page, find) >= 1 + 4
    _screenshot(browser, "dashboard_course.png")
