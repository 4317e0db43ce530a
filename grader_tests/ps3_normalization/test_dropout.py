"""Hidden graders for `Dropout` (inverted dropout).

Statistical checks use 6-standard-deviation bounds on 200,000 units (a correct layer fails one
with probability below 1e-8; calibration/ records the z-scores the reference reaches); the
scaling, the gradient and the edge cases are checked exactly.
"""
import pytest
import torch

from nnkit.grading.api import all_finite, close, expect, is_module, real_tensor
from ps3_reference import (output_like, DROPOUT_RATES, SEEDS, WatchedLayer, dropout_statistics, expect_own_code, forward_backward,
                           mean_z, probe_manual_seed, seed_checker_and_probe, zero_share_z)


def _layer(submission, p, training=True):
    layer = submission.Dropout(p)
    expect(is_module(layer), "Dropout(p) should create a torch.nn.Module.")
    layer.train(training)
    return layer


@pytest.mark.grade_cell("hidden_dropout_mask")
@pytest.mark.parametrize("p", DROPOUT_RATES)
def test_share_of_zeros_and_scale(probe, submission, p, measure):
    manual_seed = probe_manual_seed(probe)
    for seed in SEEDS:
        layer = _layer(submission, p)
        if seed == SEEDS[0]:
            watched_layer = WatchedLayer(layer)
            x, y, n = dropout_statistics(watched_layer, p, seed, manual_seed)
            expect_own_code(watched_layer.torch_functions, "dropout", "Dropout")
        else:
            x, y, n = dropout_statistics(layer, p, seed, manual_seed)
        y = output_like(y, x, f"Dropout({p})(x)")
        z = zero_share_z(y, p)
        measure(f"dropout/p={p:g}/seed={seed}", {"keep_rate": (y != 0).double().mean(), "z": z})
        expect(abs(z) <= 6, f"Dropout({p}), seed {seed}: the share of zeros is {z:+.1f} binomial standard deviations "
                            f"from p (allowed: 6). Each unit must be dropped with probability p.")
        kept = y != 0
        expect(close(y[kept], x[kept] / (1 - p), rtol=1e-6, atol=0),
               f"Dropout({p}), seed {seed}: the kept units are not x / (1 - p).")
        zm = mean_z(x, y, p)
        expect(abs(zm) <= 6, f"Dropout({p}), seed {seed}: the mean of the output is {zm:+.1f} standard deviations "
                             "from the mean of the input (allowed: 6); inverted dropout preserves the mean.")


@pytest.mark.grade_cell("hidden_dropout_mask")
def test_fresh_mask_and_global_seed(probe, submission):
    manual_seed = probe_manual_seed(probe)  # the generator the student's layer draws from
    layer = _layer(submission, 0.5)
    x = torch.rand(60, 70) + 0.5
    manual_seed(7)
    first = output_like(layer(x), x, "Dropout(0.5)(x)").clone()
    second = output_like(layer(x), x, "Dropout(0.5)(x)").clone()
    expect(not close(first, second, rtol=0, atol=0),
           "Two calls of Dropout(0.5) on the same input gave the same mask: draw a new mask on every call.")
    manual_seed(7)
    again = output_like(layer(x), x, "Dropout(0.5)(x)")
    expect(close(first, again, rtol=0, atol=0),
           "After torch.manual_seed(7) the mask was different: draw it with torch's global generator "
           "(torch.rand_like or torch.bernoulli).")


@pytest.mark.grade_cell("hidden_dropout_grad")
@pytest.mark.parametrize("p", [0.3, 0.6])
def test_gradient_through_kept_units(probe, submission, p):
    for seed in SEEDS:
        seed_checker_and_probe(probe, seed)
        layer = _layer(submission, p)
        x = (torch.rand(50, 40, dtype=torch.float64) + 0.5).requires_grad_(True)
        upstream = torch.randn(x.shape, dtype=torch.float64)
        out, _, backward_failed = forward_backward(layer, x, upstream)
        y = output_like(out, x, f"Dropout({p})(x)")
        expect(backward_failed is None, f"Dropout({p}): the output does not depend differentiably on the input.")
        grad = x.grad
        expect(grad is not None, f"Dropout({p}): no gradient reaches the input.")
        kept = (y != 0).double()
        expect(close(real_tensor(grad, "the gradient"), upstream * kept / (1 - p), rtol=1e-6, atol=1e-12),
               f"Dropout({p}), seed {seed}: the gradient should be 1 / (1 - p) on kept units and 0 on dropped ones.")


@pytest.mark.grade_cell("hidden_dropout_eval")
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_eval_is_identity(probe, submission, p):
    manual_seed = probe_manual_seed(probe)
    layer = _layer(submission, p, training=False)
    x = torch.randn(30, 40)
    for seed in SEEDS:
        manual_seed(seed)
        y = output_like(layer(x), x, f"Dropout({p}) in evaluation mode")
        expect(close(y, x, rtol=0, atol=0),
               f"Dropout({p}) in evaluation mode changed its input: in eval mode inverted dropout is the identity "
               "(nothing dropped, nothing scaled).")


@pytest.mark.grade_cell("hidden_dropout_eval")
def test_p_zero_and_p_one(submission):
    x = torch.randn(30, 40)
    y = output_like(_layer(submission, 0.0)(x), x, "Dropout(0.0)(x)")
    expect(close(y, x, rtol=0, atol=0), "Dropout(0.0) in training mode should return its input unchanged.")
    y = output_like(_layer(submission, 1.0)(x), x, "Dropout(1.0)(x)")
    expect(all_finite(y), "Dropout(1.0) returned nan or inf: with p = 1 every unit is dropped; return zeros.")
    expect(close(y, torch.zeros_like(x), rtol=0, atol=0), "Dropout(1.0) in training mode should return zeros.")
