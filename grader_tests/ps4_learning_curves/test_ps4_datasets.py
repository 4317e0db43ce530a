"""Hidden graders for the four Playground data sets and the train/test split.

Statistical checks use six standard errors, so a correct generator fails with probability
below 1e-8 per check, while every plausible slip (wrong radius band, missing padding, variance
taken as a standard deviation, noise scaled wrongly) moves the statistic by far more.
"""
import math

import pytest
import torch

from nnkit.grading.api import close, expect, identical, real_tensor
from ps4_reference import DATASETS, spiral_points

_norm, _sort, _unique = torch.linalg.vector_norm, torch.sort, torch.unique
_sqrt = math.sqrt


def _data(submission, name, n, noise, seed=0):
    fn = getattr(submission, f"{name}_data")
    out = fn(n, noise, generator=torch.Generator().manual_seed(seed))
    expect(isinstance(out, tuple) and len(out) == 2, f"{name}_data should return a tuple (x, y).")
    x, y = real_tensor(out[0], f"x from {name}_data"), real_tensor(out[1], f"y from {name}_data")
    expect(tuple(x.shape) == (n, 2), f"{name}_data({n}, ...) should return x of shape ({n}, 2), got {tuple(x.shape)}.")
    expect(tuple(y.shape) == (n,), f"{name}_data({n}, ...) should return y of shape ({n},), got {tuple(y.shape)}.")
    expect(x.dtype == torch.float32 and y.dtype == torch.float32, f"{name}_data should return float32 tensors.")
    expect(bool(((y == 0) | (y == 1)).all()), f"{name}_data: every label should be 0.0 or 1.0.")
    return x.cpu(), y.cpu()


def _within(value, target, se, what):
    expect(abs(value - target) <= 6 * se, what)


def _flip_rate(rule, x, y):
    return (rule(x).float() != y).float().mean().item()


def _reference_flip_rate(name, rule, noise):
    x, y = DATASETS[name](200_000, noise, generator=torch.Generator().manual_seed(12345))
    return _flip_rate(rule, x, y)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.grade_cell(f"hidden_{n}"))
                                  for n in ("circle", "xor", "gauss", "spiral")])
def test_generator_reproducible(submission, probe, name):
    a = _data(submission, name, 300, 0.3, seed=4)
    probe.seed(777)  # the global RNG must not matter when a generator is passed
    b = _data(submission, name, 300, 0.3, seed=4)
    c = _data(submission, name, 300, 0.3, seed=5)
    expect(identical(a[0], b[0]) and identical(a[1], b[1]),
           f"{name}_data: the same generator seed gave different data; draw every random number with `generator`.")
    expect(not identical(a[0], c[0]) or not identical(a[1], c[1]),
           f"{name}_data: two different generator seeds gave identical data with noise 0.3.")


# ---------------------------------------------------------------- circle
def _inside(x):
    return _norm(x, dim=1) < 2.5


@pytest.mark.grade_cell("hidden_circle")
@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_circle_geometry(submission, noise):
    x, y = _data(submission, "circle", 4000, noise)
    r = _norm(x.double(), dim=1)
    expect(bool(((r <= 2.5 + 1e-5) | ((r >= 3.5 - 1e-5) & (r <= 5 + 1e-5))).all()),
           f"circle_data(noise={noise}): some points have a radius outside [0, 2.5] and [3.5, 5]. "
           "Noise changes labels, not positions.")
    inner = r <= 2.5 + 1e-5
    expect(int(inner.sum()) == 2000, f"circle_data(4000, noise={noise}): {int(inner.sum())} points lie in the "
           "inner disc; expected n_samples // 2.")
    _within(r[inner].mean().item(), 1.25, 2.5 / _sqrt(12 * 2000),
            f"circle_data: the inner radii are not uniform on [0, 2.5] (their mean is {r[inner].mean().item():.3f}).")
    _within(r[~inner].mean().item(), 4.25, 1.5 / _sqrt(12 * 2000),
            f"circle_data: the outer radii are not uniform on [3.5, 5] (their mean is {r[~inner].mean().item():.3f}).")
    for j, axis in enumerate("xy"):
        _within(x[:, j].double().mean().item(), 0.0, 3.2 / _sqrt(4000),
                f"circle_data: the {axis} coordinates are not centred on 0: are the angles uniform on [0, 2π)?")


