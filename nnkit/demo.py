"""`make demo`: the instructor's whole job on one assignment, offline, start to finish.

1. `nbgrader generate_assignment` writes release/ from source/, `nbgrader release_assignment` puts it
   in the exchange;
2. three students hand in through nbgrader's exchange (`nbgrader submit`): the reference solution,
   the untouched release, and a plausible wrong answer (a variant from the mutant bank); the
   instructor collects them (`nbgrader collect`);
3. `nbgrader autograde`, `nbgrader generate_feedback`, `nbgrader export`, `nnkit report`
   (feedback/<student>/<ps>/report.html, also put into nbgrader's page; reports/<ps>.html,
   reports/lms_grades.csv), then `nbgrader release_feedback`;
4. a score table, per student and per hidden cell, read back from the gradebook.

The exchange is a local folder, `exchange/` in the course (what `/srv/nbgrader/exchange` is on a
hub): `exchange/shared/` is `c.Exchange.root`, `exchange/home/<student>/` each student's folder
(their copy of the assignment, and nbgrader's cache of their submissions in `.nbgrader_cache/`).
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
from nnkit.grading.notebook import grade_id, hidden_grader_cells, is_solution, read_notebook, with_solutions
from nnkit.grading.results import cell_points
from nnkit.variants import discover

DEMO_WRONG = "demo_student"


def nbgrader(course: Course, *args: str, cwd: Path | None = None) -> str:
    """Run one nbgrader command in the course folder (or `cwd`); stop with its output if it fails."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader calls alembic
    print(f"$ nbgrader {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd or course.root, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-5000:] + done.stderr[-5000:])
        raise SystemExit(f"nbgrader {args[0]} failed (exit {done.returncode}); its output is above.")
    return done.stdout + done.stderr


def exchange_root(course: Course) -> Path:
    """The demo's exchange (`c.Exchange.root`): a folder in the course, where a hub has /srv/nbgrader/exchange."""
    return course.root / "exchange" / "shared"


def student_home(course: Course, student: str) -> Path:
    """Where one demo student works: their assignment folders, and nbgrader's cache of what they submitted."""
    return course.root / "exchange" / "home" / student


def instructor_exchange_args(course: Course) -> list[str]:
    return [f"--Exchange.root={exchange_root(course)}"]


def student_exchange_args(course: Course, student: str) -> list[str]:
    """A student's nbgrader command outside the course folder: the course and exchange named, and the
    student too (the demo's students are all this one system user, which nbgrader would take instead)."""
    return ["--course", course.course_id, f"--Exchange.root={exchange_root(course)}",
            f"--Exchange.cache={student_home(course, student) / '.nbgrader_cache'}", "--student", student]


def hand_in(course: Course, assignment: str, student: str, notebook: nbformat.NotebookNode | str) -> None:
    """`student` saves their notebook (or, as a str, whatever bytes they have) and runs `nbgrader submit`."""
    folder = student_home(course, student) / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / course.source_notebook(assignment).name
    if isinstance(notebook, str):
        path.write_text(notebook)
    else:
        nbformat.write(notebook, str(path))
    nbgrader(course, "submit", assignment, *student_exchange_args(course, student), cwd=student_home(course, student))


def filled_release(release_nb: Path, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The release notebook with some solution cells answered, as a student would hand it in."""
    return with_solutions(release_nb, answers)


SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def reference_answers(source_nb: Path, markers: bool = True) -> dict[str, str]:
    """grade id -> the source's solution; `markers=False` drops the instructor's `### BEGIN/END SOLUTION`
    lines, which a student's notebook (filled in from the release) never has."""
    answers = {grade_id(c): c.source for c in read_notebook(source_nb).cells if is_solution(c)}
    if not markers:
        answers = {cell: "\n".join(line for line in code.splitlines() if line.strip() not in SOLUTION_MARKERS)
                   for cell, code in answers.items()}
    return answers


def demo_hand_ins(course: Course, assignment: str) -> dict[str, tuple[str, nbformat.NotebookNode]]:
    """The demo's three hand-ins: student -> (description, notebook)."""
    source = course.source_notebook(assignment)
    release = course.root / "release" / assignment / source.name
    reference = reference_answers(source, markers=False)
    wrong = next((v for v in discover(course.variants_dir, [assignment])
                  if v.kind == "wrong" and v.name == DEMO_WRONG), None)
    if wrong is None:
        raise SystemExit(f"variants/{assignment}/wrong/{DEMO_WRONG}.py is missing: the demo's wrong submission.")
    students = {
        "reference": ("the reference solution", reference),
        "untouched": ("the release, not filled in", {}),
        "plausible_wrong": (f"wrong: {wrong.description}", {**reference, **wrong.cells}),
    }
    return {s: (d, filled_release(release, answers)) for s, (d, answers) in students.items()}


def make_submissions(course: Course, assignment: str) -> dict[str, str]:
    """The demo's three hand-ins copied straight into submitted/ (for grading without an exchange; such
    hand-ins have no submission secret, so `nbgrader release_feedback` cannot hand their feedback back);
    returns student -> description."""
    students = {}
    for student, (description, notebook) in demo_hand_ins(course, assignment).items():
        folder = course.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(folder / course.source_notebook(assignment).name))
        (folder / "timestamp.txt").write_text("2026-11-25 12:00:00.000000 UTC")
        students[student] = description
    return students


def cell_scores(course: Course, assignment: str, student: str) -> dict[str, float]:
    """Hidden-cell scores as the gradebook holds them."""
    from nbgrader.api import Gradebook

    notebook = course.source_notebook(assignment).stem
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(notebook, assignment, student)
        return {g.name: g.score for g in submission.grades}


def run_demo(course: Course, assignment: str = "ps1_learning_rates",
             extra_hand_ins: dict[str, nbformat.NotebookNode | str] | None = None) -> int:
    """The whole pipeline on `assignment`; `extra_hand_ins` (student -> notebook, or a str of raw
    bytes) are handed in beside the demo's three, graded with them and left out of the score table."""
    start = time.monotonic()
    nbgrader(course, "generate_assignment", assignment, "--force")
    exchange_root(course).mkdir(parents=True, exist_ok=True)
    nbgrader(course, "release_assignment", assignment, "--force", *instructor_exchange_args(course))
    hand_ins = demo_hand_ins(course, assignment)
    for student, notebook in [*((s, nb) for s, (_, nb) in hand_ins.items()), *(extra_hand_ins or {}).items()]:
        hand_in(course, assignment, student, notebook)
    # --update: a newer hand-in replaces the one collected before (a second `make demo`). The demo's
    # students are all this one system user, which nbgrader's owner check would call cheating.
    nbgrader(course, "collect", assignment, "--update", "--ExchangeCollect.check_owner=False",
             *instructor_exchange_args(course))
    students = {s: d for s, (d, _) in hand_ins.items()}
    nbgrader(course, "autograde", assignment, "--create", "--force")
    nbgrader(course, "generate_feedback", assignment, "--force")   # the report goes into each page (handback.py)
    nbgrader(course, "export")
    from nnkit.report.build import write_reports

    reports = write_reports(course, [assignment])
    nbgrader(course, "release_feedback", assignment, *instructor_exchange_args(course))
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
    print(f"\nFeedback: feedback/<student>/{assignment}/*.html, released to {exchange_root(course)}   "
          f"Export: grades.csv   ({time.monotonic() - start:.0f} s)")
    home = student_home(course, "reference")
    print(f"A student fetches theirs (the report at the top of the notebook's page):\n"
          f"  cd {home} && nbgrader fetch_feedback {assignment} {' '.join(student_exchange_args(course, 'reference'))}\n"
          f"  -> {home / assignment / 'feedback'}/<timestamp>/{course.source_notebook(assignment).stem}.html")
    print(f"Dashboard: {reports.dashboards[0]}   Course: {reports.course}   LMS export: {reports.csv}")
    return 0
