"""CSV for the learning-management system: one row per student, one column per graded part.

Columns (documented in the README, "Feedback, dashboard and LMS export"):

    student_id, first_name, last_name, email
    then for each assignment A, in course order:
      A:<part>          points for that part (hidden-grader cell or written question); empty when a
                        written answer is not graded yet, 0 when nothing was handed in
      A:late_penalty    points taken off for lateness (nbgrader's late-submission policy)
      A:total           sum of the parts minus the late penalty, never below 0
      A:status          graded | not submitted | unreadable | wrong assignment | crashed | timed out | not graded
    course_total        sum of the assignment totals

Also an nbgrader export plugin: ``nbgrader export --exporter nnkit.report.export.LmsCsvExport``.
"""
from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.plugins import ExportPlugin

from nnkit.grading.course import Course
from nnkit.report.collect import AssignmentResults, collect


def lms_columns(results: list[AssignmentResults]) -> list[str]:
    columns = ["student_id", "first_name", "last_name", "email"]
    for a in results:
        columns += [f"{a.assignment}:{p.cell}" for p in a.parts]
        columns += [f"{a.assignment}:late_penalty", f"{a.assignment}:total", f"{a.assignment}:status"]
    return columns + ["course_total"]


def lms_rows(results: list[AssignmentResults], names: dict[str, tuple[str, str, str]] | None = None) -> list[dict]:
    names = names or {}
    students = sorted({s.student for a in results for s in a.students})
    rows = []
    for student in students:
        first, last, email = names.get(student, ("", "", ""))
        row = {"student_id": student, "first_name": first, "last_name": last, "email": email}
        total = 0.0
        for a in results:
            mine = next((s for s in a.students if s.student == student), None)
            for p in a.parts:
                got = next((r for r in mine.parts if r.part.cell == p.cell), None) if mine else None
                row[f"{a.assignment}:{p.cell}"] = "" if got is None or got.score is None else f"{got.score:g}"
            row[f"{a.assignment}:late_penalty"] = f"{mine.late_penalty:g}" if mine else "0"
            row[f"{a.assignment}:total"] = f"{mine.score:g}" if mine else "0"
            row[f"{a.assignment}:status"] = mine.status.value if mine else "not submitted"
            total += mine.score if mine else 0.0
        row["course_total"] = f"{total:g}"
        rows.append(row)
    return rows


def write_lms_csv(path: Path, results: list[AssignmentResults], names=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=lms_columns(results))
        writer.writeheader()
        writer.writerows(lms_rows(results, names))
    return path


def student_names(gradebook) -> dict[str, tuple[str, str, str]]:
    return {s.id: (s.first_name or "", s.last_name or "", s.email or "") for s in gradebook.students}


class LmsCsvExport(ExportPlugin):
    """nbgrader export plugin writing the LMS CSV (default file: lms_grades.csv)."""

    def export(self, gradebook) -> None:
        coursedir = self.parent.coursedir
        course = Course.from_nbgrader(root=coursedir.root)
        names = [a.name for a in gradebook.assignments if (course.root / "source" / a.name).is_dir()]
        if self.assignment:
            names = [n for n in names if n in self.assignment]
        results = [collect(course, name) for name in sorted(names)]
        write_lms_csv(Path(self.to or "lms_grades.csv"), results, student_names(gradebook))
