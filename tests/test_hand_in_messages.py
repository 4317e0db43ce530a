"""Issue 21, part 4: a hand-in that as a whole cannot be graded gets one message, not one per cell.

Through `nbgrader autograde` and `generate_feedback`, in a copy of the course: ps2's notebook handed in
as ps1's (`wrong_assignment`) and a truncated file (`truncated`). For each, the blank release stands in
(`nnkit.grading.intake`), no grader runs on it, the note at the top says once what happened, and every
hidden cell says only "Not graded: see the grading note..." (before, each cell listed its own failures of
the stand-in: "does not define `Model`" and the like). The record and the export's status column say
"wrong assignment" and "unreadable".
"""
from __future__ import annotations

import csv

import pytest

from conftest import COURSE, ROOT, course_copy
from nnkit.demo import cell_scores, nbgrader
from nnkit.grading.intake import HAND_IN_NOT_GRADED, intake_note
from nnkit.grading.notebook import grade_id, hidden_grader_cells, read_notebook
from nnkit.grading.results import cell_points
from nnkit.grading.status import Status, read_record
from nnkit.report.explain import STATUS_EXPLANATIONS

ASSIGNMENT, NOTEBOOK = "ps1_learning_rates", "learning_rates.ipynb"
OTHER = "ps2_regularization"


def test_every_status_but_graded_is_explained_to_the_student():
    assert {s for s in Status if s is not Status.GRADED} <= set(STATUS_EXPLANATIONS)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("hand-in-messages"))
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    hand_ins = {"wrong_assignment": (ROOT / "release" / OTHER / COURSE.source_notebook(OTHER).name).read_bytes(),
                "truncated": (ROOT / "release" / ASSIGNMENT / NOTEBOOK).read_bytes()[:2000]}
    for student, content in hand_ins.items():
        folder = course.root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(content)
    log = nbgrader(course, "autograde", ASSIGNMENT, "--create", "--force")
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    nbgrader(course, "export")
    return course, log


@pytest.mark.parametrize("student,status,says", [
    ("wrong_assignment", Status.WRONG_ASSIGNMENT, f"looks like the {OTHER} notebook, not the {ASSIGNMENT} one"),
    ("truncated", Status.UNREADABLE, "is not a valid notebook (invalid JSON at line"),
])
def test_one_message_for_the_hand_in_and_a_pointer_in_each_cell(graded, student, status, says):
    course, log = graded
    autograded = course.root / "autograded" / student / ASSIGNMENT
    nb = read_notebook(autograded / NOTEBOOK)
    note = intake_note(nb)
    assert note is not None and note.status is status and says in note.message, note
    assert f"{student}/{ASSIGNMENT}: {status.value}; no grader was run" in log
    assert f"Hidden graders for {student}/" not in log
    cells = hidden_grader_cells(nb)
    assert cells
    for cell in cells:
        assert [(o.output_type, o.get("traceback")) for o in cell.outputs] == [("error", [HAND_IN_NOT_GRADED])], \
            (grade_id(cell), cell.outputs)
    points = cell_points(read_notebook(course.source_notebook(ASSIGNMENT)))
    assert {c: s for c, s in cell_scores(course, ASSIGNMENT, student).items() if c in points} == \
        {c: 0 for c in points}
    record = read_record(autograded)
    assert record.status is status and record.graders["seconds"] == 0   # no grader ran on the stand-in

    page = (course.root / "feedback" / student / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert page.count(HAND_IN_NOT_GRADED) == len(cells)
    assert "does not define" not in page and "NotImplementedError" not in page.split(HAND_IN_NOT_GRADED)[-1]
    assert says in page and page.count(note.message.split(".")[0]) <= 2   # the note, and the report's copy of it

    with open(course.root / "grades.csv") as handle:
        row = next(r for r in csv.DictReader(handle) if r["student_id"] == student and r["assignment"] == ASSIGNMENT)
    assert row["status"] == status.value



def test_a_grader_run_that_stops_as_a_whole_says_so_once(tmp_path):
    """The whole grader run past its limit: one note says why, and each cell only points to it."""
    from nnkit.grading.runner import WHOLE_RUN_FAILED, run_graders
    run = run_graders(COURSE, ASSIGNMENT, ROOT / "solutions" / f"{ASSIGNMENT}.ipynb", timeout=0.5, sandbox=False)
    assert run.status is Status.TIMED_OUT
    assert len(run.notes) == 1 and "Timed out: grading stopped after 0.5 s" in run.notes[0]
    assert run.cells and all(c.messages == [WHOLE_RUN_FAILED] and not c.ok for c in run.cells.values())
