"""Graders tested like products: the reference passes, every known-wrong answer fails.

The graders loop over several seeds themselves (at least 5 for every behavioural
check), so one run of the reference is a run on every seed they use.
"""
import pytest

from conftest import COURSE
from nnkit.grading.devices import EMULATED
from nnkit.grading.results import describe_grader_error, summarise
from nnkit.grading.runner import run_graders
from nnkit.grading.status import Status
from nnkit.variants import check_all, discover, report

ASSIGNMENTS = COURSE.assignments()
VARIANTS = discover(COURSE.variants_dir, ASSIGNMENTS)


# The graders run as on a GPU runner, on the CPU: CUDA's placement rules emulated
# (nnkit.grading.devices, tests/test_device_rule.py). A grader that mixes devices raises there,
# as it would on CUDA, and its grader error fails these tests.


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_passes_every_grader(assignment, monkeypatch):
    # The start-up imports forced to the opposite of what the submission's words decide
    # (remote.warm_up_modules); the pipeline test (ps1's reference) and the bank's correct variants
    # are graded as their words decide (tests/test_device_rule.py compares ps3's verdicts cell by cell).
    from nnkit.grading.notebook import assemble_module_source, read_notebook
    from nnkit.grading.remote import WARM_UP_ENV, warm_up_modules

    source = read_notebook(COURSE.source_notebook(assignment))
    decided = warm_up_modules(assemble_module_source(source, source))
    monkeypatch.setenv(WARM_UP_ENV, "off" if decided else "on")
    run = run_graders(COURSE, assignment, COURSE.source_notebook(assignment), device=EMULATED)
    assert run.status is Status.GRADED, run.detail
    assert not run.grader_errors, "\n".join(map(describe_grader_error, run.grader_errors))
    assert run.score == run.max_score > 0, summarise(run.cells)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_cell_has_wrong_and_correct_variants(assignment):
    from nnkit.grading.notebook import grade_id, is_solution, module_cells, read_notebook

    graded = {grade_id(c) for c in module_cells(read_notebook(COURSE.source_notebook(assignment))) if is_solution(c)}
    mine = [v for v in VARIANTS if v.assignment == assignment]
    for gid in graded:
        wrong = [v for v in mine if v.kind == "wrong" and gid in v.cells]
        correct = [v for v in mine if v.kind == "correct" and gid in v.cells]
        assert len(wrong) >= 3, f"{assignment}: solution cell '{gid}' has {len(wrong)} wrong variants, needs 3"
        assert len(correct) >= 1, f"{assignment}: solution cell '{gid}' has no alternative correct variant"


BANKS = [(assignment, kind) for assignment in ASSIGNMENTS for kind in ("wrong", "correct")]


@pytest.mark.parametrize("assignment, kind", BANKS, ids=[f"{a}-{k}" for a, k in BANKS])
def test_mutant_bank_is_fully_killed_without_false_failures(assignment, kind):
    # One grading at a time per test; `make test` spreads the eight parts over its xdist workers.
    mine = [v for v in VARIANTS if v.assignment == assignment and v.kind == kind]
    assert mine, f"variants/{assignment}/{kind}/ is empty"
    text, ok = report(check_all(COURSE, mine, device=EMULATED, workers=1))
    print(text)
    assert ok, text
