"""What a hidden test's outcome says, and to whom: the student reads a plain message, never the
grader's source (`student_message`); staff read a grader's own exception with its file and line
(`grader_error`). The checker's pytest plugin (`nnkit.grading.pytest_plugin`) writes both into
its report, one `report_entry` per test.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from nnkit.grading.failure import GraderFailure


def report_entry(item) -> dict:
    """A test's entry in the checker's report, before its outcome is known."""
    marker = item.get_closest_marker("grade_cell")
    return {"nodeid": item.nodeid, "function": item.originalname or item.name, "file": Path(str(item.path)).name,
            "cell": marker.args[0] if marker else None, "outcome": "passed", "message": ""}


GRADER_ERROR_MESSAGE = ("This part could not be checked: the graders themselves failed here, not your code. "
                        "Your instructor has been told and will look at it.")


def student_message(item, excinfo) -> str:
    """What the student reads about a failed test: a failed check's own words, else a plain sentence."""
    error = excinfo.value
    if isinstance(error, GraderFailure):   # a failed check (`expect`, `StudentRaised`): its message is for the student
        return str(error)
    if excinfo.typename == "Failed" and "Timeout" in str(error):
        return "Timed out: your code took too long (an endless loop, or far too slow)."
    if is_grader_error(excinfo):
        return GRADER_ERROR_MESSAGE
    # A bare assert in a grader: a verdict on what the student's code returned, worded in grader source.
    return (f"The hidden check `{item.originalname or item.name}` failed on what your code returned; "
            "the visible checks and the exercise text say what is expected.")


def is_grader_error(excinfo) -> bool:
    """The grader raised on its own account: not a failed check (`GraderFailure`, a bare assert,
    `pytest.fail`), not the student's code (which arrives as `StudentRaised`, a `GraderFailure`)."""
    return not isinstance(excinfo.value, (AssertionError, pytest.fail.Exception, pytest.skip.Exception))


def grader_error(item, excinfo, grader_dir: Path | None) -> dict:
    """For staff: the grader's own exception, and the grader's file and line where it surfaced
    (the innermost frame under `grader_dir`, else the innermost frame of all)."""
    entries = list(excinfo.traceback)
    inside = [e for e in entries if grader_dir is not None and grader_dir in Path(str(e.path)).resolve().parents]
    where = (inside or entries or [None])[-1]
    return {"type": excinfo.typename, "message": str(excinfo.value)[:2000],
            "file": str(where.path) if where else "?", "line": (where.lineno + 1) if where else 0,
            "trace": [f"{Path(str(e.path)).name}:{e.lineno + 1} in {e.name}" for e in entries[-8:]]}
