"""Concurrent autograde processes and one gradebook: no grade lost, no duplicate row.

Several processes at once do to the gradebook what `nbgrader autograde` does for
each hand-in (create or update the student and the submission, then save every
cell's score), after `nnkit.batch.prepare_gradebook` has written the shared rows,
as `nnkit batch` does. On PostgreSQL (a real server, see postgres_server.py) and
on SQLite with the batch's busy timeout, every score must arrive and no student
or submission may be written twice.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from nnkit.batch import prepare_gradebook, with_busy_timeout
from nnkit.grading.course import Course

COURSE_ID = "nn-best-practices"
ASSIGNMENTS = ["ps_a", "ps_b"]
NOTEBOOK = "problems"
CELLS = [f"cell_{i}" for i in range(6)]
STUDENTS = [f"student_{i:02d}" for i in range(8)]
WRITERS = 4


@pytest.fixture(autouse=True)
def alembic_head_in_process(monkeypatch):
    """nbgrader runs `alembic heads` in a subprocess for every new gradebook (seconds on a
    busy machine); ask alembic in this process for the same answer."""
    import nbgrader.api
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(Path(nbgrader.api.__file__).parent / "alembic")).get_current_head()
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: head)


def expected_score(student: str, assignment: str, cell: str) -> float:
    return float(int(hashlib.sha256(f"{student}/{assignment}/{cell}".encode()).hexdigest(), 16) % 3)


def make_assignments(db_url: str) -> None:
    """Assignments as `nbgrader generate_assignment` leaves them: notebook and grade cells."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, COURSE_ID) as gb:
        for assignment in ASSIGNMENTS:
            gb.add_assignment(assignment)
            gb.add_notebook(NOTEBOOK, assignment)
            for cell in CELLS:
                gb.add_grade_cell(cell, NOTEBOOK, assignment, max_score=2, cell_type="code")


def autograde_writes(db_url: str, jobs: list[tuple[str, str]], start_at: float) -> list[str]:
    """What autograde writes for each (student, assignment), in one process; the errors it met."""
    from nbgrader.api import Gradebook

    time.sleep(max(0.0, start_at - time.time()))  # every writer starts at once
    errors = []
    for student, assignment in jobs:
        try:
            with Gradebook(db_url, COURSE_ID) as gb:       # Autograde.init_assignment
                gb.update_or_create_student(student)
                gb.update_or_create_submission(assignment, student, timestamp="2026-11-25 12:00:00 UTC")
            with Gradebook(db_url, COURSE_ID) as gb:       # SaveAutoGrades
                notebook = gb.find_submission_notebook(NOTEBOOK, assignment, student)
                for grade in notebook.grades:
                    grade.auto_score = expected_score(student, assignment, grade.name)
                gb.db.commit()
        except Exception:  # noqa: BLE001 (report every failure to the test)
            errors.append(f"{student}/{assignment}: {traceback.format_exc(limit=2)}")
    return errors


def run_writers(db_url: str) -> list[str]:
    pairs = [(s, a) for a in ASSIGNMENTS for s in STUDENTS]
    # Round robin: the same student's assignments are written by different processes at once.
    shares = [pairs[i::WRITERS] for i in range(WRITERS)]
    start_at = time.time() + 3
    with ProcessPoolExecutor(WRITERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [e for errors in pool.map(autograde_writes, [db_url] * WRITERS, shares, [start_at] * WRITERS)
                for e in errors]


def duplicates(db_url: str) -> dict[str, int]:
    """Rows written twice: students by id, submissions by (assignment, student), grades by (notebook, cell)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    queries = {
        "student": "SELECT id FROM student GROUP BY id HAVING COUNT(*) > 1",
        "submission": "SELECT assignment_id, student_id FROM submitted_assignment "
                      "GROUP BY assignment_id, student_id HAVING COUNT(*) > 1",
        "grade": "SELECT notebook_id, cell_id FROM grade GROUP BY notebook_id, cell_id HAVING COUNT(*) > 1",
    }
    with engine.connect() as connection:
        found = {name: len(connection.execute(text(q)).fetchall()) for name, q in queries.items()}
    engine.dispose()
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return with_busy_timeout(f"sqlite:///{tmp_path / 'gradebook.db'}")


def test_concurrent_autograde_writers_lose_no_grade_and_duplicate_nothing(db_url, tmp_path):
    from nbgrader.api import Gradebook

    make_assignments(db_url)
    prepare_gradebook(Course(tmp_path), db_url, COURSE_ID, ASSIGNMENTS, set(STUDENTS))
    errors = run_writers(db_url)
    assert not errors, f"{len(errors)} writes failed; first:\n{errors[0]}"
    with Gradebook(db_url, COURSE_ID) as gb:
        assert sorted(s.id for s in gb.students) == STUDENTS
        for assignment in ASSIGNMENTS:
            assert sorted(s.student.id for s in gb.find_assignment(assignment).submissions) == STUDENTS
            for student in STUDENTS:
                scores = {g.name: g.auto_score for g in gb.find_submission_notebook(NOTEBOOK, assignment, student).grades}
                assert scores == {c: expected_score(student, assignment, c) for c in CELLS}, (student, assignment)
    assert duplicates(db_url) == {"student": 0, "submission": 0, "grade": 0}


def test_prepare_gradebook_adds_only_missing_students_and_reports_submissions(db_url, tmp_path):
    from nbgrader.api import Gradebook

    make_assignments(db_url)
    with Gradebook(db_url, COURSE_ID) as gb:
        gb.add_student("already_there", first_name="Ada")
        gb.add_submission("ps_a", "already_there")
    held = prepare_gradebook(Course(tmp_path), db_url, COURSE_ID, ["ps_a", "ps_b"], {"already_there", "new"})
    assert held == {"ps_a": {"already_there"}, "ps_b": set()}
    with Gradebook(db_url, COURSE_ID) as gb:
        assert sorted(s.id for s in gb.students) == ["already_there", "new"]
        assert gb.find_student("already_there").first_name == "Ada"  # not overwritten
