"""`nnkit report`: write the feedback pages, the dashboards and the LMS CSV for a course.

The feedback page of one hand-in is written here (and put into nbgrader's page by `handback`);
the class views are `nnkit.report.dashboard`'s.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from nbgrader.api import Gradebook

from nnkit.grading.course import Course, CourseProblem
from nnkit.grading.notebook import is_solution, read_notebook
from nnkit.grading.status import Status
from nnkit.report import similarity
from nnkit.report.embed import embed
from nnkit.report.bands import load_bands
from nnkit.report.collect import StudentResult, collect
from nnkit.report.dashboard import REPORT_PAGE, feedback_path, write_course_dashboard, write_dashboard
from nnkit.report.explain import explanations
from nnkit.report.export import student_names, write_lms_csv
from nnkit.report.templating import css, environment
from nnkit.report.views import render_views

__all__ = ["REPORT_PAGE", "DASHBOARD_DIR", "ReportPaths", "feedback_path", "write_feedback", "write_reports"]
DASHBOARD_DIR = "reports"


@dataclass
class ReportPaths:
    feedback: list[Path] = field(default_factory=list)
    dashboards: list[Path] = field(default_factory=list)
    course: Path | None = None
    csv: Path | None = None


def write_feedback(course: Course, result: StudentResult, env: jinja2.Environment | None = None) -> Path:
    """feedback/<student>/<assignment>/report.html for one student, and the same report at the top
    of nbgrader's page beside it (`<notebook>.html`), the one file nbgrader's hand-back delivers."""
    env = env or environment()
    device = result.run.device if result.run.device != "?" else "cpu"
    bands = load_bands(course.root, result.assignment, device)
    failed = {p.part.cell for p in result.parts if p.failed}
    views = render_views(result.assignment, result.measurements, bands, f"{result.student}-{result.assignment}", failed)
    path = feedback_path(course, result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbgrader_page = path.parent / f"{result.notebook}.html"
    notes = [str(n) for n in (result.record.graders or {}).get("notes", [])] if result.record else []
    seeds = next((b.seeds for b in bands.values()), None)

    def render(full_page: str | None) -> str:
        return env.get_template("feedback.html.j2").render(
            r=result, css=css(), views=views, explanations=explanations(result), notes=notes,
            full_page=full_page, seeds=seeds, device="GPU" if device.startswith("cuda") else "CPU")

    path.write_text(render(nbgrader_page.name if nbgrader_page.is_file() else None))
    if nbgrader_page.is_file():
        # what `nbgrader release_feedback` hands back and `fetch_feedback` fetches (nnkit/report/handback.py, embed.py)
        pending = {p.part.cell: p.part.max_points for p in result.parts if p.score is None}
        embed(nbgrader_page, render("#notebook"), pending)
    return path


def _given_code(course: Course, assignment: str) -> str:
    """The release's solution cells as handed out (stubs, comments): not the student's own code."""
    release = course.root / "release" / assignment / course.source_notebook(assignment).name
    if not release.is_file():
        return ""
    return "\n".join(c.source for c in read_notebook(release).cells if is_solution(c) and c.cell_type == "code")


def graded_assignments(course: Course) -> list[str]:
    """Assignments of the course that the gradebook knows about, in course order."""
    db = course.root / "gradebook.db"
    if not db.is_file():
        raise CourseProblem(f"{db} does not exist: run `nbgrader autograde <assignment>` before `nnkit report`.")
    with Gradebook(f"sqlite:///{db}") as gb:
        known = {a.name for a in gb.assignments}
    return [a for a in course.assignments() if a in known]


def write_reports(course: Course, assignments: list[str] | None = None, out: Path | None = None,
                  students: list[str] | None = None) -> ReportPaths:
    """Feedback pages for every hand-in (only `students`' when given), a dashboard per assignment,
    the course dashboard and the LMS CSV. The class views are always rebuilt whole: one student's
    regrade moves the class's statistics."""
    env = environment()
    out = out or course.root / DASHBOARD_DIR
    paths = ReportPaths()
    all_results, summaries = [], []
    for assignment in assignments or graded_assignments(course):
        results = collect(course, assignment)
        if students:
            _check_students(course, results, students)
        for result in results.students:
            if result.status is not Status.NOT_SUBMITTED and (not students or result.student in students):
                paths.feedback.append(write_feedback(course, result, env))
        handed_in = {s.student: s.solution_code for s in results.students if s.status is not Status.NOT_SUBMITTED}
        pairs = similarity.similar_pairs(handed_in, _given_code(course, assignment))
        path, summary = write_dashboard(course, results, pairs, out, env)
        paths.dashboards.append(path)
        all_results.append(results)
        summaries.append(summary)
    paths.course = write_course_dashboard(course, all_results, summaries, out, env)
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        names = student_names(gb)
    paths.csv = write_lms_csv(out / "lms_grades.csv", all_results, names)
    return paths


def _check_students(course: Course, results, students: list[str]) -> None:
    known = {s.student for s in results.students}
    unknown = sorted(set(students) - known)
    if unknown:
        raise CourseProblem(f"no student {', '.join(unknown)} in {course.root / 'gradebook.db'} "
                            f"(it has: {', '.join(sorted(known)) or 'none'}); check the id, or autograde first.")
