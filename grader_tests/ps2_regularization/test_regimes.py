"""Hidden grader for the weight-decay sweep, run with the student's `run_epoch`.

Protocol (calibrated in claims.py, `calibration/`): the trusted reference model, the first 20,000
MNIST training and first 2,000 test images, SGD lr 0.01 batch 100, 2 epochs per weight decay,
seeds 0, 1, 2. Chance level: the majority-class rate plus four binomial standard errors.

The student's `run_epoch` runs in the probe. The subsets (about 70 MB) are sent there once and
kept (`SubsetsInProbe`); each run's loaders are kept there for the run, so a call carries only
the model and the optimizer, whose trained state comes back after each epoch.
"""
import pytest

from nnkit.grading.api import GraderFailure, expect, real_float
from ps2_reference import (EPOCHS, LEARNING_FLOOR, SEEDS, TEST_CHANCE_BOUND, TRAIN_CHANCE_BOUND, chance_bound,
                           mnist_tensors, run_sweep, sweep_datasets, trusted_accuracy)


class SubsetsInProbe:
    """The sweep's (train, test) data sets, kept in the probe and sent again only after it restarted
    (a crash or a time-out in one check voids the probe's objects; the next check must not pay for it)."""

    def __init__(self, probe):
        self.probe = probe
        self.refs, self.generation = None, None

    def get(self):
        if self.refs is None or self.probe.process is None or self.generation != self.probe.generation:
            self.refs = tuple(self.probe.keep(dataset) for dataset in sweep_datasets())
            self.generation = self.probe.generation
        return self.refs


@pytest.fixture(scope="module")
def subsets():
    train_x, train_y, test_x, test_y = mnist_tensors()
    if chance_bound(train_y) < TRAIN_CHANCE_BOUND or chance_bound(test_y) < TEST_CHANCE_BOUND:
        raise GraderFailure("Grading setup problem (not your code): the MNIST files differ from the calibrated ones.")
    return train_x, train_y, test_x, test_y


@pytest.fixture(scope="module")
def in_probe(probe, subsets):
    return SubsetsInProbe(probe)


def _history(submission, in_probe, wd, seed, device):
    history, model = run_sweep(submission.run_epoch, wd, seed, device, datasets=in_probe.get(), keep=in_probe.probe.keep)
    numbers = []
    for epoch, h in enumerate(history, 1):
        row = {}
        for phase in ("train", "test"):
            value = h[phase]
            expect(isinstance(value, (tuple, list)) and len(value) == 2, "run_epoch should return a tuple (mean_loss, accuracy).")
            row[phase] = real_float(value[1], f"the {phase} accuracy from run_epoch")
        numbers.append(row)
    return numbers, model


@pytest.mark.grade_cell("hidden_wd_regimes")
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("wd", [10.0, 1.0])
def test_strong_weight_decay_underfits(submission, device, subsets, in_probe, wd, seed, measure):
    train_x, train_y, test_x, test_y = subsets
    numbers, model = _history(submission, in_probe, wd, seed, device)
    measure(f"wd_sweep/wd={wd:g}/seed={seed}", numbers)
    epochs = numbers if wd == 10.0 else numbers[-1:]
    for row in epochs:
        expect(row["test"] <= TEST_CHANCE_BOUND,
               f"Weight decay {wd:g}, seed {seed}: the test accuracy your run_epoch reports is above chance level.")
        if wd == 10.0:
            expect(row["train"] <= TRAIN_CHANCE_BOUND,
                   f"Weight decay {wd:g}, seed {seed}: the training accuracy your run_epoch reports is above chance level.")
    expect(trusted_accuracy(model, train_x, train_y, device) <= TRAIN_CHANCE_BOUND,
           f"Weight decay {wd:g}, seed {seed}: after {EPOCHS} epochs of training with your run_epoch the model "
           "classifies the training images better than chance, so it was not trained as specified.")


@pytest.mark.grade_cell("hidden_wd_regimes")
@pytest.mark.parametrize("seed", SEEDS)
def test_weight_decay_0_1_learns(submission, device, subsets, in_probe, seed, measure):
    train_x, train_y, _, _ = subsets
    numbers, model = _history(submission, in_probe, 0.1, seed, device)
    measure(f"wd_sweep/wd=0.1/seed={seed}", numbers)
    expect(numbers[-1]["train"] >= LEARNING_FLOOR and numbers[-1]["test"] >= LEARNING_FLOOR,
           f"Weight decay 0.1, seed {seed}: after {EPOCHS} epochs the accuracies your run_epoch reports do not "
           "show clear learning.")
    expect(trusted_accuracy(model, train_x, train_y, device) >= LEARNING_FLOOR,
           f"Weight decay 0.1, seed {seed}: after {EPOCHS} epochs of training with your run_epoch the model has "
           "not learned to classify the training images.")
