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
from pathlib import Path

import nbformat

MODULE_TAG = "module"


class NotebookProblem(Exception):
    """A notebook cannot be read or is not what the kit expects; the message names the file.

    `reason` says what is wrong with the file at `path`, for any reader; the message adds
    what to do (for the student, as the feedback shows it). `kind` is one of
    "missing", "empty", "not-json", "not-notebook", "unreadable" and "other-assignment",
    so that a staff-facing command can give its own advice (`nnkit grade`); for
    "other-assignment", `looks_like` is the assignment the notebook seems to belong to."""

    def __init__(self, message: str, *, path: str | Path | None = None, reason: str = "", kind: str = "",
                 looks_like: str | None = None):
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.reason, self.kind, self.looks_like = reason or message, kind, looks_like


def _problem(path: Path, kind: str, reason: str, advice: str = "") -> NotebookProblem:
    return NotebookProblem(f"{path}: {reason}." + (f" {advice}" if advice else ""), path=path, reason=reason, kind=kind)


_REDOWNLOAD = "Re-download the release notebook and copy your answers into it."


def _not_a_notebook(text: str, error: Exception) -> str:
    """Why JSON that nbformat refused is not a notebook, in a few words."""
    data = json.loads(text)
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false"}.get(
            type(data), "null")
        return f"is JSON but not a Jupyter notebook (its top level is {kind}, not an object)"
    missing = [key for key in ("nbformat", "cells") if key not in data]
    if missing:
        return f"is JSON but not a Jupyter notebook (no {' or '.join(repr(k) for k in missing)} key)"
    detail = str(getattr(error, "message", None) or error).strip().splitlines()[0][:200]
    return f"is JSON but not a valid Jupyter notebook (nbformat: {detail})"


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """The notebook at `path` (nbformat 4), or a `NotebookProblem` that names the file and
    says what is wrong: missing, empty, invalid JSON (with its line and column), JSON that
    is not a notebook, or not readable at all."""
    path = Path(path)
    if not path.is_file():
        raise _problem(path, "missing", "no such notebook", "Check the file name and that it was submitted.")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise _problem(path, "unreadable", f"could not be read ({error.strerror or error})") from error
    if not raw:
        raise _problem(path, "empty", "is empty (0 bytes)", _REDOWNLOAD)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _problem(path, "not-json", f"is not a valid notebook (invalid JSON: not UTF-8 text, at byte {error.start})",
                       _REDOWNLOAD) from error
    try:
        return nbformat.reads(text, as_version=4)
    except nbformat.reader.NotJSONError as error:
        cause = error.__cause__
        where = (f" at line {cause.lineno}, column {cause.colno}: {cause.msg}"
                 if isinstance(cause, json.JSONDecodeError) else "")
        raise _problem(path, "not-json", f"is not a valid notebook (invalid JSON{where})", _REDOWNLOAD) from error
    except Exception as error:  # nbformat raises several unrelated types for JSON that is no notebook
        try:
            reason = _not_a_notebook(text, error)
        except Exception:  # noqa: BLE001 - the diagnosis must not hide the first error
            reason = f"could not be read as a notebook ({type(error).__name__}: {error})"
        raise _problem(path, "not-notebook", reason, _REDOWNLOAD) from error


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def grade_ids(nb) -> set[str]:
    """The nbgrader cell ids (``grade_id``) of a notebook's cells."""
    return {gid for gid in map(grade_id, nb.cells) if gid}


def check_notebook_is(nb, path: str | Path, assignment: str, sources: dict) -> None:
    """Raise a `NotebookProblem` (kind "other-assignment") when `nb` looks like the notebook
    of another assignment: it shares more nbgrader cell ids with another source notebook
    than with `sources[assignment]`. `sources` maps assignment -> source notebook.

    A notebook that shares no cell id with any source (its metadata lost) passes: the
    graders then report each missing solution cell."""
    ids = grade_ids(nb)
    shared = {name: len(ids & grade_ids(source)) for name, source in sources.items()}
    mine = shared.get(assignment, 0)
    other = max((name for name in shared if name != assignment), key=lambda name: shared[name], default=None)
    if other is None or shared[other] <= mine:
        return
    path = Path(path)
    reason = (f"this looks like the {other} notebook, not {assignment} (it has {shared[other]} of the "
              f"{len(grade_ids(sources[other]))} nbgrader cell ids of {other}, {mine} of the "
              f"{len(grade_ids(sources[assignment])) if assignment in sources else '?'} of {assignment})")
    problem = _problem(path, "other-assignment", reason, f"Hand in your {assignment} notebook.")
    problem.looks_like = other
    raise problem


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


def with_solutions(notebook: Path, answers: dict[str, str], *, strict: bool = False):
    """The notebook at `notebook` with the solution cells named in `answers` (grade id -> source)
    replaced: a student's hand-in made from the release, or a variant of the bank made from the
    source. `strict`: a name that is no solution cell of the notebook is an error."""
    nb = read_notebook(notebook)
    known = {grade_id(c) for c in nb.cells if is_solution(c)}
    unknown = set(answers) - known
    if strict and unknown:
        raise ValueError(f"{notebook}: no solution cell named {', '.join(sorted(unknown))}")
    for cell in nb.cells:
        if is_solution(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb
