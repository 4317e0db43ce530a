"""The grading mechanism's pieces: module assembly, scoring, variants."""
import copy

import pytest

from conftest import COURSE
from nnkit.grading.notebook import NotebookProblem, assemble_module_source, grade_id, is_solution, read_notebook
from nnkit.grading.student_module import load_module
from nnkit.grading.results import score_cells
from nnkit.variants import apply_variant, discover

SOURCE = COURSE.source_notebook("ps1_learning_rates")


def _solution(nb, gid):
    return next(c for c in nb.cells if is_solution(c) and grade_id(c) == gid)


def test_given_cells_come_from_the_source_not_the_submission():
    source = read_notebook(SOURCE)
    student = copy.deepcopy(source)
    imports = next(c for c in student.cells if grade_id(c) == "imports")
    imports.source = "DIVERGE_FACTOR = 1e9  # tampered"
    code = assemble_module_source(source, student)
    assert "tampered" not in code and "DIVERGE_FACTOR = 2.0" in code


def test_solution_cells_come_from_the_submission_and_first_copy_wins():
    source = read_notebook(SOURCE)
    student = copy.deepcopy(source)
    _solution(student, "train").source = "def train(*a, **k):\n    return 'mine'"
    duplicate = copy.deepcopy(_solution(student, "train"))
    duplicate.source = "def train(*a, **k):\n    return 'second copy'"
    student.cells.append(duplicate)
    code = assemble_module_source(source, student)
    assert "'mine'" in code and "second copy" not in code


def test_a_deleted_solution_cell_leaves_its_names_undefined(tmp_path):
    source = read_notebook(SOURCE)
    student = copy.deepcopy(source)
    student.cells = [c for c in student.cells if grade_id(c) != "diagnose"]
    module = load_module(assemble_module_source(source, student), tmp_path)
    assert not hasattr(module, "diagnose") and hasattr(module, "train")


def test_magics_are_commented_out(tmp_path):
    source = read_notebook(SOURCE)
    code = assemble_module_source(source, source, {"broadcast": "%matplotlib inline\n!ls\nSEED_TARGET_SHAPE = ()\nFIXED_TARGET_SHAPE = (1000, 1)"})
    module = load_module(code, tmp_path)
    assert module.SEED_TARGET_SHAPE == ()


@pytest.mark.parametrize("content,needle", [("{not json", "invalid JSON"), (None, "no such notebook")])
def test_bad_notebooks_get_a_message_naming_the_file(tmp_path, content, needle):
    path = tmp_path / "broken.ipynb"
    if content is not None:
        path.write_text(content)
    with pytest.raises(NotebookProblem, match=needle) as problem:
        read_notebook(path)
    assert str(path) in str(problem.value)


def test_cells_are_all_or_nothing_and_skips_earn_nothing():
    tests = [{"cell": "a", "outcome": "passed", "message": ""},
             {"cell": "a", "outcome": "failed", "message": "lr=1 did not diverge on seed 3."},
             {"cell": "b", "outcome": "passed", "message": ""},
             {"cell": "c", "outcome": "skipped", "message": "This check did not run (it was skipped)."}]
    cells = score_cells(tests, {"a": 2, "b": 1, "c": 1, "d": 3})
    assert (cells["a"].score, cells["b"].score, cells["c"].score, cells["d"].score) == (0, 1, 0, 0)
    assert cells["a"].messages == ["lr=1 did not diverge on seed 3."]
    assert "No hidden grader ran" in cells["d"].messages[0]


def test_variants_replace_only_their_cells():
    variant = next(v for v in discover(COURSE.variants_dir, ["ps1_learning_rates"]) if v.name == "demo_student")
    nb = apply_variant(SOURCE, variant.cells)
    source = read_notebook(SOURCE)
    changed = [grade_id(a) for a, b in zip(nb.cells, source.cells) if a.source != b.source]
    assert sorted(changed) == sorted(variant.cells)
    with pytest.raises(ValueError, match="no solution cell named nope"):
        apply_variant(SOURCE, {"nope": "x = 1"})


