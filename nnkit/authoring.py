"""Cell builders for writing a kit notebook from Python with the right nbgrader metadata.

The kit's conventions, which the graders and nbgrader rely on:

* `given(..., module=True)`: read-only code the graders import (nbgrader restores it
  from the source, so students cannot change what graders see);
* `solution(...)`: a student answer with `### BEGIN SOLUTION` / `### END SOLUTION`;
  tagged `module` so the hidden graders import it;
* `hidden(grade_id, points, what)`: an autograded cell whose score comes from
  `grader_tests/<assignment>/`; it holds no test code, so nothing can leak;
* `question(grade_id, points, text, mark_scheme)`: a manually graded task whose
  mark scheme nbgrader strips from the release (and the kit from feedback),
  followed by an `answer()` cell for the student;
* `check(...)`: a quick visible sanity check, a 0-point test cell: `nbgrader validate`
  reports it, and a student who tampers with it gains nothing.
"""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def _meta(grade_id, *, grade=False, solution=False, locked=False, task=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = points
    return meta


def _tags(module: bool, *extra: str) -> list[str]:
    return (["module"] if module else []) + list(extra)


def md(text: str):
    return new_markdown_cell(text.strip())


def code(source: str):
    """An ordinary, editable code cell (experiments, plots)."""
    return new_code_cell(source.strip())


def given(source: str, grade_id: str, module: bool = True):
    cell = new_code_cell(source.strip())
    cell.metadata = {"nbgrader": _meta(grade_id, locked=True), "tags": _tags(module), "editable": False, "deletable": False}
    return cell


def solution(source: str, grade_id: str, module: bool = True):
    cell = new_code_cell(source.strip())
    cell.metadata = {"nbgrader": _meta(grade_id, solution=True), "tags": _tags(module)}
    return cell


def check(source: str, grade_id: str):
    cell = new_code_cell(source.strip())
    cell.metadata = {"nbgrader": _meta(grade_id, grade=True, locked=True, points=0), "tags": ["visible-check"],
                     "editable": False, "deletable": False}
    return cell


def hidden(grade_id: str, points: float, what: str):
    cell = new_code_cell(f"# Hidden tests ({points:g} points): {what}\n"
                         "# They run outside this notebook when your work is graded; "
                         "their verdict appears here in your feedback.")
    cell.metadata = {"nbgrader": _meta(grade_id, grade=True, locked=True, points=points),
                     "tags": ["hidden-grader"], "editable": False, "deletable": False}
    return cell


def question(grade_id: str, points: float, text: str, mark_scheme: str):
    body = (f"{text.strip()}\n\n*({points:g} points, graded by hand. Answer in the cell below.)*\n\n"
            f"=== BEGIN MARK SCHEME ===\n\n{mark_scheme.strip()}\n\n=== END MARK SCHEME ===")
    cell = new_markdown_cell(body)
    cell.metadata = {"nbgrader": _meta(grade_id, task=True, locked=True, points=points),
                     "editable": False, "deletable": False}
    return cell


def answer(hint: str = "*Write your answer here.*"):
    return new_markdown_cell(hint)


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(nb)
    return nb
