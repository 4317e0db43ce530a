"""Hidden graders for `train`, the learning-rate regimes and `diagnose`."""
import copy
import math

import pytest
import torch

from nnkit.grading.api import expect, identical, real_float, type_name
from ps1_reference import DIVERGE_FACTOR, SEEDS, problem, reference_losses, reference_train

_isfinite = math.isfinite


def _losses(value, steps, what):
    expect(isinstance(value, (list, tuple)) or type(value) is torch.Tensor,
           f"{what} should return a list of losses, got {type_name(value)}.")
    values = [real_float(v, f"each loss returned by {what}") for v in value]
    expect(len(values) == steps, f"{what} with steps={steps} should return {steps} losses, got {len(values)}.")
    return values


def _diverged(losses):
    return any(not _isfinite(v) for v in losses) or losses[-1] > DIVERGE_FACTOR * losses[0]


@pytest.mark.grade_cell("hidden_train")
@pytest.mark.parametrize("lr,momentum", [(0.1, 0.0), (0.05, 0.9), (0.5, 0.0)])
def test_train_matches_full_batch_sgd(submission, device, lr, momentum):
    model, x, y = problem(seed=11, device=device, n_samples=200)
    mine = copy.deepcopy(model)
    expected = reference_train(model, x, y, lr, steps=25, momentum=momentum)
    got = _losses(submission.train(mine, x, y, lr, steps=25, momentum=momentum), 25, "train")
    expect(abs(got[0] - expected[0]) <= 1e-5 * max(1.0, abs(expected[0])),
           "The first loss train returns should be the MSE of the untrained model on (x, y).")
    for step, (g, e) in enumerate(zip(got, expected)):
        expect(abs(g - e) <= 1e-4 * max(1.0, abs(e)),
               f"train(lr={lr}, momentum={momentum}) departs from full-batch SGD on the MSE at step {step}: "
               "check zero_grad, the loss, and that momentum is passed to the optimiser.")


@pytest.mark.grade_cell("hidden_train")
def test_train_updates_the_given_model(submission, device):
    model, x, y = problem(seed=5, device=device, n_samples=100)
    before = [p.detach().clone() for p in model.parameters()]
    submission.train(model, x, y, 0.1, steps=3)
    moved = any(not identical(b, p.detach()) for b, p in zip(before, model.parameters()))
    expect(moved, "train should update the parameters of the model it is given.")


@pytest.mark.grade_cell("hidden_lr_regimes")
@pytest.mark.parametrize("lr", [100, 10, 1])
def test_large_learning_rates_diverge(submission, device, lr, measure):
    for seed in SEEDS:
        model, x, y = problem(seed, device)
        losses = _losses(submission.train(model, x, y, lr), 200, "train")
        measure(f"lr_sweep/lr={lr:g}/seed={seed}", losses)
        expect(_diverged(losses), f"lr={lr} did not diverge in 200 steps on seed {seed}.")


@pytest.mark.grade_cell("hidden_lr_regimes")
def test_lr_0_2_stays_finite(submission, device, measure):
    for seed in SEEDS:
        model, x, y = problem(seed, device)
        losses = _losses(submission.train(model, x, y, 0.2), 200, "train")
        measure(f"lr_sweep/lr=0.2/seed={seed}", losses)
        expect(all(_isfinite(v) for v in losses), f"lr=0.2 produced a non-finite loss on seed {seed}.")


@pytest.mark.grade_cell("hidden_lr_regimes")
def test_lr_0_001_learns_without_diverging(submission, device, measure):
    for seed in SEEDS:
        model, x, y = problem(seed, device)
        losses = _losses(submission.train(model, x, y, 0.001), 200, "train")
        measure(f"lr_sweep/lr=0.001/seed={seed}", losses)
        expect(all(_isfinite(v) for v in losses), f"lr=0.001 produced a non-finite loss on seed {seed}.")
        expect(max(losses) <= losses[0] * (1 + 1e-6), f"lr=0.001 raised the loss above its first value on seed {seed}.")
        expect(losses[-1] < losses[0], f"lr=0.001 did not lower the loss in 200 steps on seed {seed}.")


def _label(submission, losses, what):
    label = submission.diagnose(list(losses))
    expect(type(label) is str, f"diagnose should return a string, got {type_name(label)} for {what}.")
    return label


@pytest.mark.grade_cell("hidden_diagnose")
@pytest.mark.parametrize("losses,expected", [
    ([1.0, 2.0, float("nan")], "diverged"),
    ([1.0, float("inf"), 0.5], "diverged"),
    ([1.0, 1.5, 2.5], "diverged"),
    ([1.0, 0.99, 0.98, 0.97], "stuck"),
    ([1.0, 1.0], "stuck"),           # no change at all: stuck, not rising
    ([2.0, 1.95], "stuck"),
    ([1.0, 1.01, 1.02], "rising"),   # a finite rise, however small, means the rate is too large
    ([1.0, 1.4, 1.9], "rising"),     # 1.9x: below DIVERGE_FACTOR, but rising, never "stuck"
    ([3.0, 5.0], "rising"),
    ([1.0, 0.8, 0.5], "learning"),
    ([2.0, 4.0, 1.0], "learning"),
    ([1.0, 3.0, 0.5], "learning"),   # a spike is not divergence: the label uses the final loss
    ([1.0, 0.5, 1.5], "rising"),     # ... and so does "rising", not the lowest loss reached
    ([1.0, 0.5, 0.97], "stuck"),     # ... and "stuck"
    ([1.0, 1.5, 2.0], "rising"),     # exactly DIVERGE_FACTOR times the first is not *more than* it
])
def test_diagnose_labels_clear_cases(submission, losses, expected):
    label = _label(submission, losses, f"losses {losses}")
    expect(label == expected, f"diagnose({losses}) should be '{expected}', got '{label[:40]}'.")


@pytest.mark.grade_cell("hidden_diagnose")
@pytest.mark.parametrize("lr,expected", [(10, "diverged"), (1, "diverged"), (0.1, "learning"), (1e-5, "stuck")])
def test_diagnose_labels_real_runs(submission, device, lr, expected):
    for seed in SEEDS:
        losses = reference_losses(seed, lr, device)
        label = _label(submission, losses, f"a run with lr={lr}")
        expect(label == expected, f"diagnose called the lr={lr} run on seed {seed} '{label[:40]}', expected '{expected}'.")