@pytest.mark.parametrize("handed_in,expected,graded_as", [
    (["learning_rates (1).ipynb"], ["learning_rates"], "learning_rates"),       # browser's second download
    (["Learning_Rates-Copy1.ipynb"], ["learning_rates"], "learning_rates"),    # Jupyter's "Make a copy"
    (["my answers.ipynb"], ["learning_rates"], "learning_rates"),              # the only notebook for the only name
    (["learning_rates.ipynb", "scratch.ipynb"], ["learning_rates"], None),     # right name present: nothing to do
    (["a.ipynb", "b.ipynb"], ["learning_rates"], None),                        # ambiguous: left to nbgrader
    (["part1 (2).ipynb", "notes.ipynb"], ["part1", "part2"], "part1"),          # several: only a clear match
])
def test_misnamed_notebooks_are_graded_under_the_expected_name(tmp_path, monkeypatch, handed_in, expected, graded_as):
    from nnkit.grading import intake

    monkeypatch.chdir(tmp_path)
    (tmp_path / "source" / "ps").mkdir(parents=True)
    for name in expected:
        (tmp_path / "source" / "ps" / f"{name}.ipynb").write_text("{}")
    folder = tmp_path / "submitted" / "student" / "ps"
    notebooks = [str(folder / name) for name in handed_in]
    before = list(notebooks)
    monkeypatch.setattr(intake, "ALIASES", {})
    intake.match_misnamed_notebooks(assignment="ps", student="student", notebooks=notebooks)
    if graded_as is None:
        assert notebooks == before and intake.ALIASES == {}
    else:
        target = str(folder / f"{graded_as}.ipynb")
        assert target in notebooks and len(notebooks) == len(before)
        assert intake.ALIASES[target] in before and intake.ALIASES[target] not in notebooks


