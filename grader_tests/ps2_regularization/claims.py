"""Behavioural claims of ps2 (regularization), measured with the reference implementation.

Two protocols, both SGD(lr=0.01, momentum=0) with batch 100 on MNIST normalised with (0.1307, 0.3081):

* "graders": what test_regimes.py checks, the first 20,000 training and first 2,000 test images,
  2 epochs per weight decay;
* "notebook": what the notebook's sweep runs and its prose quotes, all 60,000 / 10,000 images,
  3 epochs per weight decay, plus the unregularised run (wd=0) that fixes k and L2 for the rule
  of thumb, and a run with the weight decay the rule picks. The notebook's `load_mnist` normalises
  the images once into tensors, as `mnist_tensors` does (the same values), and shuffles with the
  global generator; here each seed shuffles with a generator of its own, so only the order of the
  batches differs.
"""
import functools

import torch

from nnkit.calibration import Claim
from ps2_reference import (EPOCHS, LEARNING_FLOOR, NOTEBOOK_EPOCHS, TEST_CHANCE_BOUND, TRAIN_CHANCE_BOUND,
                           ReferenceModel, mnist_tensors, reference_choose_weight_decay, reference_l2,
                           reference_run_epoch, run_sweep, trusted_accuracy)
from nnkit.grading.api import seed_everything

FULL = dict(train_subset=60_000, test_subset=10_000)
# Chance bounds (majority rate + 4 binomial standard errors) on the full sets: majority 0.1124 (train), 0.1135 (test).
FULL_TRAIN_BOUND, FULL_TEST_BOUND = 0.117, 0.126


@functools.lru_cache(maxsize=None)
def _run(protocol, wd, seed, device):
    flush = torch.set_flush_denormal(True)
    try:
        if protocol == "graders":
            history, model = run_sweep(reference_run_epoch, wd, seed, device, epochs=EPOCHS)
        else:
            history, model = run_sweep(reference_run_epoch, wd, seed, device, epochs=NOTEBOOK_EPOCHS, **FULL)
    finally:
        torch.set_flush_denormal(False) if flush else None
    train_x, train_y, _, _ = mnist_tensors(**(FULL if protocol == "notebook" else {}))
    return history, reference_l2(model).item(), trusted_accuracy(model, train_x, train_y, device)


def _acc(protocol, wd, phase, epoch):
    """Accuracy run_epoch reported for `phase` at `epoch` (1-based; "max" = largest over epochs)."""
    def measure(seed, device):
        history = _run(protocol, wd, seed, str(device))[0]
        values = [h[phase][1] for h in history]
        return max(values) if epoch == "max" else values[epoch - 1]
    return measure


def _loss(protocol, wd, phase, epoch):
    def measure(seed, device):
        return _run(protocol, wd, seed, str(device))[0][epoch - 1][phase][0]
    return measure


def _trusted_train(protocol, wd):
    """Accuracy of the final model on the protocol's training images, measured by the reference."""
    return lambda seed, device: _run(protocol, wd, seed, str(device))[2]


def _rule(seed, device):
    """(k, L2 after training, L2 at initialisation, chosen wd) for the notebook's rule of thumb."""
    history, l2_trained, _ = _run("notebook", 0.0, seed, str(device))
    k = history[-1]["train"][0]
    seed_everything(seed)
    l2_init = reference_l2(ReferenceModel()).item()
    return k, l2_trained, l2_init, reference_choose_weight_decay(k, l2_trained)


def _rule_stat(index):
    return lambda seed, device: _rule(seed, device)[index]


def _rule_run_gap(seed, device):
    """Epoch-3 test accuracy with the rule's weight decay minus that of the unregularised run."""
    wd = _rule(seed, device)[3]
    return _run("notebook", wd, seed, str(device))[0][-1]["test"][1] - _run("notebook", 0.0, seed, str(device))[0][-1]["test"][1]


def _underfit_gap(seed, device):
    """Epoch-3 training accuracy without weight decay minus that with weight decay 0.1."""
    return _acc("notebook", 0.0, "train", 3)(seed, device) - _acc("notebook", 0.1, "train", 3)(seed, device)


