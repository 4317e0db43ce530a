"""ps1 end to end through nbgrader, as `make demo` runs it, in a copy of the course."""
import csv
import json
import os
import subprocess
import sys

import pytest

from conftest import course_copy
from nnkit.demo import cell_scores, nbgrader, run_demo
from nnkit.grading.experiments import NOT_RE_RUN, is_experiment
from nnkit.grading.notebook import read_notebook
from nnkit.grading.results import cell_points, score_cells
from nnkit.variants import discover

ASSIGNMENT = "ps1_learning_rates"
NOTEBOOK = "learning_rates.ipynb"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("course"))
    assert run_demo(course, ASSIGNMENT) == 0
    return course


@pytest.fixture(scope="module")
def points(demo):
    return cell_points(read_notebook(demo.source_notebook(ASSIGNMENT)))


def test_source_validates_and_release_fails(demo):
    env = {**os.environ, "PATH": f"{sys.prefix}/bin:{os.environ['PATH']}"}
    ok = subprocess.run([sys.executable, "-m", "nbgrader", "validate", f"source/{ASSIGNMENT}/{NOTEBOOK}"],
                        cwd=demo.root, capture_output=True, text=True, env=env)
    assert "Success! Your notebook passes all the tests." in ok.stdout, ok.stdout[-2000:] + ok.stderr[-2000:]
    bad = subprocess.run([sys.executable, "-m", "nbgrader", "validate", f"release/{ASSIGNMENT}/{NOTEBOOK}"],
                         cwd=demo.root, capture_output=True, text=True, env=env)
    assert "VALIDATION FAILED" in bad.stdout, bad.stdout[-2000:]


def test_reference_gets_full_automatic_marks(demo, points):
    scores = cell_scores(demo, ASSIGNMENT, "reference")
    assert {c: scores[c] for c in points} == points


def test_untouched_release_scores_zero(demo, points):
    scores = cell_scores(demo, ASSIGNMENT, "untouched")
    assert {c: scores[c] for c in points} == {c: 0 for c in points}


def test_wrong_submission_loses_exactly_what_it_got_wrong(demo, points):
    wrong = next(v for v in discover(demo.variants_dir, [ASSIGNMENT]) if v.name == "demo_student")
    assert wrong.fails, "the demo's wrong submission must declare the cells it fails"
    scores = cell_scores(demo, ASSIGNMENT, "plausible_wrong")
    expected = {c: (0 if c in wrong.fails else p) for c, p in points.items()}
    assert {c: scores[c] for c in points} == expected
    assert sum(points.values()) - sum(scores[c] for c in points) == sum(points[c] for c in wrong.fails)


def test_standalone_pytest_agrees_with_autograde(demo, points, tmp_path):
    for student in ("reference", "untouched", "plausible_wrong"):
        report = tmp_path / f"{student}.json"
        submission = demo.root / "autograded" / student / ASSIGNMENT / NOTEBOOK
        subprocess.run([sys.executable, "-m", "pytest", "grader_tests", "--submission", str(submission),
                        "--grader-report", str(report), "-q", "-p", "no:cacheprovider"],
                       cwd=demo.root, capture_output=True, text=True, timeout=900)
        cells = score_cells(json.loads(report.read_text())["tests"], points)
        standalone = {c: cells[c].score for c in points}
        gradebook = cell_scores(demo, ASSIGNMENT, student)
        assert standalone == {c: gradebook[c] for c in points}, student


def test_feedback_names_failures_without_grader_source(demo):
    html = (demo.root / "feedback" / "plausible_wrong" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert "departs from full-batch SGD" in html
    for secret in ("reference_train", "grade_cell", "def test_", "MARK SCHEME", "Mark scheme", "Model answer"):
        assert secret not in html, f"feedback shows '{secret}'"


def test_export_has_every_student(demo):
    with open(demo.root / "grades.csv") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert {"reference", "untouched", "plausible_wrong"} <= set(rows)
    assert float(rows["reference"]["score"]) > float(rows["plausible_wrong"]["score"]) > float(rows["untouched"]["score"])


def test_second_autograde_gives_the_same_grades(demo, points):
    before = {s: cell_scores(demo, ASSIGNMENT, s) for s in ("reference", "plausible_wrong")}
    nbgrader(demo, "autograde", ASSIGNMENT, "--force", "--student", "plausible_wrong")
    after = {s: cell_scores(demo, ASSIGNMENT, s) for s in ("reference", "plausible_wrong")}
    assert before == after


def test_experiment_cells_are_not_run_again_and_everything_else_runs_cleanly(demo):
    """Autograde skips the experiments (nnkit/grading/experiments.py): they keep the note and what was handed
    in, and every other cell of the reference ran without an error (no cell needed an experiment's names)."""
    nb = read_notebook(demo.root / "autograded" / "reference" / ASSIGNMENT / NOTEBOOK)
    experiments = [c for c in nb.cells if is_experiment(c)]
    assert experiments and all(c.outputs[0].text == NOT_RE_RUN and c.execution_count is None for c in experiments)
    ran = [c for c in nb.cells if c.cell_type == "code" and not is_experiment(c)
           and "hidden-grader" not in c.metadata.get("tags", [])]
    assert ran and all(c.execution_count for c in ran)
    assert not [c.source[:80] for c in ran if any(o.output_type == "error" for o in c.outputs)]