def test_an_unreadable_hand_in_is_exported_as_unreadable(tmp_path):
    from nnkit.grading.status import Status, read_record, read_status, write_status

    write_status(tmp_path, {"status": "graded"}, {"status": "graded"}, {"status": "unreadable", "message": "not JSON"})
    assert read_status(tmp_path) is Status.UNREADABLE
    write_status(tmp_path, {"status": "graded"}, {"status": "timed out"}, {"status": "graded", "message": "renamed"})
    assert read_status(tmp_path) is Status.TIMED_OUT
    write_status(tmp_path, {"status": "crashed"}, {"status": "timed out"})
    assert read_status(tmp_path) is Status.CRASHED
    write_status(tmp_path, {"status": "graded"}, {"status": "graded"}, measurements={"curve": [1.0, None]})
    assert read_status(tmp_path) is Status.GRADED
    assert read_record(tmp_path).measurements == {"curve": [1.0, None]}
    assert read_status(tmp_path / "nowhere") is Status.NOT_GRADED


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_a_missing_gpu_is_a_clear_course_error_not_a_crash_in_every_report(tmp_path):
    import subprocess
    import sys

    from nnkit.grading.course import CourseProblem
    from nnkit.grading.runner import run_graders

    with pytest.raises(CourseProblem, match="no CUDA GPU is visible.*Grade on 'cpu' or 'auto'"):
        run_graders(COURSE, "ps1_learning_rates", SOURCE, device="cuda")
    done = subprocess.run([sys.executable, "-m", "pytest", str(COURSE.root / "grader_tests"), "--submission", str(SOURCE),
                           "--grader-device", "cuda", "-p", "no:cacheprovider", "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]  # pytest's usage error
    assert "no CUDA GPU is visible" in done.stderr and "Traceback" not in done.stdout + done.stderr


def test_imports_from_the_students_own_cells_reach_the_graded_module(tmp_path):
    """Issue 10a: a student who imports numpy in a cell of their own and uses it in a
    solution must not lose the part with a NameError; their experiments still never run."""
    import nbformat

    source = read_notebook(SOURCE)
    student = copy.deepcopy(source)
    student.cells.insert(1, nbformat.v4.new_code_cell(
        "%matplotlib inline\nimport numpy as np\nfrom math import sqrt as my_sqrt\nEXPERIMENT_RAN = True\n"
        "import module_that_is_not_installed"))
    _solution(student, "diagnose").source = "def diagnose(losses):\n    return str(np.float64(my_sqrt(4.0)))"
    module = load_module(assemble_module_source(source, student), tmp_path)
    assert module.diagnose([1.0]) == "2.0"
    assert not hasattr(module, "EXPERIMENT_RAN")
    # The missing module costs only its own name, and says so.
    assert [type(e).__name__ for _, e in module.__load_errors__] == ["ModuleNotFoundError"]
    assert callable(module.train)


def test_given_cells_are_not_mistaken_for_the_students_imports():
    source = read_notebook(SOURCE)
    code = assemble_module_source(source, copy.deepcopy(source))
    assert "your import" not in code


def test_a_kernel_that_never_started_is_started_once_more(monkeypatch):
    """A kernel that did not answer before any cell ran is a machine hiccup: SafeExecute starts
    it again instead of marking the student's hand-in crashed; a second failure still counts."""
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor

    from nnkit.grading.execute import SafeExecute
    from nnkit.grading.status import Status

    calls = []

    def flaky(self, nb, resources=None, km=None):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel didn't respond in 180 seconds")
        return nb, resources

    monkeypatch.setattr(ExecutePreprocessor, "preprocess", flaky)
    resources = {}
    SafeExecute().preprocess(nbformat.v4.new_notebook(), resources)
    assert len(calls) == 2 and resources["nnkit"]["execution"]["status"] is Status.GRADED

    def dead(self, nb, resources=None, km=None):
        raise RuntimeError("Kernel didn't respond in 180 seconds")

    monkeypatch.setattr(ExecutePreprocessor, "preprocess", dead)
    resources = {}
    SafeExecute().preprocess(nbformat.v4.new_notebook(), resources)
    assert resources["nnkit"]["execution"]["status"] is Status.CRASHED


def test_the_checker_computes_in_ieee_float32_as_the_tolerances_were_measured(tmp_path):
    """nnkit.grading.precision: TF32 off and cuDNN deterministic in the checker (the probe: test_probe.py).
    A grader that reads the switches runs in a real checker, on the reference solution."""
    from conftest import IEEE_FLOAT32, course_copy
    from nnkit.grading.runner import run_graders

    course = course_copy(tmp_path / "course", with_release=False)
    (course.grader_dir("ps1_learning_rates") / "test_float32_switches.py").write_text(
        "import pytest, torch\n\n"
        "@pytest.mark.grade_cell('hidden_train')\n"
        "def test_switches():\n"
        "    b = torch.backends\n"
        "    switches = {'matmul.allow_tf32': b.cuda.matmul.allow_tf32, 'cudnn.allow_tf32': b.cudnn.allow_tf32,\n"
        "                'cudnn.deterministic': b.cudnn.deterministic, 'cudnn.benchmark': b.cudnn.benchmark}\n"
        f"    assert switches == {IEEE_FLOAT32!r}, switches\n")
    run = run_graders(course, "ps1_learning_rates", course.source_notebook("ps1_learning_rates"),
                      only_cells=["hidden_train"], per_test_timeout=60, timeout=300)
    cell = run.cells["hidden_train"]
    assert cell.ok and cell.total == cell.passed >= 5, (cell, run.detail[-2000:])


def test_a_numpy_number_of_an_unknown_type_is_refused_not_a_grader_error():
    from nnkit.grading import wire

    with pytest.raises(wire.WireRefused, match="unknown type"):
        wire.decode({wire.TAG: "npscalar", "dtype": "no-such-type", "value": 1}, lambda r: r)


def test_the_intake_note_travels_in_the_notebook_and_a_students_own_is_removed():
    """nbgrader's two passes share no `resources`: the note rides in the notebook's first cell
    (`intake_note`), and a look-alike the student wrote is one of the cells the exporter drops.
    (End to end, 2026-12-04: an unreadable, a misnamed and a forged-note hand-in of ps3 were recorded
    as unreadable, graded with the renaming note, and graded with no note.)"""
    import nbformat

    from nnkit.grading.intake import NOTE_KEY, NOTE_TAG, IntakeNote, _is_note, _note_cell, intake_note
    from nnkit.grading.status import Status

    note = IntakeNote(Status.UNREADABLE, "could not be read")
    nb = nbformat.v4.new_notebook(cells=[_note_cell(note), nbformat.v4.new_code_cell("x = 1")])
    assert intake_note(nb) == note
    assert intake_note(nbformat.v4.new_notebook(cells=nb.cells[1:])) is None
    forged = nbformat.v4.new_markdown_cell("I was not graded fairly")
    forged.metadata["tags"] = [NOTE_TAG]
    assert _is_note(forged) and not _is_note(nb.cells[1])
    forged.metadata = {NOTE_KEY: {"status": "unreadable", "message": "x"}}
    assert _is_note(forged)


def test_measurements_are_capped_the_same_in_the_checker_and_the_runner():
    """One helper (`status.keep_measurement`) caps the student's numbers in the checker's `measure`
    fixture and again in the runner (`runner._checked`): names cut, values plain, at most MAX_MEASUREMENTS."""
    import torch

    from nnkit.grading.runner import _checked
    from nnkit.grading.status import MAX_MEASUREMENTS, MAX_STRING, keep_measurement

    kept: dict = {}
    keep_measurement(kept, "x" * 500, torch.tensor([1.0, float("nan")]))
    keep_measurement(kept, "own class", object())              # not plain data: left out, no error
    assert kept == {"x" * MAX_STRING: [1.0, None]}
    flood = {f"m{i}": i for i in range(MAX_MEASUREMENTS + 50)}
    assert len(_checked(flood)) == MAX_MEASUREMENTS and _checked(flood)["m0"] == 0
    assert _checked(["not", "a", "dict"]) == {}


def test_a_notebook_is_placed_by_its_folder_or_its_file_name(tmp_path):
    from nnkit.grading.course import CourseProblem
    course = COURSE
    assert course.infer_assignment(COURSE.root / "solutions" / "ps2_regularization.ipynb") == "ps2_regularization"
    assert course.infer_assignment(tmp_path / "ps3_normalization" / "mine.ipynb") == "ps3_normalization"
    assert course.infer_assignment(tmp_path / "learning_curves.ipynb") == "ps4_learning_curves"
    with pytest.raises(CourseProblem, match="pass --assignment"):
        course.infer_assignment(tmp_path / "homework.ipynb")
