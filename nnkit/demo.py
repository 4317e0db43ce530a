"""`make demo`: the instructor's whole job on one assignment, offline, start to finish.

1. `nbgrader generate_assignment` writes release/ from source/;
2. three submissions: the reference solution, the untouched release, and a
   plausible wrong answer (a variant from the mutant bank);
3. `nbgrader autograde`, `nbgrader generate_feedback`, `nbgrader export`, then `nnkit report`
   (feedback/<student>/<ps>/report.html, reports/<ps>.html, reports/lms_grades.csv);
4. a score table, per student and per hidden cell, read back from the gradebook.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from nnkit.grading.course import Course
from nnkit.grading.notebook import grade_id, hidden_grader_cells, is_solution, read_notebook
from nnkit.grading.results import cell_points
from nnkit.variants import discover

DEMO_WRONG = "demo_student"


def nbgrader(course: Course, *args: str) -> None:
    """Run one nbgrader command in the course folder; stop with its output if it fails."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader calls alembic
    print(f"$ nbgrader {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course.root, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-5000:] + done.stderr[-5000:])
        raise SystemExit(f"nbgrader {args[0]} failed (exit {done.returncode}); its output is above.")


def filled_release(release_nb: Path, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The release notebook with some solution cells answered, as a student would hand it in."""
    nb = read_notebook(release_nb)
    for cell in nb.cells:
        if is_solution(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def reference_answers(source_nb: Path) -> dict[str, str]:
    return {grade_id(c): c.source for c in read_notebook(source_nb).cells if is_solution(c)}


def make_submissions(course: Course, assignment: str) -> dict[str, str]:
    """Write the demo's three submissions under submitted/; return student -> description."""
    source = course.source_notebook(assignment)
    release = course.root / "release" / assignment / source.name
    reference = reference_answers(source)
    wrong = next((v for v in discover(course.variants_dir, [assignment])
                  if v.kind == "wrong" and v.name == DEMO_WRONG), None)
    if wrong is None:
        raise SystemExit(f"variants/{assignment}/wrong/{DEMO_WRONG}.py is missing: the demo's wrong submission.")
    students = {
        "reference": ("the reference solution", reference),
        "untouched": ("the release, not filled in", {}),
        "plausible_wrong": (f"wrong: {wrong.description}", {**reference, **wrong.cells}),
    }
    for student, (_, answers) in students.items():
        folder = course.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(filled_release(release, answers), str(folder / source.name))
        (folder / "timestamp.txt").write_text("2026-11-25 12:00:00.000000 UTC")
    return {s: d for s, (d, _) in students.items()}


def cell_scores(course: Course, assignment: str, student: str) -> dict[str, float]:
    """Hidden-cell scores as the gradebook holds them."""
    from nbgrader.api import Gradebook

    notebook = course.source_notebook(assignment).stem
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(notebook, assignment, student)
        return {g.name: g.score for g in submission.grades}


def run_demo(course: Course, assignment: str = "ps1_learning_rates") -> int:
    start = time.monotonic()
    nbgrader(course, "generate_assignment", assignment, "--force")
    students = make_submissions(course, assignment)
    nbgrader(course, "autograde", assignment, "--create", "--force")
    nbgrader(course, "generate_feedback", assignment, "--force")
    nbgrader(course, "export")
    from nnkit.report.build import write_reports

    reports = write_reports(course, [assignment])
    hidden = [grade_id(c) for c in hidden_grader_cells(read_notebook(course.source_notebook(assignment)))]
    with open(course.root / "grades.csv") as handle:
        exported = {row["student_id"]: row for row in csv.DictReader(handle) if row["assignment"] == assignment}
    auto_max = sum(cell_points(read_notebook(course.source_notebook(assignment))).values())
    print(f"\nScores for {assignment}: automatic points from the hidden graders; the written questions\n"
          f"are graded by hand (max {float(next(iter(exported.values()))['max_score']):g} in all).\n")
    print(f"{'student':<17}{'auto':>7}  {'status':<8}  cells lost")
    for student, description in students.items():
        scores = cell_scores(course, assignment, student)
        auto = sum(scores[c] for c in hidden)
        lost = [c for c in hidden if scores[c] == 0]
        lost_text = "-" if not lost else ("all" if len(lost) == len(hidden) else ", ".join(lost))
        print(f"{student:<17}{auto:>4g}/{auto_max:<3g} {exported[student].get('status', '?'):<8}  {lost_text}")
        print(f"{'':<17}  ({description})")
    print(f"\nFeedback: feedback/<student>/{assignment}/*.html   Export: grades.csv   "
          f"({time.monotonic() - start:.0f} s)")
    print(f"Dashboard: {reports.dashboards[0]}   Course: {reports.course}   LMS export: {reports.csv}")
    return 0