@pytest.mark.grade_cell("hidden_circle")
def test_circle_labels_without_noise(submission):
    x, y = _data(submission, "circle", 1000, 0.0)
    expect(bool((_inside(x).float() == y).all()),
           "circle_data(noise=0): label 1 should mark exactly the points of the inner disc (radius < 2.5).")


@pytest.mark.grade_cell("hidden_circle")
@pytest.mark.parametrize("noise", [0.2, 0.5])
def test_circle_label_noise(submission, noise):
    x, y = _data(submission, "circle", 20000, noise, seed=3)
    p = _reference_flip_rate("circle", _inside, noise)
    got = _flip_rate(_inside, x, y)
    _within(got, p, _sqrt(p * (1 - p) / 20000) + 0.002,
            f"circle_data(noise={noise}): {got:.3f} of the labels disagree with the disc; check how the noise "
            "is drawn (uniform(-radius, radius) * noise per coordinate, added to a copy used only for the label).")


# ---------------------------------------------------------------- xor
def _xor_rule(x):
    return x[:, 0] * x[:, 1] >= 0


@pytest.mark.grade_cell("hidden_xor")
@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_xor_geometry(submission, noise):
    x, y = _data(submission, "xor", 4000, noise)
    a = x.double().abs()
    expect(bool(((a >= 0.3 - 1e-5) & (a <= 5.3 + 1e-5)).all()),
           f"xor_data(noise={noise}): every coordinate should satisfy 0.3 <= |x| <= 5.3 (uniform on [-5, 5], "
           "then pushed 0.3 away from 0). Noise changes labels, not positions.")
    _within(a.mean().item(), 2.8, 5 / _sqrt(12 * 8000), "xor_data: the coordinates are not uniform on [-5, 5] before padding.")
    for j in range(2):
        _within((x[:, j] > 0).double().mean().item(), 0.5, 0.5 / _sqrt(4000),
                "xor_data: positive and negative coordinates should be equally likely.")


@pytest.mark.grade_cell("hidden_xor")
def test_xor_labels_without_noise(submission):
    x, y = _data(submission, "xor", 1000, 0.0)
    expect(bool((_xor_rule(x).float() == y).all()),
           "xor_data(noise=0): label 1 should mark exactly the points with x1 * x2 >= 0.")


@pytest.mark.grade_cell("hidden_xor")
@pytest.mark.parametrize("noise", [0.2, 0.5])
def test_xor_label_noise(submission, noise):
    x, y = _data(submission, "xor", 20000, noise, seed=3)
    p = _reference_flip_rate("xor", _xor_rule, noise)
    got = _flip_rate(_xor_rule, x, y)
    _within(got, p, _sqrt(p * (1 - p) / 20000) + 0.002,
            f"xor_data(noise={noise}): {got:.3f} of the labels disagree with the sign rule; check how the noise "
            "is drawn (uniform(-5, 5) * noise per coordinate, added to a copy used only for the label).")


