"""One source of truth: authoring/<ps>/<notebook>.py builds source/ exactly, and `make release` changes nothing."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import COURSE, ROOT
from nnkit.authoring import (AuthoredAssignment, AuthoringProblem, CellMetadata, authored_assignments,
                             notebook_from_percent, percent_from_notebook)
from nnkit.grading.course import Course

AUTHORED = authored_assignments(COURSE)
IDS = [a.assignment for a in AUTHORED]


def _course_copy(destination: Path) -> Course:
    """What `make release` reads and writes: authoring/, source/, release/, grader_tests/ and the nbgrader config."""
    for name in ["authoring", "source", "release", "grader_tests"]:
        shutil.copytree(ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", destination / "nbgrader_config.py")
    return Course(destination)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_source_assignment_has_an_authoring_file():
    assert sorted(IDS) == COURSE.assignments()
    for authored in AUTHORED:
        assert authored.percent_file.exists(), f"{authored.percent_file} missing"
        assert authored.notebook == COURSE.source_notebook(authored.assignment)


@pytest.mark.parametrize("authored", AUTHORED, ids=IDS)
def test_authoring_file_and_source_notebook_are_in_sync(authored):
    assert authored.problems() == []


@pytest.mark.parametrize("authored", AUTHORED, ids=IDS)
def test_pulling_an_unchanged_notebook_gives_back_the_authoring_file(authored):
    notebook = nbformat.read(str(authored.notebook), 4)
    assert percent_from_notebook(notebook) == authored.percent_file.read_text()


@pytest.mark.parametrize("authored", AUTHORED, ids=IDS)
def test_compact_metadata_expands_back_exactly(authored):
    for cell in nbformat.read(str(authored.notebook), 4).cells:
        assert CellMetadata.expand(CellMetadata.compact(cell.metadata)) == cell.metadata


def test_cell_ids_are_stable_across_rebuilds_and_edits():
    text = (AUTHORED[0].percent_file).read_text()
    first = notebook_from_percent(text, "a")
    assert [c.id for c in notebook_from_percent(text, "a").cells] == [c.id for c in first.cells]
    graded = [c for c in first.cells if c.metadata.get("nbgrader")]
    assert graded and all(c.id == c.metadata["nbgrader"]["grade_id"] for c in graded)
    # Editing a cell's text keeps every id; inserting a cell renumbers only its own section.
    edited = first.cells[0].source.splitlines()[0]
    text2 = text.replace(edited, edited + " (edited)", 1).replace(
        "\n# %% nbgrader=", "\n# %% [markdown]\n# A new cell.\n\n# %% nbgrader=", 1)
    second = notebook_from_percent(text2, "a")
    assert second.cells[0].source != first.cells[0].source
    old, new = [c.id for c in first.cells], [c.id for c in second.cells]
    assert set(old) <= set(new) and len(new) == len(old) + 1


def test_make_release_on_an_unchanged_course_changes_nothing(tmp_path):
    """The `make release` command (sync + nbgrader generate_assignment) on a copy: a zero diff."""
    course = _course_copy(tmp_path)
    before = {name: _files(course.root / name) for name in ["source", "release", "authoring"]}
    done = subprocess.run([sys.executable, "-m", "nnkit", "--course", str(course.root), "author", "release"],
                          cwd=course.root, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{sys.prefix}/bin:" + os.environ["PATH"]})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    for name, files in before.items():
        after = _files(course.root / name)
        changed = sorted(k for k in files.keys() | after.keys() if files.get(k) != after.get(k))
        assert not changed, f"`make release` on an unchanged course changed {name}/: {changed}"


def test_release_regenerates_a_stale_notebook_from_its_authoring_file(tmp_path):
    course = _course_copy(tmp_path)
    authored = AuthoredAssignment(course, IDS[0])
    text = authored.percent_file.read_text()
    authored.percent_file.write_text(text.replace("# %% [markdown]\n", "# %% [markdown]\n# Changed title.\n#\n", 1))
    assert authored.problems(), "a changed authoring file should show as out of sync"
    assert authored.build() is True
    assert "# Changed title." not in authored.notebook.read_text()  # markdown: the '# ' comment prefix is gone
    assert "Changed title." in nbformat.read(str(authored.notebook), 4).cells[0].source
    assert authored.problems() == [] and authored.build() is False


def test_notebook_edited_in_jupyter_is_never_overwritten_silently(tmp_path):
    course = _course_copy(tmp_path)
    authored = AuthoredAssignment(course, IDS[0])
    nb = nbformat.read(str(authored.notebook), 4)
    nb.cells[0].source += "\n\nAdded in Jupyter."
    nb.cells.insert(1, nbformat.v4.new_code_cell("print('an experiment')"))
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="an experiment\n")]
    nbformat.write(nb, str(authored.notebook))
    os.utime(authored.percent_file, (1, 1))  # the authoring file is older than the edit
    with pytest.raises(AuthoringProblem, match="nnkit author pull"):
        authored.build()
    authored.pull()
    assert "Added in Jupyter." in authored.percent_file.read_text()
    assert authored.build() is True
    rebuilt = nbformat.read(str(authored.notebook), 4)
    assert rebuilt.cells[1].source == "print('an experiment')" and rebuilt.cells[1].outputs == []
    assert authored.problems() == []


@pytest.mark.parametrize("broken, message", [
    ("### END SOLUTION", "needs ### BEGIN SOLUTION and ### END SOLUTION"),
    ('"grade_id": "model"', "grade_id used twice"),
    ('"points": 2} tags=["hidden-grader"]', "starts '# Hidden tests (3 points)"),
    ("print(_labels, ", "the visible check uses curves"),
])
def test_lint_names_the_file_the_cell_and_the_fix(broken, message):
    authored = next(a for a in AUTHORED if a.assignment == "ps1_learning_rates")
    text = authored.percent_file.read_text()
    assert broken in text
    replacement = {"### END SOLUTION": "", '"grade_id": "model"': '"grade_id": "train"',
                   '"points": 2} tags=["hidden-grader"]': '"points": 3} tags=["hidden-grader"]',
                   "print(_labels, ": "print(curves[0.1, 0], "}[broken]
    with pytest.raises(AuthoringProblem, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        notebook_from_percent(text.replace(broken, replacement, 1), "authoring/ps1/learning_rates.py")
    assert "authoring/ps1/learning_rates.py, cell" in str(caught.value)


def test_build_refuses_extra_files_in_source(tmp_path):
    course = _course_copy(tmp_path)
    authored = AuthoredAssignment(course, IDS[0])
    (authored.notebook.parent / "helper.py").write_text("x = 1\n")
    with pytest.raises(AuthoringProblem, match="nbgrader would release them"):
        authored.build()


def test_hidden_and_visible_cells_keep_nbgrader_metadata():
    for authored in AUTHORED:
        for cell in nbformat.read(str(authored.notebook), 4).cells:
            tags = cell.metadata.get("tags", [])
            if "hidden-grader" in tags or "visible-check" in tags:
                meta = cell.metadata["nbgrader"]
                assert meta["grade"] and meta["locked"] and not cell.metadata["editable"], json.dumps(meta)
