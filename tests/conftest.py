"""Shared fixtures for the kit's own tests."""
import os
import shutil
from pathlib import Path

import pytest

from nnkit.grading.course import Course
from postgres_server import postgres, postgres_url  # noqa: F401 (fixtures: a throw-away PostgreSQL)

ROOT = Path(__file__).resolve().parents[1]
COURSE = Course(ROOT)
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"


def course_copy(destination: Path, with_release: bool = True) -> Course:
    """A throw-away copy of the course folder (what an instructor has), for nbgrader runs."""
    for name in ["source", "grader_tests", "tests/variants"] + (["release"] if with_release else []):
        shutil.copytree(ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", destination / "nbgrader_config.py")
    return Course(destination)


@pytest.fixture(scope="session")
def mnist_folder() -> Path:
    folder = Path(os.environ.get("MNIST_ROOT") or SHARED_MNIST)
    if not (folder / "train-images-idx3-ubyte.gz").exists() and not (folder / "train-images-idx3-ubyte").exists():
        pytest.fail(f"MNIST not found in {folder}: set MNIST_ROOT to a folder with the four MNIST IDX files")
    return folder
