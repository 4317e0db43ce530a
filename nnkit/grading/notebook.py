"""Build the code that hidden graders import: trusted cells plus the student's answers.

A source notebook marks the code cells that define the graded names (imports,
given helpers, solution cells) with the cell tag ``module``. The graded module is
those cells, in source order, where

* a given (non-solution) cell always comes from the *source* notebook, so a
  student cannot redefine a helper the graders rely on, and
* a solution cell comes from the *submission*, matched by its nbgrader
  ``grade_id``. A cell the student deleted or whose metadata was lost is
  replaced by a comment, so the graders report the missing names.

Experiment cells (sweeps, plots) carry no tag and never run during grading. Of
the cells the student wrote or changed outside the solution cells, only the
top-level ``import``/``from ... import`` statements are taken: a solution may
legitimately use ``np`` that the student imported in a cell of their own, and
import statements run no experiments. They come before the solution cells,
after the given ones (which keep the last word on a name they define).
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat

MODULE_TAG = "module"


class NotebookProblem(Exception):
    """A notebook cannot be read or is not what the kit expects; the message names the file."""


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    path = Path(path)
    if not path.is_file():
        raise NotebookProblem(f"{path}: no such notebook. Check the file name and that it was submitted.")
    try:
        return nbformat.read(str(path), as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError, UnicodeDecodeError) as error:
        raise NotebookProblem(
            f"{path}: not a valid notebook (invalid JSON: {error}). Re-download the "
            "release notebook and copy your answers into it.") from error
    except Exception as error:  # nbformat raises several unrelated types for damaged files
        raise NotebookProblem(f"{path}: could not be read as a notebook ({type(error).__name__}: {error}).") from error


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def module_cells(source_nb) -> list:
    return [c for c in source_nb.cells
            if c.cell_type == "code" and MODULE_TAG in c.get("metadata", {}).get("tags", [])]


def hidden_grader_cells(nb) -> list:
    """Grade cells whose score comes from the hidden pytest graders."""
    return [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")
            and "hidden-grader" in c.get("metadata", {}).get("tags", [])]


def student_solutions(submission_nb) -> dict[str, str]:
    """Map grade_id -> source for the submission's solution cells (first copy wins)."""
    found: dict[str, str] = {}
    for cell in submission_nb.cells:
        gid = grade_id(cell)
        if cell.cell_type == "code" and is_solution(cell) and gid and gid not in found:
            found[gid] = cell.source
    return found


def _strip_magics(source: str) -> str:
    # IPython magics and shell escapes are not Python; they never define graded names.
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def student_imports(source_nb, submission_nb) -> list[str]:
    """Top-level import statements of the submission's own code cells: every code cell
    that is not a solution cell and not a given cell of the source (matched by grade_id
    or by identical text). Cells that are not valid Python contribute nothing."""
    given = {c.source for c in source_nb.cells if c.cell_type == "code"}
    given_ids = {grade_id(c) for c in source_nb.cells if grade_id(c) and not is_solution(c)}
    found: list[str] = []
    for cell in submission_nb.cells:
        if cell.cell_type != "code" or is_solution(cell) or grade_id(cell) in given_ids or cell.source in given:
            continue
        try:
            tree = ast.parse(_strip_magics(cell.source))
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not (
                    isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                statement = ast.unparse(node)
                if statement not in found:
                    found.append(statement)
    return found


def assemble_module_source(source_nb, submission_nb, replacements: dict[str, str] | None = None) -> str:
    """The Python source of the graded module (see the module docstring).

    `replacements` maps grade_id -> code and takes precedence over the
    submission; the mutant bank uses it to graft variants onto a notebook.
    """
    answers = student_solutions(submission_nb)
    answers.update(replacements or {})
    imports = student_imports(source_nb, submission_nb)
    parts = []
    for cell in module_cells(source_nb):
        gid = grade_id(cell)
        if is_solution(cell) and imports:
            # One chunk per statement: a module missing at grading costs only its own names.
            parts += [f"# ---- your import `{line[:60]}` ----\n{line}\n" for line in imports]
            imports = []
        if is_solution(cell):
            code = answers.get(gid)
            if code is None:
                code = f"# The solution cell '{gid}' is missing from the submission."
            origin = f"your solution cell '{gid}'"
        else:
            code, origin = cell.source, f"given cell '{gid or '?'}'"
        parts.append(f"# ---- {origin} ----\n{_strip_magics(code)}\n")
    return "\n".join(parts)
