"""Behavioural claims of ps3, measured with the reference solution by `nnkit calibrate`.

The experiments run exactly the notebook's code: the source notebook's module cells (the
reference BatchNorm1d, Dropout, DropBlock2d) and its `experiment_helpers` cell are executed here.
The statistical graders' protocols come from ps3_reference.py, as in the graders.
MNIST: set $MNIST_ROOT (or pass `nnkit --mnist-root`).
"""
import functools
from pathlib import Path

import nbformat
import torch

import ps3_reference as R
from nnkit.calibration import Claim
from nnkit.grading.notebook import grade_id

_SOURCE = Path(__file__).resolve().parents[2] / "source" / "ps3_normalization" / "normalization.ipynb"


@functools.lru_cache(maxsize=None)
def _notebook():
    nb = nbformat.read(str(_SOURCE), as_version=4)
    namespace = {"__name__": "ps3_notebook"}
    for cell in nb.cells:
        if cell.cell_type == "code" and ("module" in cell.metadata.get("tags", [])
                                         or grade_id(cell) == "experiment_helpers"):
            exec(compile(cell.source, f"<cell {grade_id(cell)}>", "exec"), namespace)
    return namespace


@functools.lru_cache(maxsize=None)
def _mnist():
    return _notebook()["load_mnist_tensors"]()


@functools.lru_cache(maxsize=None)
def _bn(seed, lr):
    nb = _notebook()
    plain = nb["bn_experiment"](_mnist(), seed, lr=lr)
    bn = nb["bn_experiment"](_mnist(), seed, norm_layer=nb["BatchNorm1d"], lr=lr)
    return plain, bn


def _tail(losses, start, stop):
    part = losses[start:stop]
    return sum(part) / len(part)


def _bn_ratio(start, stop, lr=0.01):
    def measure(seed, device):
        (plain, _), (bn, _) = _bn(seed, lr)
        return _tail(bn, start, stop) / _tail(plain, start, stop)
    return measure


def _bn_loss(which, lr=0.01):
    def measure(seed, device):
        (plain, _), (bn, _) = _bn(seed, lr)
        return _tail(bn if which == "bn" else plain, -50, None)
    return measure


def _bn_acc_gain(lr):
    def measure(seed, device):
        (_, plain_acc), (_, bn_acc) = _bn(seed, lr)
        return bn_acc - plain_acc
    return measure


def _bn_acc(which, lr=0.01):
    def measure(seed, device):
        (_, plain_acc), (_, bn_acc) = _bn(seed, lr)
        return bn_acc if which == "bn" else plain_acc
    return measure


def _bn_gain_shrinks(seed, device):
    return _bn_acc_gain(0.01)(seed, device) - _bn_acc_gain(0.1)(seed, device)


@functools.lru_cache(maxsize=None)
def _drop(seed):
    nb = _notebook()
    Dropout = nb["Dropout"]
    plain = nb["dropout_experiment"](_mnist(), seed)
    dropped = nb["dropout_experiment"](_mnist(), seed, drop_layer=lambda: Dropout(0.5),
                                       input_drop_layer=lambda: Dropout(0.2))
    return plain, dropped


# records: (epoch, train loss, train accuracy, test loss, test accuracy)
def _drop_final(which, column):
    def measure(seed, device):
        plain, dropped = _drop(seed)
        return (plain if which == "plain" else dropped)[-1][column]
    return measure


def _drop_gain(column):
    def measure(seed, device):
        plain, dropped = _drop(seed)
        return dropped[-1][column] - plain[-1][column]
    return measure


def _overfit_rise(seed, device):
    plain, _ = _drop(seed)
    return plain[-1][3] / min(r[3] for r in plain)


def _best_epoch(which):
    def measure(seed, device):
        history = _drop(seed)[0 if which == "plain" else 1]
        return float(min(history, key=lambda r: r[3])[0])
    return measure


def _dropout_z(kind):
    def measure(seed, device):
        worst = 0.0
        for p in R.DROPOUT_RATES:
            layer = _notebook()["Dropout"](p)
            x, y, _ = R.dropout_statistics(layer, p, seed)
            z = R.zero_share_z(y, p) if kind == "zeros" else R.mean_z(x, y, p)
            worst = max(worst, abs(z))
        return worst
    return measure


def _dropblock_z(seed, device):
    worst = 0.0
    for case in R.DROPBLOCK_RATE_CASES:
        z, _ = R.dropblock_rate_z(_notebook()["DropBlock2d"](case[0], case[1]), *case, seed)
        worst = max(worst, abs(z))
    return worst


def _dropblock_rate(drop_prob, k):
    """The notebook's table: realised drop rate on 256 x 4 maps of 16 x 16."""
    def measure(seed, device):
        torch.manual_seed(seed)
        out = _notebook()["DropBlock2d"](drop_prob, k)(torch.ones(256, 4, 16, 16))
        return (out == 0).float().mean().item()
    return measure


