"""Hidden graders for `he_normal_` and `glorot_normal_`: the spread, the shape of the
distribution, fan-in/fan-out for Linear and Conv weights, in-place use, the generator, and
that they draw the numbers themselves (not through torch.nn.init's kaiming_* / xavier_*).

Tolerances are six standard errors of the estimate, so a correct initialiser fails
with probability below 1e-8 while fan-in/fan-out mix-ups (a 40%+ change) always fail.
"""
import math

import pytest
import torch

from nnkit.grading.checks import expect, identical, real_tensor
from ps1_reference import library_initialisers_called

KINDS = [pytest.param("he", marks=pytest.mark.grade_cell("hidden_he")),
         pytest.param("glorot", marks=pytest.mark.grade_cell("hidden_glorot"))]
SHAPES = {"Linear(2000→20)": (20, 2000), "Linear(20→2000)": (2000, 20), "Conv2d(16→8, 5×5)": (8, 16, 5, 5)}
_erf = math.erf
_manual_seed = torch.manual_seed


def _fans(shape):
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _expected_std(kind, shape):
    fan_in, fan_out = _fans(shape)
    return math.sqrt(2.0 / fan_in) if kind == "he" else math.sqrt(2.0 / (fan_in + fan_out))


def _initialise(submission, kind, shape, generator=None):
    init = submission.he_normal_ if kind == "he" else submission.glorot_normal_
    tensor = torch.full(shape, 7.0)
    pointer = tensor.data_ptr()
    returned = init(tensor, generator=generator)
    name = f"{init.__name__ if hasattr(init, '__name__') else kind}"
    expect(returned is tensor, f"{name} should return the tensor it was given (it works in place).")
    expect(tensor.data_ptr() == pointer, f"{name} should fill the tensor in place, not replace its storage.")
    return real_tensor(tensor, name)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layer", list(SHAPES))
def test_spread_matches_formula(submission, kind, layer):
    shape = SHAPES[layer]
    values = _initialise(submission, kind, shape, torch.Generator().manual_seed(0)).double().flatten()
    n, sigma = values.numel(), _expected_std(kind, shape)
    mean, std = values.mean().item(), values.std().item()
    label = "He" if kind == "he" else "Glorot"
    # The spread first: a wrong fan (the usual mistake) also moves the mean outside its band,
    # whose width scales with the expected std, and the message must point at the spread.
    expect(abs(std - sigma) <= 6 * sigma / math.sqrt(2 * n),
           f"{label} on a {layer} weight: std {std:.4f}, expected {sigma:.4f} (mean {mean:.4f}). Check "
           "fan-in/fan-out (for Conv weights they include the kernel size).")
    expect(abs(mean) <= 6 * sigma / math.sqrt(n), f"{label} on a {layer} weight: mean {mean:.4f} should be 0 "
           f"(the std, {std:.4f}, is right).")
    inside = (values.abs() <= sigma).double().mean().item()
    expect(abs(inside - _erf(1 / math.sqrt(2))) <= 6 * math.sqrt(0.25 / n),
           f"{label} on a {layer} weight: {inside:.3f} of the values lie within one std; a normal "
           "distribution has 0.683. Draw from a normal, not a uniform.")


@pytest.mark.parametrize("kind", KINDS)
def test_generator_is_used(submission, kind):
    # The global RNG is set to two different states, so that weights drawn from it (and not
    # from `generator`) differ whatever state the previous test left behind.
    _manual_seed(123)
    a = _initialise(submission, kind, (30, 40), torch.Generator().manual_seed(1)).clone()
    _manual_seed(999)
    b = _initialise(submission, kind, (30, 40), torch.Generator().manual_seed(1))
    expect(identical(a, b), "The same generator seed gave different weights: pass `generator` to the random call.")


@pytest.mark.parametrize("kind", KINDS)
def test_drawn_by_hand(submission, kind):
    """The notebook's "implement it yourself" rule: no torch.nn.init kaiming_* / xavier_*."""
    _, used = library_initialisers_called(
        lambda: _initialise(submission, kind, (30, 40), torch.Generator().manual_seed(0)))
    label = "he_normal_" if kind == "he" else "glorot_normal_"
    expect(not used, f"{label} calls PyTorch's own {', '.join(used)}: draw the numbers yourself "
                     "(for example with tensor.normal_), as the notebook asks.")
