"""One rule for where tensors live (`nnkit.grading.devices`), and verdicts that depend on what the
code does: never on its device, its words, or the grader's own mistakes.

On a GPU runner (2026-12-04, `../shared/gpu-2026-12-04/`) the reference solutions lost 14 of 74
points because graders mixed the probe's answers (then moved to CUDA) with their own CPU tensors,
and the students read only "failed on what your code returned". Here the same mistakes are made
to show on the CPU, under the emulated second device (`nnkit.grading.device_emulation`); the
reference solutions and every correct variant of the bank are graded under it in
`tests/test_graders.py`.
"""
import copy

import pytest
import torch

from conftest import COURSE, course_copy
from nnkit.grading import wire
from nnkit.grading.device_emulation import EmulatedDeviceError, SecondDevice, on_cuda
from nnkit.grading.devices import EMULATED, pick_device, probe_device
from nnkit.grading.verdicts import GRADER_ERROR_MESSAGE
from nnkit.grading.results import summarise
from nnkit.grading.runner import run_graders
from nnkit.variants import check_all, discover

CUDA = torch.device("cuda", 0)


# ------------------------------------------------------------------ the emulated second device
@pytest.mark.check
def test_the_gpu_runners_failures_show_on_the_cpu():
    """Each kind of exception the graders raised on the H200, raised here by the emulation."""
    with SecondDevice():
        answer = torch.randn(4, 3).to(CUDA)              # 2004e51: what the probe returned, moved to CUDA
        mine = torch.randn(4, 3)                         # the grader's own tensor, on the CPU
        weight = torch.randn(2, 3)
        for mixing in (lambda: torch.equal(answer, mine),               # test_test_loader_is_ordered_and_normalised
                       lambda: mine[answer > 0],                         # test_share_of_zeros_and_scale
                       lambda: torch.nn.functional.linear(answer, weight),   # test_mlp_structure_and_forward
                       lambda: (answer - mine) / mine,                   # test_training_matches_torch
                       lambda: answer.numpy()):
            with pytest.raises(EmulatedDeviceError):
                mixing()


@pytest.mark.check
def test_what_cuda_allows_the_emulation_allows():
    with SecondDevice():
        model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3)).to(CUDA)
        assert model[0].weight.device == CUDA and model[1].running_mean.device == CUDA
        x = torch.randn(5, 3, device=CUDA)
        out = model(x)
        out.sum().backward()
        assert model[0].weight.grad.device == CUDA
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9).step()
        twin = copy.deepcopy(model)
        assert twin[0].weight.device == CUDA and twin[0].weight is not model[0].weight
        assert torch.nn.Parameter(torch.zeros(2, device=CUDA)).device == CUDA
        assert (out * torch.tensor(2.0)).device == CUDA                  # a 0-dim CPU tensor joins
        cpu = out.detach().cpu()
        assert cpu.device.type == "cpu" and torch.equal(cpu, out.detach().cpu())
        assert out[torch.tensor([0, 1])].device == CUDA                  # a CPU index into a CUDA tensor
        target = torch.zeros(5, 3)
        target.copy_(out)                                                # copies cross devices
        assert x.to(torch.float64).device == CUDA and x.to(target).device.type == "cpu"
        assert torch.zeros_like(out).device == CUDA and not on_cuda(torch.zeros(3))
        assert float(out.detach().sum()) == pytest.approx(float(cpu.sum()))


@pytest.mark.check
def test_probe_answers_arrive_on_the_cpu_and_the_emulated_device_is_named_cuda():
    assert wire.decode(torch.ones(2), lambda r: r).device.type == "cpu"
    assert pick_device(EMULATED) == CUDA
    assert probe_device(EMULATED) == "cpu" and probe_device("cuda") == "cuda" and probe_device("cpu") == "cpu"


