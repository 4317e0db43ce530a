"""Autograde intake: the hand-ins nbgrader gives up on before any kit step runs.

nbgrader 0.9.6 drops two common hand-ins without a word to the student:

* a notebook saved under another name (``learning_rates (1).ipynb``, as a browser
  names a second download) is skipped as "unknown", and
* a file that is not a readable notebook (truncated, not JSON) aborts that student.

Either way no autograded notebook exists, so ``generate_feedback`` writes nothing
and the student never learns why the score is 0. Two configured pieces fix that:

* `match_misnamed_notebooks`, the ``Autograde.pre_convert_hook``, grades a lone
  unknown notebook under the expected name when that name is missing;
* `IntakeExporter`, the ``Autograde.exporter_class``, reads it, and stands the
  blank release notebook in for a file that cannot be read.

`IntakeExporter` also stands the blank release in for another assignment's notebook
handed in under this one's name (the ps2 notebook as ps1's): grading it would only say
"does not define `Model`" in every cell, instead of what happened.

Each puts a note at the top of the notebook, so it reaches the feedback, and records
it for the export's ``status`` column ("unreadable" for a file that could not be read,
"wrong assignment" for another assignment's notebook). Where the blank release stands in,
that note is the one message for the whole hand-in: `RunHiddenGraders` runs no grader on
the stand-in, and each hidden cell only points to the note (`HAND_IN_NOT_GRADED`).
"""
from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbconvert.exporters.exporter import ResourcesDict

from nnkit.grading.course import Course, CourseProblem
from nnkit.grading.notebook import NotebookProblem, check_notebook_is, read_notebook
from nnkit.grading.status import Status

NOTE_TAG = "nnkit-intake-note"
# What each hidden cell of a stand-in says: the note at the top says why, once for the hand-in.
HAND_IN_NOT_GRADED = "Not graded: see the grading note at the top of this notebook."


@dataclass
class IntakeNote:
    status: Status  # GRADED (the hand-in was used), UNREADABLE or WRONG_ASSIGNMENT (the blank release stood in)
    message: str   # Markdown for the student, shown first in the feedback


NOTE_KEY = "nnkit_intake"   # the note cell's metadata: {"status": ..., "message": ...} (`intake_note`)
# expected notebook path (absent) -> the misnamed file handed in instead. Module state, because
# nbgrader calls its pre-convert hook with file names only, no `resources`; it is read by the
# exporter of the same nbgrader process for the same hand-in.
ALIASES: dict[str, str] = {}

_COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|[-_ ]copy\d*|^copy of )", re.I)


def _plain_name(stem: str) -> str:
    return _COPY_SUFFIX.sub("", stem).strip().lower()


def match_misnamed_notebooks(assignment: str, student: str, notebooks: list[str]) -> None:
    """Map unknown notebook names onto the assignment's missing ones, in place.

    A name matches when it is the expected one up to case and copy suffixes
    (" (1)", "-Copy1", "Copy of "); failing that, a lone unknown notebook stands for
    a lone missing one. Anything ambiguous is left to nbgrader, which skips it.
    """
    if not notebooks:
        return
    folder = Path(notebooks[0]).parent
    source = Path.cwd() / "source" / folder.name  # nbgrader converts from the course root
    expected = sorted(p.stem for p in source.glob("*.ipynb"))
    present = {Path(n).stem for n in notebooks}
    missing = [name for name in expected if name not in present]
    unknown = [n for n in notebooks if Path(n).stem not in expected]
    pairs = {}
    for name in missing:
        alike = [n for n in unknown if _plain_name(Path(n).stem) == name.lower()]
        if len(alike) == 1:
            pairs[name] = alike[0]
    if not pairs and len(missing) == 1 and len(unknown) == 1:
        pairs[missing[0]] = unknown[0]
    for name, handed_in in pairs.items():
        target = str(folder / f"{name}.ipynb")
        ALIASES[target] = handed_in
        notebooks[notebooks.index(handed_in)] = target


def _note_cell(note: IntakeNote) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(f"<div class=\"alert alert-danger\">\n\n**Grading note.** {note.message}\n\n</div>")
    cell.metadata["tags"] = [NOTE_TAG]
    cell.metadata[NOTE_KEY] = {"status": note.status.value, "message": note.message}
    return cell


