"""One source of truth per assignment: `authoring/<ps>/<notebook>.py`, built into `source/<ps>/<notebook>.ipynb`.

The authoring file is a jupytext percent-format notebook: it opens in any editor (and in Jupyter
through jupytext), lints and diffs like code. Each `# %%` header carries nbgrader's cell metadata,
with nbgrader's defaults left out:

    # %% nbgrader={"grade_id": "train", "solution": true} tags=["module"]          solution, graders import it
    # %% nbgrader={"grade_id": "imports", "locked": true} tags=["module"]          given code, graders import it
    # %% nbgrader={"grade_id": "check_train", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
    # %% nbgrader={"grade_id": "hidden_train", "grade": true, "locked": true, "points": 3} tags=["hidden-grader"]
    # %% [markdown] nbgrader={"grade_id": "q_sweep", "task": true, "locked": true, "points": 3}
    # %% tags=["experiment"]                                                         not run again at grading

    nnkit author build [--assignment A] [--force]   authoring/ -> source/ (what `make sync` runs)
    nnkit author pull  [--assignment A]             source/ -> authoring/, after editing the notebook in Jupyter
    nnkit author check [--assignment A]             both in sync, and the metadata lint passes
    nnkit author release [--assignment A]           build, then nbgrader generate_assignment (`make release`)

The notebook is a pure function of the authoring file: `CellMetadata` restores nbgrader's defaults,
cell ids come from grade_ids (so a rebuild never changes them), and `build` refuses to overwrite a
notebook that was edited after its authoring file (pull those edits first, or pass --force).
"""
from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

from nnkit.grading.course import Course, CourseProblem
from nnkit.grading.experiments import EXPERIMENT_TAG

PERCENT = {"extension": ".py", "format_name": "percent"}
NOTEBOOK_METADATA = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}}
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]{1,60}$")


class AuthoringProblem(CourseProblem):
    """An authoring file or source notebook breaks the kit's conventions; the message says what to do."""


class CellMetadata:
    """nbgrader cell metadata in full (the notebook) and without its defaults (the authoring header).

    Defaults: `grade`, `solution`, `task` and `locked` are false, `schema_version` is 3, and a locked
    cell is neither `editable` nor `deletable` in Jupyter. `expand(compact(m)) == m` for every m.
    """

    FLAGS = ("grade", "solution", "task", "locked")

    @classmethod
    def expand(cls, compact: dict) -> dict:
        metadata = dict(compact)
        if "nbgrader" in metadata:
            nbgrader = {flag: False for flag in cls.FLAGS} | {"schema_version": 3} | metadata["nbgrader"]
            metadata["nbgrader"] = dict(sorted(nbgrader.items()))
            if nbgrader["locked"]:
                metadata = {"deletable": False, "editable": False} | metadata
        return dict(sorted(metadata.items()))

    @classmethod
    def compact(cls, full: dict) -> dict:
        metadata = dict(full)
        nbgrader = dict(metadata.pop("nbgrader", None) or {})
        if nbgrader:
            if nbgrader.get("locked"):
                for key in ("deletable", "editable"):
                    if metadata.get(key) is False:
                        del metadata[key]
            if nbgrader.get("schema_version") == 3:
                del nbgrader["schema_version"]
            order = ["grade_id", *cls.FLAGS, "points"]
            nbgrader = {k: nbgrader[k] for k in sorted(nbgrader, key=lambda k: (order + [k]).index(k))
                        if not (k in cls.FLAGS and nbgrader[k] is False)}
            metadata = {"nbgrader": nbgrader} | metadata
        if metadata.get("tags") == []:
            del metadata["tags"]
        return metadata


def cell_ids(cells) -> list[str]:
    """Stable ids: a graded or given cell's grade_id; any other cell, the grade_id above it and its place.

    The cell after `check_train` that is not an nbgrader cell is `check_train-1`, the next `check_train-2`;
    cells before the first nbgrader cell are `top-1`, `top-2`, ...
    """
    ids, anchor, count = [], "top", 0
    for cell in cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            anchor, count = grade_id, 0
            ids.append(grade_id)
        else:
            count += 1
            ids.append(f"{anchor}-{count}")
    return ids


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names the code binds anywhere, names it reads), from its syntax tree; ({}, {}) if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(), set()
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, read