# ------------------------------------------------------------------ the graders under the emulation
@pytest.mark.check
def test_a_grader_that_breaks_the_rule_is_a_staff_visible_grader_error(tmp_path):
    """A grader that mixes the probe's answer with its own tensor on the grading device: on the
    CPU it passes unnoticed; under the emulation it raises, and that exception reaches staff
    (report, `nnkit grade`, the bank) while the student reads only that the part could not be
    checked, never the exception."""
    course = course_copy(tmp_path, with_release=False)
    (course.grader_dir("ps3_normalization") / "test_mixes_devices.py").write_text(
        "import pytest, torch\n\n"
        "@pytest.mark.grade_cell('hidden_dropout_eval')\n"
        "def test_kept_units_are_doubled(submission, device):\n"
        "    x = torch.randn(8, 4, device=device)\n"
        "    layer = submission.Dropout(0.5)\n"
        "    out = layer(x)            # on the CPU: every probe answer is\n"
        "    assert ((out == 0) | torch.isclose(out, 2 * x)).all(), 'kept units not doubled'   # the rule broken\n")
    source = course.source_notebook("ps3_normalization")
    plain = run_graders(course, "ps3_normalization", source, device="cpu", only_cells=["hidden_dropout_eval"])
    assert plain.cells["hidden_dropout_eval"].ok and not plain.grader_errors, summarise(plain.cells)
    emulated = run_graders(course, "ps3_normalization", source, device=EMULATED, only_cells=["hidden_dropout_eval"])
    [error] = emulated.grader_errors
    assert error["type"] == "EmulatedDeviceError" and "same device" in error["message"]
    assert error["file"].endswith("test_mixes_devices.py") and error["line"] == 8
    assert error["cell"] == "hidden_dropout_eval"
    cell = emulated.cells["hidden_dropout_eval"]
    assert cell.score == 0 and cell.messages == [GRADER_ERROR_MESSAGE]
    from nnkit.grading.preprocessor import cell_outputs

    shown = str(cell_outputs(emulated, "hidden_dropout_eval"))
    assert "EmulatedDeviceError" not in shown and "same device" not in shown and "test_mixes" not in shown
    # The TA's re-run of the graders prints it too.
    import subprocess
    import sys

    ta = subprocess.run([sys.executable, "-m", "pytest", str(course.root / "grader_tests"), "--submission", str(source),
                         "--assignment", "ps3_normalization", "--grader-device", EMULATED, "--grade-cells",
                         "hidden_dropout_eval", "-p", "no:cacheprovider", "-q"],
                        cwd=course.root, capture_output=True, text=True, timeout=300)
    assert "grader errors: 1" in ta.stdout and "EmulatedDeviceError" in ta.stdout, ta.stdout[-3000:]
    assert "test_mixes_devices.py:8" in ta.stdout


def test_a_cell_failed_only_by_a_grader_error_catches_no_wrong_variant():
    from nnkit.variants import Variant, VariantResult

    wrong = Variant("ps3_normalization", "x", "wrong", "", {}, ["hidden_dropout_eval"])
    error = {"cell": "hidden_dropout_eval", "type": "RuntimeError", "message": "", "file": "f", "line": 1}
    assert not VariantResult(wrong, ["hidden_dropout_eval"], "graded", [], grader_errors=[error]).caught
    assert not VariantResult(wrong, ["hidden_dropout_eval"], "graded", [], grader_errors=[error]).as_expected
    assert VariantResult(wrong, ["hidden_dropout_eval"], "graded", []).as_expected


# ------------------------------------------------------------------ no verdict depends on a word
WARM_UP_CASES = ["ps3_normalization"]


def _verdicts(run) -> dict:
    return {cell: (score.score, score.passed, score.total) for cell, score in run.cells.items()}


@pytest.mark.parametrize("assignment", WARM_UP_CASES)
def test_the_warm_up_never_changes_a_verdict(assignment, monkeypatch):
    """The reference graded with the start-up imports forced on and off (`remote.warm_up_modules`):
    identical verdicts, full marks. ps3 is the assignment whose code builds no optimizer, where a
    comment with "optim" in it once switched the imports on and cost correct work 6 points. (The
    other references are graded with the imports forced against their words in test_graders.py,
    and as their words decide in the demo and pipeline tests.)"""
    verdicts = {}
    for forced in ("on", "off"):
        monkeypatch.setenv("NNKIT_WARM_UP", forced)
        run = run_graders(COURSE, assignment, COURSE.source_notebook(assignment), device=EMULATED)
        assert run.score == run.max_score and not run.grader_errors, summarise(run.cells)
        verdicts[forced] = _verdicts(run)
    assert verdicts["on"] == verdicts["off"]


def test_ps3_correct_variants_keep_full_marks_with_the_warm_up_forced_on(monkeypatch):
    """Every correct variant of ps3 (the comment one included) with the imports forced on; the bank
    in test_graders.py grades them as their words decide (only the comment one warms up)."""
    monkeypatch.setenv("NNKIT_WARM_UP", "on")
    variants = [v for v in discover(COURSE.variants_dir, ["ps3_normalization"]) if v.kind == "correct"]
    assert any("optimiser" in v.label for v in variants)
    results = check_all(COURSE, variants, device=EMULATED, workers=1)
    assert all(r.as_expected for r in results), [(r.variant.label, r.messages, r.grader_errors) for r in results]
