"""`nnkit grade` refuses a file it cannot grade before any grader runs: a status line on stdout (as the export's
status column words it), a message for staff on stderr, exit status 2."""
import json
import os
import shutil
from pathlib import Path

import pytest

import nnkit.grading.runner
from conftest import COURSE, ROOT
from nnkit.cli import main

RELEASE = {name: COURSE.source_notebook(name).name for name in COURSE.assignments()}


@pytest.fixture
def graders(monkeypatch):
    """Stands in for run_graders: records what would have been graded, runs nothing."""
    calls = []

    class Run:
        status, seconds, device, cells, grader_errors, notes = "graded", 0.0, "cpu", {}, [], []

    def fake_run_graders(course, assignment, notebook, **kw):
        calls.append((assignment, notebook))
        return Run()

    monkeypatch.setattr(nnkit.grading.runner, "run_graders", fake_run_graders)
    return calls


def grade(path, *extra):
    return main(["--course", str(ROOT), "grade", str(path), *extra])


def release_copy(assignment, folder):
    """The release notebook of `assignment`, copied into `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(ROOT / "release" / assignment / RELEASE[assignment], folder))


def refused(capsys, graders, status, path, says, *needles):
    """`says`: the status line on stdout, as the export's status column words it."""
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    assert graders == [] and "graded" not in out, "no grader may run on a refused file"
    assert out == says + "\n", out
    assert err.startswith(f"nnkit grade: {path}:") and "No graders were run." in err, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.check
def test_missing_file(tmp_path, capsys, graders):
    path = tmp_path / "learning_rates.ipynb"
    refused(capsys, graders, grade(path, "--assignment", "ps1_learning_rates"), path,
            "ps1_learning_rates: not submitted", "no such notebook", "Check the path")


@pytest.mark.check
def test_missing_file_is_named_before_the_assignment_is_inferred(tmp_path, capsys, graders):
    path = tmp_path / "nowhere.ipynb"  # neither an assignment's folder nor its file name
    refused(capsys, graders, grade(path), path, f"{path}: not submitted", "no such notebook")


@pytest.mark.check
def test_empty_file(tmp_path, capsys, graders):
    path = tmp_path / "ps1_learning_rates" / "learning_rates.ipynb"
    path.parent.mkdir()
    path.write_bytes(b"")
    refused(capsys, graders, grade(path), path, "ps1_learning_rates: unreadable", "is empty (0 bytes)",
            "hand it in again")


@pytest.mark.check
def test_invalid_json_gives_line_and_column(tmp_path, capsys, graders):
    path = tmp_path / "learning_rates.ipynb"
    text = (ROOT / "release" / "ps1_learning_rates" / "learning_rates.ipynb").read_text()
    lines = text.splitlines()
    path.write_text("\n".join(lines[:40]))  # truncated, as an interrupted upload leaves it
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(path.read_text())
    where = f"invalid JSON at line {expected.value.lineno}, column {expected.value.colno}"
    refused(capsys, graders, grade(path, "--assignment", "ps1_learning_rates"), path,
            "ps1_learning_rates: unreadable", where)


@pytest.mark.check
def test_invalid_json_in_the_middle(tmp_path, capsys, graders):
    path = tmp_path / "learning_rates.ipynb"
    path.write_text('{\n "cells": [\n  {"cell_type": "code",}\n ]\n}\n')
    refused(capsys, graders, grade(path, "--assignment", "ps1_learning_rates"), path,
            "ps1_learning_rates: unreadable", "invalid JSON at line 3, column 24")


@pytest.mark.check
@pytest.mark.parametrize("content,needle", [
    ({"answers": [1, 2]}, "no 'nbformat' or 'cells' key"),
    ([1, 2], "top level is an array"),
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "x"}, "not a valid Jupyter notebook (nbformat: "),
])
def test_json_that_is_not_a_notebook(tmp_path, capsys, graders, content, needle):
    path = tmp_path / "learning_rates.ipynb"
    path.write_text(json.dumps(content))
    err = refused(capsys, graders, grade(path, "--assignment", "ps1_learning_rates"), path,
                  "ps1_learning_rates: unreadable", "is JSON but not", needle)
    assert len(err) < 600, "briefly: no schema dump"


@pytest.mark.check
def test_another_assignments_notebook_in_this_assignments_folder(tmp_path, capsys, graders):
    path = release_copy("ps2_regularization", tmp_path / "submitted" / "alice" / "ps1_learning_rates")
    refused(capsys, graders, grade(path), path, "ps1_learning_rates: wrong assignment: this looks like ps2_regularization",
            "this looks like the ps2_regularization notebook, not ps1_learning_rates",
            "--assignment ps2_regularization")


@pytest.mark.check
@pytest.mark.parametrize("handed_in,graded_as", [("ps1_learning_rates", "ps3_normalization"),
                                                 ("ps4_learning_curves", "ps2_regularization")])
def test_another_assignments_notebook_under_assignment(tmp_path, capsys, graders, handed_in, graded_as):
    path = release_copy(handed_in, tmp_path)
    refused(capsys, graders, grade(path, "--assignment", graded_as), path,
            f"{graded_as}: wrong assignment: this looks like {handed_in}", f"this looks like the {handed_in} notebook, not {graded_as}")


@pytest.mark.check
@pytest.mark.parametrize("assignment", sorted(RELEASE))
def test_the_right_notebook_goes_to_the_graders(tmp_path, capsys, graders, assignment):
    """No false alarm: each release notebook (ps1 and ps2 share cell ids) is graded as its own assignment."""
    path = release_copy(assignment, tmp_path / assignment)
    assert grade(path) == 0, capsys.readouterr()
    assert graders == [(assignment, path)]
    assert capsys.readouterr().out.startswith(f"{assignment}: graded")


@pytest.mark.check
def test_mnist_root_is_taken_after_the_command_too(tmp_path, capsys, graders, monkeypatch):
    """`nnkit grade NB --mnist-root DIR` (issue 21): the option is accepted after the command, and wins over
    one given before it."""
    monkeypatch.delenv("MNIST_ROOT", raising=False)
    path = release_copy("ps3_normalization", tmp_path / "ps3_normalization")
    before, after = tmp_path / "before", tmp_path / "after"
    assert main(["--course", str(ROOT), "--mnist-root", str(before), "grade", str(path),
                 "--mnist-root", str(after)]) == 0, capsys.readouterr()
    assert os.environ["MNIST_ROOT"] == str(after.resolve())
    monkeypatch.delenv("MNIST_ROOT")
    assert main(["grade", str(path), "--course", str(ROOT), "--mnist-root", str(before)]) == 0
    assert os.environ["MNIST_ROOT"] == str(before.resolve())
    assert graders == [("ps3_normalization", path)] * 2