# ---------------------------------------------------------------- gauss
@pytest.mark.grade_cell("hidden_gauss")
@pytest.mark.parametrize("noise", [0.0, 0.2, 0.5])
def test_gauss_means_and_spread(submission, noise):
    n = 6000
    x, y = _data(submission, "gauss", n, noise)
    expect(int(y.sum()) == n // 2, f"gauss_data({n}, ...) should give n_samples // 2 points of label 1.")
    std = _sqrt(0.5 + 7 * noise)
    for label, centre in ((1.0, 2.0), (0.0, -2.0)):
        pts = x[y == label].double()
        for j in range(2):
            _within(pts[:, j].mean().item(), centre, std / _sqrt(n // 2),
                    f"gauss_data(noise={noise}): the points of label {label:g} are not centred where they should be.")
            _within(pts[:, j].std().item(), std, std / _sqrt(n),
                    f"gauss_data(noise={noise}): the spread of label {label:g} is {pts[:, j].std().item():.3f} per "
                    "coordinate. The Playground scales the *variance* linearly with the noise.")
        inside = ((pts - centre).abs() <= std).double().mean().item()
        _within(inside, 0.6827, 0.5 / _sqrt(2 * (n // 2)), f"gauss_data(noise={noise}): the points are not normally distributed.")


# ---------------------------------------------------------------- spiral
@pytest.mark.grade_cell("hidden_spiral")
@pytest.mark.parametrize("n", [200, 37])
def test_spiral_points_without_noise(submission, n):
    x, y = _data(submission, "spiral", n, 0.0)
    pos, neg = spiral_points(n)
    k = n // 2
    expect(bool((y[:k] == 1).all() and (y[k:] == 0).all()),
           f"spiral_data({n}): the first n_samples // 2 points should have label 1 and the rest label 0.")
    expect(close(x[:k], pos, atol=1e-4, rtol=0),
           f"spiral_data({n}, noise=0): the label-1 arm is not r = 5 i / n, t = 1.75 * 2π i / n (i = 0, 1, ...).")
    expect(close(x[k:], neg, atol=1e-4, rtol=0),
           f"spiral_data({n}, noise=0): the label-0 arm is not the label-1 arm turned by π.")


@pytest.mark.grade_cell("hidden_spiral")
def test_spiral_noise(submission):
    n, noise = 4000, 0.5
    x, _ = _data(submission, "spiral", n, noise, seed=2)
    pos, neg = spiral_points(n)
    shift = (x.double() - torch.cat([pos, neg])).flatten()
    expect(bool((shift.abs() <= noise + 1e-4).all()),
           "spiral_data(noise=0.5): some points moved further than `noise` from the spiral in x or y.")
    _within(shift.mean().item(), 0.0, noise / _sqrt(3 * 2 * n), "spiral_data: the noise is not centred on 0.")
    _within(shift.std().item(), noise / _sqrt(3), noise / _sqrt(2 * n),
            "spiral_data: the noise is not uniform(-1, 1) * noise in each coordinate.")


# ---------------------------------------------------------------- split
def _split(submission, x, y, fraction, seed):
    out = submission.train_test_split(x, y, fraction, generator=torch.Generator().manual_seed(seed))
    expect(isinstance(out, tuple) and len(out) == 4,
           "train_test_split should return a tuple (x_train, y_train, x_test, y_test).")
    return [real_tensor(t, "each part returned by train_test_split") for t in out]


def _ids(n):
    ids = torch.arange(n, dtype=torch.float32)
    return torch.stack([ids, -ids], dim=1), (ids >= n // 2).float() + 2 * ids


@pytest.mark.grade_cell("hidden_split")
@pytest.mark.parametrize("n,fraction,n_train", [(200, 0.5, 100), (200, 0.3, 60), (51, 0.5, 25), (200, 0.1, 20)])
def test_split_partitions_the_data(submission, n, fraction, n_train):
    x, y = _ids(n)
    xtr, ytr, xte, yte = _split(submission, x, y, fraction, seed=n)
    expect(tuple(xtr.shape) == (n_train, 2) and tuple(ytr.shape) == (n_train,),
           f"train_test_split of {n} points with train_fraction={fraction} should give {n_train} training points.")
    expect(tuple(xte.shape) == (n - n_train, 2) and tuple(yte.shape) == (n - n_train,),
           f"train_test_split of {n} points with train_fraction={fraction} should give {n - n_train} test points.")
    ids = torch.cat([xtr[:, 0], xte[:, 0]])
    expect(bool((_sort(ids).values == torch.arange(n, dtype=torch.float32)).all()),
           "train_test_split: every point should land in exactly one of the two sets (no repeats, none lost).")
    expect(bool((ytr == (xtr[:, 0] >= n // 2).float() + 2 * xtr[:, 0]).all()) and
           bool((yte == (xte[:, 0] >= n // 2).float() + 2 * xte[:, 0]).all()),
           "train_test_split: each label should stay with its own point.")


@pytest.mark.grade_cell("hidden_split")
def test_split_is_random_and_reproducible(submission, probe):
    x, y = _ids(2000)
    a = _split(submission, x, y, 0.5, seed=1)
    probe.seed(4321)
    b = _split(submission, x, y, 0.5, seed=1)
    c = _split(submission, x, y, 0.5, seed=2)
    expect(identical(a[0], b[0]), "train_test_split: the same generator seed gave different splits; use `generator`.")
    expect(not identical(a[0], c[0]), "train_test_split: different generator seeds gave the same split.")
    late = (a[0][:, 0] >= 1000).double().mean().item()
    _within(late, 0.5, 0.5 / _sqrt(1000) * _sqrt(0.5),
            "train_test_split: the training set is not a uniformly random subset (the data sets list one class "
            "first, so the split must shuffle).")
