"""Gradebook steps around nbgrader's SaveAutoGrades: reset what a student could
have touched (on request), and export each submission's grading status beside its score."""
from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from nnkit.grading.notebook import grade_id, nbgrader_meta
from nnkit.grading.status import Status, read_status



class ResetAutogradedOverrides(NbGraderPreprocessor):
    """On request only: clear manual scores and extra credit on autograded code cells.

    A TA's manual score on an autograded cell (formgrader's override) is kept by default when the
    notebook is autograded again (`nbgrader autograde --force`, `nnkit batch --force`): nbgrader's
    own `SaveAutoGrades` keeps it and marks the cell "needs manual grade" so that the TA looks again
    at the new automatic score. `--ResetAutogradedOverrides.enabled=True` on an autograde run (or
    `c.ResetAutogradedOverrides.enabled = True`) re-scores those cells from scratch instead: for a
    regrade after a grader fix, or a gradebook a student's code could once write to (plain nbgrader
    runs student code as the instructor; the kit's sandbox hides the gradebook). Hand grades of the
    written questions (markdown cells) are never touched.
    """

    enabled = Bool(False, help="Clear TAs' manual scores and extra credit on autograded cells at this "
                               "autograde (default: keep them)").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        autograded = {grade_id(c) for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")}
        with Gradebook(info["db_url"]) as gb:
            try:
                submission = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            except MissingEntry:
                return nb, resources
            for grade in submission.grades:
                if grade.name in autograded and (grade.manual_score is not None or grade.extra_credit):
                    self.log.warning("Resetting manual score/extra credit of %s for %s", grade.name, info["student"])
                    grade.manual_score, grade.extra_credit = None, None
                    grade.needs_manual_grade = grade.auto_score is None
            gb.db.commit()
        return nb, resources


class StatusCsvExport(CsvExportPlugin):
    """nbgrader's CSV export plus a `status` column.

    `status` tells apart "not submitted", "unreadable" (the file was not a
    notebook), "wrong assignment" (another assignment's notebook), "crashed" (the kernel or a grading probe died) and "timed out"
    from a real, "graded" score.
    """

    def export(self, gradebook: Gradebook) -> None:
        import csv

        super().export(gradebook)
        path = Path(self.to or "grades.csv")
        with open(path) as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            return
        coursedir = self.parent.coursedir
        for row in rows:
            try:
                gradebook.find_submission(row["assignment"], row["student_id"])
            except MissingEntry:
                row["status"] = Status.NOT_SUBMITTED.value
                continue
            folder = Path(coursedir.format_path(coursedir.autograded_directory, row["student_id"], row["assignment"]))
            row["status"] = read_status(folder).value
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0].keys()))
            writer.writeheader()
            writer.writerows(rows)
