"""Behavioural claims of ps4, measured with the reference implementation by `nnkit calibrate`.

Claims marked [graded] are the ones the hidden graders rely on (they use seeds 0-2); the others
are measured for the notebook's prose, several only to record how much they vary from seed to seed.
"""
from functools import lru_cache


from nnkit.calibration import Claim
from ps4_reference import accuracy, run, step_decay_lr



@lru_cache(maxsize=None)
def _run(dataset, seed, device, **kw):
    model, data, history = run(dataset, seed, device=device, **kw)
    return (accuracy(model, data[0], data[1]), accuracy(model, data[2], data[3]),
            tuple(history["train_loss"]), tuple(history["test_loss"]))


def steps_to(curve, level):
    """First step at which the loss is below `level`; the run length (len - 1) if never."""
    return next((k for k, v in enumerate(curve) if v < level), len(curve) - 1)


def rise_ratio(curve, window=100):
    """Mean of the last `window` values / the minimum before them (what is_overfitting compares)."""
    return (sum(curve[-window:]) / window) / min(curve[:-window])


def measure(dataset, what, **kw):
    def value(seed, device):
        train_acc, test_acc, train, test = _run(dataset, seed, str(device), **kw)
        return {"test_acc": test_acc, "train_acc": train_acc, "final_train": train[-1],
                "gap": test[-1] - train[-1], "rise": rise_ratio(test),
                "to_0.2": steps_to(train, 0.2)}[what]
    return value


def decayed(k):
    return step_decay_lr(0.3, k, (1000, 1500), 0.1)


def around(dataset, step, before, after, **kw):
    """Mean train loss over steps [step, step+after) / mean over [step-before, step)."""
    def value(seed, device):
        _, _, train, _ = _run(dataset, seed, str(device), **kw)
        return (sum(train[step:step + after]) / after) / (sum(train[step - before:step]) / before)
    return value


# Graded protocols (the graders import these).
CIRCLE_LINEAR = dict(hidden=(), lr=0.03, steps=1000)
CIRCLE_RELU = dict(activation="relu", lr=0.03, steps=2000)
SPIRAL_OVERFIT = dict(hidden=(6, 6, 6, 6), activation="relu", optimizer="adam", lr=0.01, steps=1500,
                      noise=0.5, train_fraction=0.1)
# Prose-only protocols.
TANH = dict(activation="tanh", lr=0.03, steps=3000)
TANH_SLOW = dict(activation="tanh", lr=0.003, steps=3000)
RELU_3K = dict(activation="relu", lr=0.03, steps=3000)
SIGMOID = dict(activation="sigmoid", lr=0.03, steps=2000)
SIGMOID_FAST = dict(activation="sigmoid", lr=0.3, steps=2000)
RELU_FAST = dict(activation="relu", lr=0.3, steps=2000)
DEEP_RELU = dict(hidden=(2,) * 6, activation="relu", lr=0.03, steps=2000)
DEEP_TANH = dict(hidden=(2,) * 6, activation="tanh", lr=0.03, steps=2000)
DECAY = dict(hidden=(6, 6, 6, 6), activation="relu", lr=decayed, steps=2000, noise=0.1)
SWITCH = dict(hidden=(6, 6, 6, 6), activation="relu", optimizer="adam", lr=0.003, steps=2000, noise=0.1,
              switch_at=1000, switch_lr=0.1)

CLAIMS = [
    Claim("[graded] linear model cannot fit the circle", "test accuracy after 1000 steps", "<=", 0.75,
          measure("circle", "test_acc", **CIRCLE_LINEAR)),
    Claim("[graded] 4-2 ReLU net, lr 0.03, solves the circle", "test accuracy after 2000 steps", ">=", 0.9,
          measure("circle", "test_acc", **CIRCLE_RELU)),
    Claim("[graded] noisy spiral, 10% train: train/test gap", "final test loss - final train loss", ">=", 0.3,
          measure("spiral", "gap", **SPIRAL_OVERFIT)),
    Claim("[graded] noisy spiral, 10% train: test loss rises", "mean of last 100 test losses / earlier min",
          ">=", 1.05, measure("spiral", "rise", **SPIRAL_OVERFIT)),
    Claim("[graded] circle ReLU run does not overfit", "mean of last 100 test losses / earlier min",
          "<=", 1.02, measure("circle", "rise", **CIRCLE_RELU)),
    Claim("ReLU 4-2, lr 0.03: steps to train loss < 0.2", "steps (2000 = not within the run)", "<=", 2000,
          measure("circle", "to_0.2", **CIRCLE_RELU)),
    Claim("tanh 4-2, lr 0.03: steps to train loss < 0.2", "steps (3000 = not within the run)", "<=", 3000,
          measure("circle", "to_0.2", **TANH)),
    Claim("tanh 4-2, lr 0.03: test accuracy", "test accuracy after 3000 steps", ">=", 0,
          measure("circle", "test_acc", **TANH)),
    Claim("tanh 4-2, lr 0.003: still on the plateau", "train loss after 3000 steps", ">=", 0.5,
          measure("circle", "final_train", **TANH_SLOW)),
    Claim("sigmoid 4-2, lr 0.03: does not learn", "train loss after 2000 steps", ">=", 0.6,
          measure("circle", "final_train", **SIGMOID)),
    Claim("sigmoid 4-2, lr 0.3: steps to train loss < 0.2", "steps (2000 = not within the run)", "<=", 2000,
          measure("circle", "to_0.2", **SIGMOID_FAST)),
    Claim("ReLU 4-2, lr 0.3: steps to train loss < 0.2", "steps (2000 = not within the run)", "<=", 2000,
          measure("circle", "to_0.2", **RELU_FAST)),
    Claim("6x2 ReLU, lr 0.03: fails on the circle", "test accuracy after 2000 steps", "<=", 0.75,
          measure("circle", "test_acc", **DEEP_RELU)),
    Claim("6x2 tanh, lr 0.03: fails on the circle", "test accuracy after 2000 steps", "<=", 0.75,
          measure("circle", "test_acc", **DEEP_TANH)),
    Claim("step decay x0.1 at 1000: loss after / before", "mean train loss steps 1000-1049 / 950-999", "<=", 1.05,
          around("spiral", 1000, 50, 50, **DECAY)),
    Claim("step decay x0.1 at 1500: loss after / before", "mean train loss steps 1500-1549 / 1450-1499", "<=", 1.05,
          around("spiral", 1500, 50, 50, **DECAY)),
    Claim("Adam -> SGD at 1000: loss right after the switch", "mean train loss steps 1000-1049 / 950-999",
          ">=", 0, around("spiral", 1000, 50, 50, **SWITCH)),
]
