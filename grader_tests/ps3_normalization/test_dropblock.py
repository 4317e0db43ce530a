"""Hidden graders for `DropBlock2d`.

* blocks: every zero of the output (on a strictly positive input) must lie in a whole k x k
  square of zeros inside the map, i.e. the zero set is a union of full blocks;
* rate: the dropped fraction over 1024 maps must match the exact expectation implied by
  gamma = drop_prob / k^2 * HW / ((H-k+1)(W-k+1)), within 6 times an upper bound on its standard
  deviation (Efron-Stein; see ps3_reference.py and calibration/);
* scale: kept units are multiplied by exactly numel / (number kept);
* eval / drop_prob = 0: the identity.
"""
import pytest
import torch

from nnkit.grading.api import close, expect, is_module, real_tensor, watched
from ps3_reference import (output_like, DROPBLOCK_RATE_CASES, LIBRARY_LAYERS, SEEDS, dropblock_rate_z, expect_own_code,
                           forward_backward, full_square_cover, probe_manual_seed, seed_checker_and_probe)

BLOCK_CASES = [(0.2, 1, (8, 4, 10, 10)), (0.2, 3, (8, 4, 16, 16)), (0.25, 5, (8, 4, 15, 15)),
               (0.3, 7, (4, 4, 20, 13))]


def _layer(submission, drop_prob, block_size, training=True):
    layer = submission.DropBlock2d(drop_prob, block_size)
    expect(is_module(layer), "DropBlock2d(drop_prob, block_size) should create a torch.nn.Module.")
    layer.train(training)
    return layer


@pytest.mark.grade_cell("hidden_dropblock_blocks")
@pytest.mark.parametrize("drop_prob,k,shape", BLOCK_CASES)
def test_zeros_form_whole_blocks(probe, submission, drop_prob, k, shape):
    what = f"DropBlock2d({drop_prob}, {k}) on {shape[2]}x{shape[3]} maps"
    for seed in SEEDS:
        seed_checker_and_probe(probe, seed)
        layer = _layer(submission, drop_prob, k)
        x = torch.rand(shape, dtype=torch.float64) + 0.5
        call = watched(layer, x, torch_functions=seed == SEEDS[0], calls_from=LIBRARY_LAYERS)
        if seed == SEEDS[0]:
            expect_own_code(call.torch_functions, "dropblock", "DropBlock2d")
        y = output_like(call.value, x, what)
        zero = y == 0
        expect(bool(zero.any()), f"{what}, seed {seed}: nothing was dropped.")
        covered = full_square_cover(zero, k)
        expect(close(covered.double(), zero.double(), rtol=0, atol=0),
               f"{what}, seed {seed}: some dropped units do not lie in a whole {k}x{k} block of dropped units "
               "inside the map. Sample seeds only where a whole block fits, and expand each into a block.")
        flat = zero.reshape(shape[0] * shape[1], -1)
        masks = [tuple(row.nonzero().flatten().tolist()) for row in flat if bool(row.any())]
        expect(len(masks) < 2 or len(set(masks)) > len(masks) // 2,
               f"{what}, seed {seed}: the masks of different samples and channels are (nearly) the same; "
               "draw the seeds independently for every sample and channel.")


@pytest.mark.grade_cell("hidden_dropblock_rate")
@pytest.mark.parametrize("case", DROPBLOCK_RATE_CASES, ids=lambda c: "p{}_k{}_{}x{}".format(*c))
def test_drop_rate(probe, submission, case, measure):
    drop_prob, k, h, w = case
    manual_seed = probe_manual_seed(probe)
    for seed in SEEDS:
        layer = _layer(submission, drop_prob, k)
        z, dropped = dropblock_rate_z(layer, drop_prob, k, h, w, seed, manual_seed)
        measure(f"dropblock/p={drop_prob:g}/k={k}/{h}x{w}/seed={seed}", {"keep_rate": 1 - dropped, "z": z})
        expect(abs(z) <= 6,
               f"DropBlock2d({drop_prob}, {k}) on {h}x{w} maps, seed {seed}: the fraction of dropped units is "
               f"{z:+.1f} standard deviations (an upper bound on the spread) away from what gamma = drop_prob / k^2 * HW / ((H-k+1)(W-k+1)) "
               "implies (allowed: 6). Check gamma, the Bernoulli seeds and the block expansion.")


@pytest.mark.grade_cell("hidden_dropblock_scale")
@pytest.mark.parametrize("drop_prob,k", [(0.2, 3), (0.35, 5)])
def test_rescaling(probe, submission, drop_prob, k):
    for seed in SEEDS:
        seed_checker_and_probe(probe, seed)
        layer = _layer(submission, drop_prob, k)
        x = (torch.rand(16, 3, 12, 14, dtype=torch.float64) + 0.5).requires_grad_(True)
        # the gradient of out.sum(): ones back-propagated
        out, _, backward_failed = forward_backward(layer, x, torch.ones(x.shape, dtype=torch.float64))
        y = output_like(out, x, f"DropBlock2d({drop_prob}, {k})(x)")
        kept = y != 0
        n_kept = int(kept.sum())
        expect(n_kept > 0, f"DropBlock2d({drop_prob}, {k}), seed {seed}: every unit was dropped.")
        scale = y.numel() / n_kept
        ratio = y / x.detach()
        expect(close(ratio[kept], torch.full((n_kept,), scale, dtype=torch.float64), rtol=1e-6, atol=0),
               f"DropBlock2d({drop_prob}, {k}), seed {seed}: the kept units should be x * mask.numel() / mask.sum().")
        expect(backward_failed is None, f"DropBlock2d({drop_prob}, {k}): the output does not depend differentiably on x.")
        grad = x.grad
        expect(grad is not None, f"DropBlock2d({drop_prob}, {k}): no gradient reaches the input.")
        expect(close(real_tensor(grad, "the gradient"), kept.double() * scale, rtol=1e-6, atol=1e-12),
               f"DropBlock2d({drop_prob}, {k}), seed {seed}: the gradient should be the scale on kept units, 0 on dropped ones.")


@pytest.mark.grade_cell("hidden_dropblock_eval")
@pytest.mark.parametrize("drop_prob,k,shape", [(0.3, 3, (4, 3, 10, 10)), (0.5, 5, (2, 2, 9, 16))])
def test_eval_and_zero_rate_are_identity(probe, submission, drop_prob, k, shape):
    manual_seed = probe_manual_seed(probe)  # the generator the student's layer draws from
    x = torch.randn(shape)
    for seed in SEEDS:
        manual_seed(seed)
        y = output_like(_layer(submission, drop_prob, k, training=False)(x), x, f"DropBlock2d({drop_prob}, {k}) in eval mode")
        expect(close(y, x, rtol=0, atol=0), f"DropBlock2d({drop_prob}, {k}) in evaluation mode changed its input.")
        y = output_like(_layer(submission, 0.0, k)(x), x, f"DropBlock2d(0.0, {k}) in training mode")
        expect(close(y, x, rtol=0, atol=0), f"DropBlock2d(0.0, {k}) in training mode changed its input.")


@pytest.mark.grade_cell("hidden_dropblock_eval")
@pytest.mark.parametrize("shape", [(2, 3, 7, 7), (1, 1, 9, 20), (3, 2, 16, 5)])
def test_shapes_preserved(probe, submission, shape):
    torch.manual_seed(0)
    probe_manual_seed(probe)(0)
    x = torch.rand(shape) + 0.5
    output_like(_layer(submission, 0.2, 3)(x), x, f"DropBlock2d(0.2, 3) on input of shape {shape}")