G, N = "graders", "notebook"
CLAIMS = [
    # --- the graders' protocol (test_regimes.py) ---
    Claim("graders: wd=10 train accuracy at chance, every epoch", "max train accuracy over 2 epochs", "<=", TRAIN_CHANCE_BOUND, _acc(G, 10.0, "train", "max")),
    Claim("graders: wd=10 test accuracy at chance, every epoch", "max test accuracy over 2 epochs", "<=", TEST_CHANCE_BOUND, _acc(G, 10.0, "test", "max")),
    Claim("graders: wd=1 final model at chance on the training images", "train accuracy after 2 epochs", "<=", TRAIN_CHANCE_BOUND, _trusted_train(G, 1.0)),
    Claim("graders: wd=1 epoch-2 train accuracy (running)", "epoch-2 train accuracy", "<=", 0.2, _acc(G, 1.0, "train", 2)),
    Claim("graders: wd=1 test accuracy at chance by epoch 2", "epoch-2 test accuracy", "<=", TEST_CHANCE_BOUND, _acc(G, 1.0, "test", 2)),
    Claim("graders: wd=0.1 learns (train)", "epoch-2 train accuracy", ">=", LEARNING_FLOOR, _acc(G, 0.1, "train", 2)),
    Claim("graders: wd=0.1 learns (test)", "epoch-2 test accuracy", ">=", LEARNING_FLOOR, _acc(G, 0.1, "test", 2)),
    Claim("graders: wd=0.1 final model learned (train images)", "train accuracy after 2 epochs", ">=", LEARNING_FLOOR, _trusted_train(G, 0.1)),
    # --- the notebook's protocol (quoted in its prose) ---
    Claim("notebook: wd=10 train accuracy at chance", "max train accuracy over 3 epochs", "<=", FULL_TRAIN_BOUND, _acc(N, 10.0, "train", "max")),
    Claim("notebook: wd=10 test accuracy at chance", "max test accuracy over 3 epochs", "<=", FULL_TEST_BOUND, _acc(N, 10.0, "test", "max")),
    Claim("notebook: wd=10 final-model train accuracy", "train accuracy after 3 epochs", "<=", FULL_TRAIN_BOUND, _trusted_train(N, 10.0)),
    Claim("notebook: wd=1 epoch-1 train accuracy", "epoch-1 train accuracy", "<=", 0.25, _acc(N, 1.0, "train", 1)),
    Claim("notebook: wd=1 test accuracy at chance", "max test accuracy over 3 epochs", "<=", FULL_TEST_BOUND, _acc(N, 1.0, "test", "max")),
    Claim("notebook: wd=1 epoch-2 train accuracy", "epoch-2 train accuracy", "<=", FULL_TRAIN_BOUND, _acc(N, 1.0, "train", 2)),
    Claim("notebook: wd=1 train accuracy at chance from epoch 2", "epoch-3 train accuracy", "<=", FULL_TRAIN_BOUND, _acc(N, 1.0, "train", 3)),
    Claim("notebook: wd=0.1 epoch-1 train accuracy", "epoch-1 train accuracy", ">=", 0.6, _acc(N, 0.1, "train", 1)),
    Claim("notebook: wd=0.1 epoch-1 test accuracy", "epoch-1 test accuracy", ">=", 0.75, _acc(N, 0.1, "test", 1)),
    Claim("notebook: wd=0.1 epoch-3 train accuracy", "epoch-3 train accuracy", ">=", 0.8, _acc(N, 0.1, "train", 3)),
    Claim("notebook: wd=0.1 epoch-3 test accuracy", "epoch-3 test accuracy", ">=", 0.8, _acc(N, 0.1, "test", 3)),
    Claim("notebook: wd=0 epoch-3 train accuracy", "epoch-3 train accuracy", ">=", 0.85, _acc(N, 0.0, "train", 3)),
    Claim("notebook: wd=0 epoch-3 test accuracy", "epoch-3 test accuracy", ">=", 0.85, _acc(N, 0.0, "test", 3)),
    Claim("notebook: wd=0.1 underfits compared with wd=0", "epoch-3 train accuracy, wd=0 minus wd=0.1", ">", 0.0, _underfit_gap),
    Claim("notebook: k, the wd=0 last-epoch train loss", "epoch-3 train loss (wd=0)", "<=", 1.0, _loss(N, 0.0, "train", 3)),
    Claim("notebook: L2 of the trained wd=0 model", "sum of squared parameters", ">=", 50.0, _rule_stat(1)),
    Claim("notebook: L2 at initialisation", "sum of squared parameters", ">=", 50.0, _rule_stat(2)),
    Claim("notebook: the rule picks wd=0.001 (upper)", "chosen weight decay", "<=", 0.001, _rule_stat(3)),
    Claim("notebook: the rule picks wd=0.001 (lower)", "chosen weight decay", ">=", 0.001, _rule_stat(3)),
    Claim("notebook: wd from the rule vs wd=0", "epoch-3 test accuracy, rule minus wd=0", ">=", -0.01, _rule_run_gap),
]