def lint(nb, where: str) -> list[str]:
    """What breaks the conventions the graders and nbgrader rely on (docs/authoring.md)."""
    problems, seen, defined = [], set(), set(dir(builtins))
    runs_at_grading, only_in_experiments = set(dir(builtins)), set()  # names bound by cells autograde runs / skips
    for number, cell in enumerate(nb.cells, 1):
        nbgrader, tags = cell.metadata.get("nbgrader"), cell.metadata.get("tags", [])
        here = f"{where}, cell {number}"
        if cell.cell_type == "code" and "hidden-grader" not in tags:
            bound, read = _names(cell.source)
            if EXPERIMENT_TAG in tags:
                if nbgrader:
                    problems.append(f"{here}: an `{EXPERIMENT_TAG}` cell has no nbgrader metadata (a solution, given "
                                    "or graded cell always runs at grading)")
                only_in_experiments |= bound - runs_at_grading
            else:
                needs = sorted((read - bound - runs_at_grading) & only_in_experiments)
                if needs:
                    problems.append(f"{here}: uses {', '.join(needs)}, which only `{EXPERIMENT_TAG}` cells above "
                                    "define; autograde skips those (nnkit/grading/experiments.py), so this cell would "
                                    "raise NameError there. Tag it `experiment` too, or define the names in it.")
                runs_at_grading |= bound
                only_in_experiments -= bound
        if cell.cell_type == "code" and nbgrader and not nbgrader.get("grade"):  # given and solution cells
            defined |= _names(cell.source)[0]
        if "visible-check" in tags:
            bound, read = _names(cell.source)
            missing = sorted(read - bound - defined)
            if missing:
                problems.append(f"{here}: the visible check uses {', '.join(missing)}, which no given or solution "
                                "cell above defines; a student who skipped an experiment cell would get a "
                                "NameError. Make the check build what it needs.")
        if not nbgrader:
            if "module" in tags or "hidden-grader" in tags or "visible-check" in tags:
                problems.append(f"{here}: tagged {tags} but has no nbgrader metadata (grade_id)")
            continue
        grade_id, points = nbgrader.get("grade_id", ""), nbgrader.get("points")
        here = f"{where}, cell '{grade_id}'"
        if not GRADE_ID.match(grade_id):
            problems.append(f"{where}, cell {number}: grade_id '{grade_id}' should be 1-60 letters, digits, _ or -")
        if grade_id in seen:
            problems.append(f"{here}: grade_id used twice")
        seen.add(grade_id)
        begins, ends = cell.source.count("### BEGIN SOLUTION"), cell.source.count("### END SOLUTION")
        if nbgrader.get("solution") and cell.cell_type == "code" and not begins == ends >= 1:
            problems.append(f"{here}: a solution cell needs ### BEGIN SOLUTION and ### END SOLUTION in pairs "
                            f"(found {begins} and {ends})")
        if (nbgrader.get("grade") or nbgrader.get("task")) and not isinstance(points, (int, float)):
            problems.append(f"{here}: a graded cell needs \"points\"")
        if "module" in tags and (nbgrader.get("grade") or nbgrader.get("task")):
            problems.append(f"{here}: only given and solution cells may carry the `module` tag")
        if "visible-check" in tags and (points != 0 or not nbgrader.get("locked")):
            problems.append(f"{here}: a visible check is locked and worth 0 points")
        if "hidden-grader" in tags and not cell.source.startswith(f"# Hidden tests ({points:g} points)"):
            problems.append(f"{here}: a hidden-grader cell starts '# Hidden tests ({points:g} points): ...'")
        if nbgrader.get("task") and not ("=== BEGIN MARK SCHEME ===" in cell.source
                                         and f"*({points:g} points, graded by hand." in cell.source):
            problems.append(f"{here}: a written question states '*({points:g} points, graded by hand.' "
                            "and holds a === BEGIN/END MARK SCHEME === section")
    return problems


def notebook_from_percent(text: str, where: str) -> nbformat.NotebookNode:
    """The source notebook an authoring file describes (no outputs, full metadata, stable ids)."""
    nb = nbformat.v4.new_notebook(metadata=NOTEBOOK_METADATA)
    for cell in jupytext.reads(text, fmt=PERCENT).cells:
        new = nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(new(cell.source, metadata=CellMetadata.expand(cell.metadata)))
    for cell, cell_id in zip(nb.cells, cell_ids(nb.cells)):
        cell.id = cell_id
    problems = lint(nb, where)
    if problems:
        raise AuthoringProblem("\n".join(problems))
    nbformat.validate(nb)
    return nb


def percent_from_notebook(nb) -> str:
    """The authoring file for a notebook: sources and compact metadata; outputs and ids are dropped."""
    text_nb = nbformat.v4.new_notebook()
    for cell in nb.cells:
        new = nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
        text_nb.cells.append(new(cell.source, metadata=CellMetadata.compact(cell.metadata)))
    text_nb.metadata["jupytext"] = {"notebook_metadata_filter": "-all"}
    return jupytext.writes(text_nb, fmt=PERCENT)


