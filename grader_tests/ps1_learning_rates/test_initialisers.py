"""Hidden graders for `he_normal_` and `glorot_normal_`: the spread, the shape of the
distribution, fan-in/fan-out for Linear and Conv weights, in-place use, the generator, and
that they draw the numbers themselves (not through torch.nn.init's kaiming_* / xavier_*).

Tolerances are six standard errors of the estimate, so a correct initialiser fails
with probability below 1e-8 while fan-in/fan-out mix-ups (a 40%+ change) always fail.
"""
import math

import pytest
import torch

from nnkit.grading.api import expect, identical, real_tensor, watched
from ps1_reference import library_initialisers

KINDS = [pytest.param("he", marks=pytest.mark.grade_cell("hidden_he")),
         pytest.param("glorot", marks=pytest.mark.grade_cell("hidden_glorot"))]
SHAPES = {"Linear(2000→20)": (20, 2000), "Linear(20→2000)": (2000, 20), "Conv2d(16→8, 5×5)": (8, 16, 5, 5)}
_erf = math.erf


def _fans(shape):
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _expected_std(kind, shape):
    fan_in, fan_out = _fans(shape)
    return math.sqrt(2.0 / fan_in) if kind == "he" else math.sqrt(2.0 / (fan_in + fan_out))


def _initialise_watched(submission, probe, kind, shape, generator=None, library=False):
    """(the values the student's initialiser wrote into a tensor of 7s, the watched call: with
    `library`, `call.library` names PyTorch's own initialisers that ran in it)."""
    name = "he_normal_" if kind == "he" else "glorot_normal_"
    init = getattr(submission, name)
    tensor = torch.full(shape, 7.0)
    call = watched(init, tensor, generator=generator, library=library)
    expect(call.value is tensor, f"{name} should return the tensor it was given (it works in place).")
    # The tensor above was a copy in the probe, whose values came back into ours: whether the call
    # swapped its storage shows only on a tensor that stays in the probe.
    kept = probe.keep(torch.full(shape, 7.0))
    pointer = kept.data_ptr()
    init(kept, generator=generator)
    expect(kept.data_ptr() == pointer, f"{name} should fill the tensor in place, not replace its storage.")
    return real_tensor(tensor, name), call


def _initialise(submission, probe, kind, shape, generator=None):
    return _initialise_watched(submission, probe, kind, shape, generator)[0]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layer", list(SHAPES))
def test_spread_matches_formula(submission, probe, kind, layer):
    shape = SHAPES[layer]
    values = _initialise(submission, probe, kind, shape, torch.Generator().manual_seed(0)).double().flatten()
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
def test_generator_is_used(submission, probe, kind):
    # The global RNG is set to two different states, so that weights drawn from it (and not
    # from `generator`) differ whatever state the previous test left behind.
    probe.seed(123)
    a = _initialise(submission, probe, kind, (30, 40), torch.Generator().manual_seed(1)).clone()
    probe.seed(999)
    b = _initialise(submission, probe, kind, (30, 40), torch.Generator().manual_seed(1))
    expect(identical(a, b), "The same generator seed gave different weights: pass `generator` to the random call.")


@pytest.mark.parametrize("kind", KINDS)
def test_drawn_by_hand(submission, probe, kind):
    """The notebook's "implement it yourself" rule: no torch.nn.init kaiming_* / xavier_*."""
    _, call = _initialise_watched(submission, probe, kind, (30, 40), torch.Generator().manual_seed(0), library=True)
    used = library_initialisers(call)
    label = "he_normal_" if kind == "he" else "glorot_normal_"
    expect(not used, f"{label} calls PyTorch's own {', '.join(used)}: draw the numbers yourself "
                     "(for example with tensor.normal_), as the notebook asks.")
