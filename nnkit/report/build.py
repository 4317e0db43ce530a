"""`nnkit report`: write the feedback pages, the dashboards and the LMS CSV for a course."""
from __future__ import annotations

import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from nbgrader.api import Gradebook

from nnkit.grading.course import Course, CourseProblem
from nnkit.grading.notebook import is_solution, read_notebook
from nnkit.grading.status import Status
from nnkit.report import handback, similarity
from nnkit.report.bands import load_bands
from nnkit.report.collect import AssignmentResults, StudentResult, collect
from nnkit.report.explain import explanations
from nnkit.report.export import student_names, write_lms_csv
from nnkit.report.plots import figure, to_svg
from nnkit.report.views import render_views

REPORT_PAGE = "report.html"
DASHBOARD_DIR = "reports"
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class ReportPaths:
    feedback: list[Path] = field(default_factory=list)
    dashboards: list[Path] = field(default_factory=list)
    course: Path | None = None
    csv: Path | None = None


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def _css() -> str:
    return (TEMPLATES / "style.css").read_text().strip()


def feedback_path(course: Course, student: str, assignment: str) -> Path:
    return course.root / "feedback" / student / assignment / REPORT_PAGE


def write_feedback(course: Course, result: StudentResult, env: jinja2.Environment | None = None) -> Path:
    """feedback/<student>/<assignment>/report.html for one student, and the same report at the top
    of nbgrader's page beside it (`<notebook>.html`), the one file nbgrader's hand-back delivers."""
    env = env or _environment()
    device = result.run.device if result.run.device != "?" else "cpu"
    bands = load_bands(course.root, result.assignment, device)
    views = render_views(result.assignment, result.measurements, bands, f"{result.student}-{result.assignment}")
    path = feedback_path(course, result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbgrader_page = path.parent / f"{result.notebook}.html"
    notes = [str(n) for n in (result.record.graders or {}).get("notes", [])] if result.record else []
    seeds = next((b.seeds for b in bands.values()), None)

    def render(full_page: str | None) -> str:
        return env.get_template("feedback.html.j2").render(
            r=result, css=_css(), views=views, explanations=explanations(result), notes=notes,
            full_page=full_page, seeds=seeds, device="GPU" if device.startswith("cuda") else "CPU")

    path.write_text(render(nbgrader_page.name if nbgrader_page.is_file() else None))
    if nbgrader_page.is_file():
        # what `nbgrader release_feedback` hands back and `fetch_feedback` fetches (nnkit/report/handback.py)
        handback.embed(nbgrader_page, render("#notebook"))
    return path


def _given_code(course: Course, assignment: str) -> str:
    """The release's solution cells as handed out (stubs, comments): not the student's own code."""
    release = course.root / "release" / assignment / course.source_notebook(assignment).name
    if not release.is_file():
        return ""
    return "\n".join(c.source for c in read_notebook(release).cells if is_solution(c) and c.cell_type == "code")


def flags(results: AssignmentResults, pairs: list[similarity.SimilarPair]) -> dict[str, list[str]]:
    """student -> the reasons a TA should look at their hand-in."""
    found: dict[str, list[str]] = {}
    for s in results.students:
        reasons = []
        if s.status in (Status.TIMED_OUT, Status.CRASHED, Status.UNREADABLE, Status.NOT_GRADED):
            reasons.append(s.status.value)
        if s.intake_note and s.status is not Status.UNREADABLE:
            reasons.append("misnamed notebook")
        if s.refusals:
            reasons.append("sandbox refusal (" + ", ".join(s.refusals) + ")")
        if s.run.limit and s.status is not Status.TIMED_OUT:
            reasons.append(f"hit a resource limit ({s.run.limit})")
        broken = sorted({str(e.get("cell")) for e in _grader_errors(s)})
        if broken:
            reasons.append(f"grader error in {', '.join(broken)} (a bug of the graders, not the student's: "
                           "fix the grader and regrade)")
        if reasons:
            found[s.student] = reasons
    for pair in pairs:
        for me, other in ((pair.first, pair.second), (pair.second, pair.first)):
            found.setdefault(me, []).append(f"code near-identical to {other}'s ({pair.similarity:.0%} similar)")
    return found


def _histogram(scores: list[float], max_score: float, salt: str) -> str:
    fig = figure(6.0, 1.6)
    ax = fig.subplots()
    bins = max(1, min(20, int(max_score) or 1))
    ax.hist(scores, bins=bins, range=(0, max_score or 1), color="#2f6f9f", edgecolor="white")
    ax.set_xlabel("total score")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return to_svg(fig, salt)


def _grader_errors(student) -> list[dict]:
    """The graders' own exceptions in this hand-in (its record; staff only, never on a feedback page)."""
    errors = ((student.record.graders or {}).get("grader_errors") if student.record else None) or []
    return [e for e in errors if isinstance(e, dict)]


def failure_rates(results: AssignmentResults) -> list[dict]:
    """Per part: students who lost its points, and, apart, those who lost them to a grader error."""
    rows = []
    handed_in = [s for s in results.students if s.status is not Status.NOT_SUBMITTED]
    for part in results.parts:
        got = [next(p for p in s.parts if p.part.cell == part.cell) for s in handed_in]
        graded = [p for p in got if p.score is not None]
        broken = sum(any(e.get("cell") == part.cell for e in _grader_errors(s)) for s in handed_in)
        rows.append({"cell": part.cell, "kind": "hidden graders" if part.kind == "hidden" else "written",
                     "failed": sum(p.failed for p in graded) - broken, "graded": len(graded),
                     "waiting": len(got) - len(graded), "grader_errors": broken})
    return rows


def write_dashboard(course: Course, results: AssignmentResults, pairs, out: Path, env=None) -> tuple[Path, dict]:
    env = env or _environment()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{results.assignment}.html"
    handed_in = [s for s in results.students if s.status is not Status.NOT_SUBMITTED]
    max_score = sum(p.max_points for p in results.parts)
    scores = [s.score for s in handed_in]
    summary = (f"Median {statistics.median(scores):g}, mean {statistics.mean(scores):.1f}, lowest {min(scores):g}, "
               f"highest {max(scores):g} of {max_score:g}." if scores else "No hand-ins yet.")
    links = {}
    for s in results.students:
        page = feedback_path(course, s.student, results.assignment)
        if page.is_file():
            links[s.student] = os.path.relpath(page, out)
    flagged = flags(results, pairs)
    slowest = sorted((s for s in handed_in if s.run.seconds is not None), key=lambda s: -s.run.seconds)[:10]
    sources = {s.run.source for s in handed_in}
    html = env.get_template("assignment.html.j2").render(
        a=results, css=_css(), students=results.students, submitted=len(handed_in),
        by_status=sorted(Counter(s.status.value for s in results.students).items()),
        histogram=_histogram(scores, max_score, f"hist-{results.assignment}"), summary=summary, max_score=max_score,
        failures=failure_rates(results), flagged=sorted(flagged.items()), links=links, slowest=slowest,
        time_source=" and ".join(sorted(f"the {x}" for x in sources)) or "nowhere (no runs recorded)",
        limited=[s.student for s in handed_in if s.run.limit], threshold=similarity.THRESHOLD,
        min_tokens=similarity.MIN_TOKENS)
    path.write_text(html)
    mean = statistics.mean(scores) if scores else None
    return path, {"name": results.assignment, "page": path.name, "submitted": len(handed_in),
                  "students": len(results.students), "mean": mean, "max_score": max_score, "flagged": len(flagged)}


def write_course_dashboard(course: Course, all_results: list[AssignmentResults], summaries: list[dict], out: Path,
                           env=None) -> Path:
    env = env or _environment()
    students = sorted({s.student for a in all_results for s in a.students})
    rows = []
    for student in students:
        cells, total = [], 0.0
        for a in all_results:
            mine = next((s for s in a.students if s.student == student), None)
            page = feedback_path(course, student, a.assignment)
            if mine is None or mine.status is Status.NOT_SUBMITTED:
                cells.append({"text": "not submitted", "link": None})
                continue
            total += mine.score
            cells.append({"text": f"{mine.score:g}" + ("" if mine.status is Status.GRADED else f" ({mine.status.value})"),
                          "link": os.path.relpath(page, out) if page.is_file() else None})
        rows.append({"student": student, "cells": cells, "total": total})
    path = out / "index.html"
    path.write_text(env.get_template("course.html.j2").render(css=_css(), course_id=course.course_id, assignments=summaries,
                                                              rows=rows))
    return path


def graded_assignments(course: Course) -> list[str]:
    """Assignments of the course that the gradebook knows about, in course order."""
    db = course.root / "gradebook.db"
    if not db.is_file():
        raise CourseProblem(f"{db} does not exist: run `nbgrader autograde <assignment>` before `nnkit report`.")
    with Gradebook(f"sqlite:///{db}") as gb:
        known = {a.name for a in gb.assignments}
    return [a for a in course.assignments() if a in known]


def write_reports(course: Course, assignments: list[str] | None = None, out: Path | None = None) -> ReportPaths:
    """Feedback pages for every hand-in, a dashboard per assignment, the course dashboard and the LMS CSV."""
    env = _environment()
    out = out or course.root / DASHBOARD_DIR
    paths = ReportPaths()
    all_results, summaries = [], []
    for assignment in assignments or graded_assignments(course):
        results = collect(course, assignment)
        for result in results.students:
            if result.status is not Status.NOT_SUBMITTED:
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