def _dropblock_gap(drop_prob, k):
    rate = _dropblock_rate(drop_prob, k)
    return lambda seed, device: abs(rate(seed, device) - drop_prob)


CLAIMS = [
    # graders' statistical bounds (run with the graders' exact protocol)
    Claim("Dropout: share of zeros near p (grader bound)", "max |z| over p = 0.1, 0.25, 0.5, 0.8", "<=", 6, _dropout_z("zeros")),
    Claim("Dropout: mean preserved (grader bound)", "max |z| over p = 0.1, 0.25, 0.5, 0.8", "<=", 6, _dropout_z("mean")),
    Claim("DropBlock: drop rate matches gamma (grader bound)", "max |z| over the 5 rate cases", "<=", 6, _dropblock_z),
    # notebook section 3.2: realised drop rates (16 x 16 maps)
    Claim("DropBlock realised rate, drop_prob 0.1, k=3", "|dropped fraction - 0.1|", "<=", 0.01, _dropblock_gap(0.1, 3)),
    Claim("DropBlock realised rate, drop_prob 0.1, k=7", "|dropped fraction - 0.1|", "<=", 0.01, _dropblock_gap(0.1, 7)),
    Claim("DropBlock realised rate, drop_prob 0.1, k=3", "dropped fraction", ">", 0, _dropblock_rate(0.1, 3)),
    Claim("DropBlock realised rate, drop_prob 0.1, k=7", "dropped fraction", ">", 0, _dropblock_rate(0.1, 7)),
    Claim("DropBlock realised rate, drop_prob 0.4, k=3", "dropped fraction", "<=", 0.35, _dropblock_rate(0.4, 3)),
    Claim("DropBlock realised rate, drop_prob 0.4, k=7", "dropped fraction", "<=", 0.35, _dropblock_rate(0.4, 7)),
    Claim("DropBlock: larger blocks overlap more (drop_prob 0.4)", "rate(k=3) - rate(k=7)", ">", 0,
          lambda seed, device: _dropblock_rate(0.4, 3)(seed, device) - _dropblock_rate(0.4, 7)(seed, device)),
    # notebook section 1.2: BatchNorm and training speed (lr = 0.01)
    Claim("BN: lower loss in the first 50 steps", "mean loss steps 1-50, BN / plain", "<", 1, _bn_ratio(0, 50)),
    Claim("BN: lower loss in the last 50 steps", "mean loss steps 251-300, BN / plain", "<", 1, _bn_ratio(-50, None)),
    Claim("BN: final loss (plain)", "mean loss steps 251-300", ">", 0, _bn_loss("plain")),
    Claim("BN: final loss (BatchNorm)", "mean loss steps 251-300", ">", 0, _bn_loss("bn")),
    Claim("BN: test accuracy (plain)", "test accuracy (2000 images)", ">", 0, _bn_acc("plain")),
    Claim("BN: test accuracy (BatchNorm)", "test accuracy (2000 images)", ">", 0, _bn_acc("bn")),
    Claim("BN: higher test accuracy", "BN - plain test accuracy", ">", 0, _bn_acc_gain(0.01)),
    # question 2's mark scheme: at lr = 0.1
    Claim("BN at lr=0.1: still lower loss", "mean loss steps 251-300, BN / plain", "<", 1, _bn_ratio(-50, None, lr=0.1)),
    Claim("BN at lr=0.1: higher test accuracy", "BN - plain test accuracy", ">", 0, _bn_acc_gain(0.1)),
    Claim("BN: accuracy gain smaller at lr=0.1", "gain at lr 0.01 - gain at lr 0.1", ">", 0, _bn_gain_shrinks),
    # notebook section 2.2: dropout against overfitting
    Claim("no dropout: fits the training set", "final training accuracy", ">=", 1.0, _drop_final("plain", 2)),
    Claim("dropout: still fits the training set", "final training accuracy", ">=", 0.99, _drop_final("dropout", 2)),
    Claim("no dropout: test loss rises after its minimum", "final / minimum test loss", ">", 1.05, _overfit_rise),
    Claim("no dropout: epoch of the minimum test loss", "epoch", "<=", 30, _best_epoch("plain")),
    Claim("no dropout: final test loss", "test loss", ">", 0, _drop_final("plain", 3)),
    Claim("dropout: final test loss", "test loss", ">", 0, _drop_final("dropout", 3)),
    Claim("dropout lowers the final test loss", "plain - dropout final test loss", ">", 0,
          lambda seed, device: -_drop_gain(3)(seed, device)),
    Claim("no dropout: final test accuracy", "test accuracy", ">", 0, _drop_final("plain", 4)),
    Claim("dropout: final test accuracy", "test accuracy", ">", 0, _drop_final("dropout", 4)),
    Claim("dropout raises the final test accuracy", "dropout - plain final test accuracy", ">", 0, _drop_gain(4)),
]