def _inputs(nb) -> list:
    return [(c.cell_type, c.source, CellMetadata.compact(c.metadata)) for c in nb.cells]


@dataclass(frozen=True)
class AuthoredAssignment:
    """`authoring/<assignment>/<notebook>.py` and the source notebook built from it."""

    course: Course
    assignment: str

    @property
    def percent_file(self) -> Path:
        """The one .py in authoring/<assignment>/; before the first pull, named after the source notebook."""
        folder = self.course.root / "authoring" / self.assignment
        files = sorted(folder.glob("*.py"))
        if len(files) == 1:
            return files[0]
        if not files and (self.course.root / "source" / self.assignment).is_dir():
            return folder / f"{self.course.source_notebook(self.assignment).stem}.py"
        raise AuthoringProblem(f"{folder} should hold exactly one authoring file <notebook>.py, found "
                               f"{len(files)}; see docs/authoring.md")

    @property
    def notebook(self) -> Path:
        return self.course.root / "source" / self.assignment / f"{self.percent_file.stem}.ipynb"

    def built(self) -> str:
        path = self.percent_file
        if not path.exists():
            raise AuthoringProblem(f"{path} does not exist: write it (docs/authoring.md), or create it from the "
                                   f"source notebook with `nnkit author pull --assignment {self.assignment}`")
        return nbformat.writes(notebook_from_percent(path.read_text(), str(path.relative_to(self.course.root)))) + "\n"

    def build(self, force: bool = False) -> bool:
        """Write the source notebook; False when it was already up to date."""
        text, target = self.built(), self.notebook
        others = [p.name for p in target.parent.glob("*") if p != target] if target.parent.exists() else []
        if others:
            raise AuthoringProblem(f"{target.parent} holds {others}: nbgrader would release them to students. "
                                   "Keep only the notebook there (data and helpers belong in nnkit/ or grader_tests/).")
        if target.exists():
            current = target.read_text()
            if current == text:
                return False
            edited = _inputs(nbformat.reads(current, 4)) != _inputs(nbformat.reads(text, 4))
            if edited and not force and target.stat().st_mtime > self.percent_file.stat().st_mtime:
                raise AuthoringProblem(
                    f"{target} was edited after {self.percent_file} and differs from it. Keep the notebook's edits "
                    f"with `nnkit author pull --assignment {self.assignment}`, or discard them with "
                    f"`nnkit author build --force --assignment {self.assignment}`.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return True

    def pull(self) -> None:
        """Write the authoring file from the source notebook (edited in Jupyter)."""
        nb = nbformat.read(str(self.notebook), 4)
        text = percent_from_notebook(nb)
        notebook_from_percent(text, str(self.notebook.relative_to(self.course.root)))  # lint before writing
        self.percent_file.parent.mkdir(parents=True, exist_ok=True)
        self.percent_file.write_text(text)

    def problems(self) -> list[str]:
        try:
            text = self.built()
        except AuthoringProblem as problem:
            return str(problem).splitlines()
        if not self.notebook.exists() or self.notebook.read_text() != text:
            return [f"{self.notebook.relative_to(self.course.root)} is not what "
                    f"{self.percent_file.relative_to(self.course.root)} builds: run `make sync`"]
        return []


def authored_assignments(course: Course, names: list[str] | None = None) -> list[AuthoredAssignment]:
    """The named assignments, or every one with a folder in authoring/ or source/."""
    folders = [course.root / "authoring", course.root / "source"]
    known = sorted({p.name for folder in folders if folder.is_dir() for p in folder.iterdir()
                    if p.is_dir() and not p.name.startswith((".", "_"))})
    for name in names or []:
        if name not in known:
            raise AuthoringProblem(f"no authoring/{name}/ (known: {', '.join(known) or 'none'})")
    return [AuthoredAssignment(course, name) for name in (names or known)]


def generate_release(course: Course, assignments: list[str]) -> None:
    """`nbgrader generate_assignment --force` for each assignment, in one process (source/ -> release/).

    Uses the course's nbgrader_config.py, as the nbgrader command does; one process for all
    assignments saves nbgrader's start-up for each.
    """
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course.root)).load_config()
    config.CourseDirectory.root = str(course.root)
    api = NbGraderAPI(config=config)
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True)
        if not result["success"]:
            raise AuthoringProblem(f"nbgrader generate_assignment {assignment} failed:\n"
                                   f"{result.get('log', '')}\n{result.get('error', '')}")
