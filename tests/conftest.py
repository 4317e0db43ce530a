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
# As given to `make test`: loading nbgrader_config.py in a test process points MNIST_ROOT at the
# verified copy in the cache (raw files only), and tests here need the folder as handed over.
_MNIST_ROOT_AT_START = os.environ.get("MNIST_ROOT")


# torch's float32 switches in the checker and the probe (nnkit.grading.precision): no TF32 on a GPU,
# cuDNN's deterministic algorithms only, no autotuning.
IEEE_FLOAT32 = {"matmul.allow_tf32": False, "cudnn.allow_tf32": False, "cudnn.deterministic": True,
                "cudnn.benchmark": False}


def course_copy(destination: Path, with_release: bool = True) -> Course:
    """A throw-away copy of the course folder (what an instructor has), for nbgrader runs."""
    for name in ["source", "grader_tests", "variants"] + (["release"] if with_release else []):
        shutil.copytree(ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", destination / "nbgrader_config.py")
    return Course(destination)


@pytest.fixture(scope="session")
def mnist_folder() -> Path:
    folder = Path(_MNIST_ROOT_AT_START or SHARED_MNIST)
    if not (folder / "train-images-idx3-ubyte.gz").exists() and not (folder / "train-images-idx3-ubyte").exists():
        pytest.fail(f"MNIST not found in {folder}: set MNIST_ROOT to a folder with the four MNIST IDX files")
    return folder


# `make check`, the fast tier (under 3 minutes, after every change): units, release sync, one grader
# run. Tests join it with @pytest.mark.check, or here, by file or by test, to keep others' files as they are.
CHECK_TIER_FILES = {"test_grading_units.py", "test_data.py", "test_release.py", "test_authoring.py",
                    "test_architecture.py"}
CHECK_TIER_TESTS = {"test_graders.py::test_reference_solution_passes_every_grader[ps1_learning_rates]"}


# `make test` spreads tests over pytest-xdist workers with `--dist loadgroup`. A file's tests stay
# together (most share a graded course, built once per module), except these long, independent
# ones, which go wherever a worker is free.
SPREAD_TESTS = {"test_graders.py::test_mutant_bank_is_fully_killed_without_false_failures",
                "test_graders.py::test_reference_solution_passes_every_grader",
                "test_probe_attacks.py::test_probe_attack_gains_nothing",
                "test_device_rule.py::test_a_grader_that_breaks_the_rule_is_a_staff_visible_grader_error",
                "test_device_rule.py::test_the_warm_up_never_changes_a_verdict",
                "test_device_rule.py::test_ps3_correct_variants_keep_full_marks_with_the_warm_up_forced_on"}


# Seconds each long unit took in `make test` (2026-12-04, the references and the bank under emulated CUDA; 2 workers on the
# 2-core machine). xdist hands out work in collection order (the Makefile turns its reordering by
# test count off, which put the one-test units, the longest, last): longest first, so that no long
# unit starts at the end while the other worker idles. A file's name stands for all its tests (one unit).
LONGEST_FIRST = {
    "test_attacks.py": 400,
    "test_batch.py": 240,
    "test_graders.py::test_mutant_bank_is_fully_killed_without_false_failures[ps1_learning_rates-correct]": 208,
    "test_reports.py": 110,
    "test_pipeline.py": 100,
    "test_graders.py::test_mutant_bank_is_fully_killed_without_false_failures[ps4_learning_curves-correct]": 88,
    "test_graders.py::test_mutant_bank_is_fully_killed_without_false_failures[ps2_regularization-correct]": 88,
    "test_graders.py::test_mutant_bank_is_fully_killed_without_false_failures[ps2_regularization-wrong]": 86,
    "test_probe_attacks.py::test_probe_attack_gains_nothing[huge_tensor]": 44,
    "test_graders.py::test_reference_solution_passes_every_grader[ps4_learning_curves]": 43,
    "test_graders.py::test_mutant_bank_is_fully_killed_without_false_failures[ps4_learning_curves-wrong]": 40,
    "test_graders.py::test_mutant_bank_is_fully_killed_without_false_failures[ps1_learning_rates-wrong]": 38,
    "test_device_rule.py::test_ps3_correct_variants_keep_full_marks_with_the_warm_up_forced_on": 31,
}


def expected_seconds(item) -> float:
    for key in (f"{item.path.name}::{item.name}", item.path.name):
        if key in LONGEST_FIRST:
            return LONGEST_FIRST[key]
    return 0.0


@pytest.hookimpl(tryfirst=True)  # before `-m check` selects by marker
def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: -expected_seconds(item))   # stable: the rest keep their order
    for item in items:
        if item.path.name in CHECK_TIER_FILES or f"{item.path.name}::{item.name}" in CHECK_TIER_TESTS:
            item.add_marker(pytest.mark.check)
        if f"{item.path.name}::{item.originalname}" not in SPREAD_TESTS:
            item.add_marker(pytest.mark.xdist_group(item.path.name))



XDIST_GROUPS_LOST = pytest.StashKey[str]()


def pytest_collection_finish(session):
    """Under `--dist loadgroup`, every grouped test's id must carry its group (`...@test_x.py`):
    that suffix is all pytest-xdist schedules by. Without it (pytest 9.2 with xdist 3.8) the
    groups split silently and each worker builds every module's graded course again, so every
    test fails at once with the reason instead."""
    config = session.config
    if not getattr(config.option, "loadgroup", False):   # set on xdist workers under --dist loadgroup
        return
    lost = [item.nodeid for item in session.items
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid.rsplit("]", 1)[-1]]
    if lost:
        config.stash[XDIST_GROUPS_LOST] = (
            f"pytest-xdist did not group {len(lost)} tests (e.g. {lost[0]}): pytest {pytest.__version__} and "
            "this pytest-xdist do not work together for --dist loadgroup. Reinstall the versions "
            "pyproject.toml pins (`make` does so when pyproject.toml changes).")


def pytest_runtest_setup(item):
    if XDIST_GROUPS_LOST in item.config.stash:
        pytest.fail(item.config.stash[XDIST_GROUPS_LOST], pytrace=False)