def _is_note(cell) -> bool:
    return NOTE_TAG in (cell.get("metadata", {}).get("tags") or []) or NOTE_KEY in cell.get("metadata", {})


def intake_note(nb) -> IntakeNote | None:
    """The note `IntakeExporter` put first in `nb` when it read the hand-in (nbgrader's autograde
    pass reads the notebook that pass wrote: the note travels in the notebook, not in this process).
    A note the student wrote into their own notebook never gets here: the exporter removes it."""
    first = nb.cells[0] if nb.cells else None
    meta = first.get("metadata", {}).get(NOTE_KEY) if first is not None else None
    if not isinstance(meta, dict):
        return None
    try:
        return IntakeNote(Status(meta.get("status")), str(meta.get("message", ""))[:2000])
    except ValueError:
        return None


class IntakeExporter(NotebookExporter):
    """nbgrader's notebook exporter, forgiving about what a student hands in.

    Only the sanitize pass reads the student's file; the autograde pass reads
    nbgrader's own copy and goes through unchanged.
    """

    def from_filename(self, filename, resources=None, **kw):
        converter = self.parent
        info = (resources or {}).get("nbgrader")
        if info is None or not getattr(converter, "_sanitizing", False):
            return super().from_filename(filename, resources=resources, **kw)
        handed_in = ALIASES.get(str(filename), str(filename))
        expected, assignment = Path(filename).name, info["assignment"]
        release = Path(converter.coursedir.format_path(converter.coursedir.release_directory, ".",
                                                       assignment)) / expected
        try:
            nb = read_notebook(handed_in)
            check_notebook_is(nb, handed_in, assignment, _source_notebooks(converter.coursedir.root, assignment))
            note = None
            if handed_in != str(filename):
                note = IntakeNote(Status.GRADED, f"You handed in `{Path(handed_in).name}`, but the file name this "
                                            f"assignment expects is `{expected}`. It was graded as `{expected}` "
                                            "this time; keep the release's file name when you hand in.")
        except NotebookProblem as problem:
            converter.log.warning("%s: %s; the blank release notebook stands in for it, ungraded",
                                  info["student"], problem)
            nb = read_notebook(release)
            note = _stand_in_note(problem, Path(handed_in).name, assignment)
        nb.cells = [cell for cell in nb.cells if not _is_note(cell)]   # only the kit writes a note
        if note:
            nb.cells.insert(0, _note_cell(note))
        resources = resources if resources is not None else ResourcesDict()
        metadata = resources.setdefault("metadata", ResourcesDict())
        metadata["name"], metadata["path"] = Path(filename).stem, str(Path(filename).parent)
        when = os.path.getmtime(handed_in) if os.path.exists(handed_in) else 0
        metadata["modified_date"] = datetime.datetime.fromtimestamp(when, tz=datetime.timezone.utc).strftime("%B %d, %Y")
        return self.from_notebook_node(nb, resources=resources, **kw)


def _stand_in_note(problem: NotebookProblem, name: str, assignment: str) -> IntakeNote:
    """The one message for a hand-in the blank release stands in for: what was wrong, and what to do."""
    if problem.kind == "other-assignment":
        return IntakeNote(Status.WRONG_ASSIGNMENT,
                          f"Your `{name}` looks like the {problem.looks_like} notebook, not the {assignment} one, "
                          f"so nothing you wrote was graded: the blank {assignment} release notebook stands in "
                          f"for it, and its parts score 0. Hand in your {assignment} notebook, and tell your TA.")
    what = problem.reason if problem.reason.startswith("is ") else f"could not be opened ({problem.reason})"
    return IntakeNote(Status.UNREADABLE,
                      f"Your `{name}` {what}, so it could not be read as a notebook. Nothing you "
                      "wrote was graded: the blank release notebook stands in for it, and its parts score 0. Open "
                      "your file in Jupyter to check it saves, then hand it in again, and tell your TA.")


def _source_notebooks(course_root: str, assignment: str) -> dict:
    """assignment -> its source notebook, for every assignment of the course that has a readable one
    (another assignment's broken folder must not stop this hand-in; `check_notebook_is` compares them)."""
    course, sources = Course(Path(course_root).resolve()), {}
    for name in {assignment, *course.assignments()}:
        try:
            sources[name] = read_notebook(course.source_notebook(name))
        except (CourseProblem, NotebookProblem):
            continue
    return sources
