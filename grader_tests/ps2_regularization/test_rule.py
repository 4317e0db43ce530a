"""Hidden graders for `l2_penalty` and `choose_weight_decay`."""
import copy
import math

import pytest
import torch

from nnkit.grading.api import StudentRaised, close, expect, real_float, real_tensor, seed_everything, type_name, watched
from ps2_reference import ReferenceModel, reference_choose_weight_decay

_cross_entropy = torch.nn.functional.cross_entropy


def _bn_net():
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(12, 4))
    net(torch.randn(5, 2, 4, 4) * 3 + 1)  # moves batch norm's running statistics (buffers) away from 0 and 1
    return net


MODELS = {"the MNIST classifier": lambda: ReferenceModel(), "a Conv-BatchNorm-Linear net": _bn_net,
          "a single Linear(5, 3)": lambda: torch.nn.Linear(5, 3)}


def _scale(model, seed):
    # Rescale every parameter differently, so that no layer is negligible and biases matter.
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.5 + 3 * torch.rand((), generator=generator)).add_(0.3)
    return model


def _penalty(submission, model, name):
    value = submission.l2_penalty(model)
    expect(type(value) is torch.Tensor, f"l2_penalty should return a tensor, got {type_name(value)}.")
    expect(value.numel() == 1, f"l2_penalty should return a single number (a 0-dim tensor), got shape {tuple(value.shape)}.")
    return value


def _penalty_backward(submission, model, name, scale=1.0):
    """Back-propagate scale * l2_penalty(model) in the probe (autograd does not cross processes):
    afterwards each parameter's .grad is scale * dL2/dθ, or None where L2 does not depend on it."""
    value = _penalty(submission, model, name)
    try:
        watched(submission.l2_penalty, model, backward=torch.full(value.shape, float(scale)))
    except StudentRaised as raised:
        if "does not require grad" not in str(raised):
            raise
        expect(False, f"l2_penalty on {name} is not differentiable: keep it a tensor in the autograd graph (no .item(), no detach).")


@pytest.mark.grade_cell("hidden_l2_penalty")
@pytest.mark.parametrize("name", list(MODELS))
def test_l2_value(submission, name):
    seed_everything(3)
    model = _scale(MODELS[name](), 3)
    got = real_tensor(_penalty(submission, model, name), "l2_penalty(model)").double().reshape(())
    want = sum((p.detach().double() ** 2).sum() for p in model.parameters())
    expect(abs(got.item() - want.item()) <= 1e-5 * want.item(),
           f"l2_penalty on {name} is wrong: it should be the sum of the squares of every entry of every "
           "parameter (weights and biases; no square root; buffers excluded).")


@pytest.mark.grade_cell("hidden_l2_penalty")
@pytest.mark.parametrize("name", list(MODELS))
def test_l2_gradient_is_weight_decay(submission, name):
    seed_everything(4)
    model = _scale(MODELS[name](), 4)
    _penalty_backward(submission, model, name)
    params = list(model.parameters())
    grads = [p.grad for p in params]
    expect(all(g is not None for g in grads), f"l2_penalty on {name} does not depend on every parameter.")
    expect(all(close(g, 2 * p.detach(), rtol=1e-4, atol=1e-6) for g, p in zip(grads, params)),
           f"On {name}, the gradient of l2_penalty with respect to a parameter θ is not 2θ.")


@pytest.mark.grade_cell("hidden_l2_penalty")
def test_penalty_step_equals_sgd_weight_decay(submission):
    seed_everything(5)
    model = _scale(ReferenceModel(8, 8, 1, 10), 5)
    twin = copy.deepcopy(model)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    wd = 0.3
    decayed = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=wd)
    decayed.zero_grad(); _cross_entropy(model(x), y).backward(); decayed.step()
    plain = torch.optim.SGD(twin.parameters(), lr=0.1)
    plain.zero_grad()
    # The gradient of loss + (wd/2) * L2, in two parts that add up: (wd/2) dL2/dθ from the probe
    # (it sets .grad), then the loss's gradient, accumulated here.
    _penalty_backward(submission, twin, "the MNIST classifier", scale=wd / 2)
    _cross_entropy(twin(x), y).backward()
    plain.step()
    expect(all(close(p, q, rtol=1e-5, atol=1e-6) for p, q in zip(model.parameters(), twin.parameters())),
           "One SGD step on loss + (wd/2) * l2_penalty(model) differs from one step of SGD(weight_decay=wd) on the loss.")


# Where (wd / 2) * l2 == k exactly, every algebraically equal form of the rule (wd / 2 * l2 < k,
# wd * l2 / 2 < k, wd * l2 < 2 * k, wd < 2 * k / l2; 10.0 ** n, 1e{n} or math.pow; l2 a float or a
# float32 tensor) computes the boundary exactly, so the forms cannot disagree there: the notebook
# promises it, and tests/test_ps2_rule_boundaries.py checks it for every case below.
CASES = [
    (0.3, 124.7),     # the notebook's situation
    (0.7, 1234.0),
    (1.0, 0.15),      # 2k/L2 = 13.3: the factor 1/2 decides between 1 and 10
    (2.3, 103.5),
    (0.04, 0.5),
    (3.0, 2e-3),      # wd above 1
    (5.0, 1.0),       # (wd/2) L2 = k exactly at wd = 10: strict inequality
    (50.0, 1.0),      # ... at wd = 100
    (25.0, 5.0),      # ... at wd = 10 again
    (0.9, 1.0),       # 2k/L2 = 1.8
]


@pytest.mark.grade_cell("hidden_choose_weight_decay")
@pytest.mark.parametrize("k,l2", CASES)
def test_choose_weight_decay(submission, k, l2):
    got = real_float(submission.choose_weight_decay(k, l2), f"choose_weight_decay({k}, {l2})")
    want = reference_choose_weight_decay(k, l2)
    expect(math.isfinite(got) and abs(got - want) <= 1e-9 * want,
           f"choose_weight_decay(loss_bound={k}, l2={l2}) returned {got:g}, which is not the largest power of ten "
           "wd with (wd / 2) * l2 < loss_bound.")


TENSOR_CASES = [(1.0, 0.15), (5.0, 1.0)]  # the second on the boundary, exact in float32 too


@pytest.mark.grade_cell("hidden_choose_weight_decay")
@pytest.mark.parametrize("k,l2", TENSOR_CASES)
def test_choose_weight_decay_accepts_tensors(submission, k, l2):
    got = real_float(submission.choose_weight_decay(k, torch.tensor(l2)), f"choose_weight_decay({k}, tensor({l2}))")
    want = reference_choose_weight_decay(k, l2)
    expect(abs(got - want) <= 1e-6 * want, f"choose_weight_decay({k}, torch.tensor({l2})) returned {got:g}, which is "
           "not the largest power of ten wd with (wd / 2) * l2 < loss_bound: l2 may be a one-element tensor.")
