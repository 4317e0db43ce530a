"""Trusted pieces the ps3 graders and claims use (never shown to students).

The graders run here, in the checker; the student's layers live in the probe process
(`nnkit.grading.probe`): a layer is a RemoteRef, its outputs and attributes arrive as plain
tensors. The helpers below do, in the probe, what a plain tensor cannot carry back: seeding the
generators the student's layers draw from, back-propagating, reading autograd flags, writing into
the layer's own tensors, and recording which torch functions a forward pass called.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from nnkit.grading.api import StudentRaised, expect, real_tensor, seed_everything, watched

_batch_norm = F.batch_norm
_max_pool2d = F.max_pool2d
_avg_pool2d = F.avg_pool2d
_pad = F.pad

SEEDS = (0, 1, 2)

# Library calls that would do the exercise for the student ("torchvision.ops.drop_block2d": a torch
# function called from torchvision's DropBlock, which the probe names so when asked: LIBRARY_LAYERS).
FORBIDDEN = {
    "batchnorm": {"batch_norm", "native_batch_norm", "instance_norm", "layer_norm", "group_norm",
                  "_batch_norm_impl_index", "_native_batch_norm_legit"},
    "dropout": {"dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout", "dropout1d",
                "dropout2d", "dropout3d", "native_dropout"},
    "dropblock": {"dropout", "dropout2d", "feature_dropout", "native_dropout"},
}
TORCHVISION_DROPBLOCK = "torchvision.ops.drop_block2d"
# `watched(..., torch_functions=True, calls_from=LIBRARY_LAYERS)`: a torch function called from a file
# whose path holds every fragment is also recorded under the name (nnkit.grading.probe_watch).
LIBRARY_LAYERS = {TORCHVISION_DROPBLOCK: ("torchvision", "drop_block")}


def expect_own_code(names, kind, what):
    used = sorted(names & (FORBIDDEN[kind] | {TORCHVISION_DROPBLOCK}))
    expect(not used, f"{what} calls PyTorch's own {', '.join(used)}: write the computation yourself "
                     "with tensor operations.")


# ---------------------------------------------------------------- the student's layers, in the probe
# A tensor read from a student's layer arrives as a detached copy: its autograd flags stay in the
# probe, and writing into it changes nothing there. `probe.attributes(layer, "running_mean.requires_grad")`
# reads a flag there, `probe.call_at(layer, "weight.data.copy_", w)` writes into the layer's own tensor.


def probe_manual_seed(probe):
    """torch.manual_seed, run in the probe (where the student's layers draw their masks)."""
    return probe.function(torch.manual_seed)


def seed_checker_and_probe(probe, seed):
    """seed_everything(seed) here (the graders' own draws) and in the probe (the student's layers)."""
    seed_everything(seed)
    probe.seed(seed)


class WatchedLayer:
    """The student's layer, called in the probe with the torch functions it runs recorded;
    `torch_functions` gathers their names over every call."""

    def __init__(self, layer):
        self.layer, self.torch_functions = layer, set()

    def __call__(self, x):
        call = watched(self.layer, x, torch_functions=True, calls_from=LIBRARY_LAYERS)
        self.torch_functions |= call.torch_functions
        return call.value


def forward_backward(layer, x, upstream, torch_functions=False):
    """y = layer(x) in the probe, then upstream back-propagated through y there.

    Afterwards x.grad (here) holds the gradient that reached x, None if none did; the layer's
    parameters hold theirs (accumulated) in the probe. Returns (y, names of the torch functions
    the forward pass called, None). When back-propagating fails (y does not require grad, or
    its graph is broken), the forward pass is run once more alone, so that its output can still
    be checked, and the third item says what went wrong; a forward pass that raises raises."""
    try:
        call = watched(layer, x, torch_functions=torch_functions, calls_from=LIBRARY_LAYERS, backward=upstream)
        return call.value, call.torch_functions, None
    except StudentRaised as failed:
        call = watched(layer, x, torch_functions=torch_functions, calls_from=LIBRARY_LAYERS)
        return call.value, call.torch_functions, str(failed)


# ---------------------------------------------------------------- reference layers
class ReferenceBatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        return _batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                           self.training, self.momentum, self.eps)


class ReferenceDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0.0
        keep = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)


class ReferenceDropBlock2d(nn.Module):
    def __init__(self, drop_prob, block_size):
        super().__init__()
        self.drop_prob, self.block_size = drop_prob, block_size

    def forward(self, x):
        if not self.training or self.drop_prob == 0:
            return x
        n, c, h, w = x.shape
        k = self.block_size
        gamma = dropblock_gamma(self.drop_prob, k, h, w)
        seeds = torch.bernoulli(torch.full((n, c, h - k + 1, w - k + 1), gamma, dtype=x.dtype, device=x.device))
        blocks = _max_pool2d(_pad(seeds, [k // 2] * 4), kernel_size=k, stride=1, padding=k // 2)
        mask = 1 - blocks
        kept = mask.sum()
        if kept.item() == 0:
            return x * 0.0
        return x * mask * (mask.numel() / kept)


# ---------------------------------------------------------------- DropBlock maths
def dropblock_gamma(drop_prob, k, h, w):
    return drop_prob / k ** 2 * h * w / ((h - k + 1) * (w - k + 1))


def _cover_counts(k, size):
    """For each position r of a side of length `size`, how many valid block starts i in
    [0, size - k] have a block (i .. i+k-1) covering r."""
    return [sum(1 for i in range(size - k + 1) if i <= r <= i + k - 1) for r in range(size)]


def dropblock_expected_rate(drop_prob, k, h, w):
    """Exact expected fraction of dropped units of one (h, w) map."""
    gamma = dropblock_gamma(drop_prob, k, h, w)
    rows, cols = _cover_counts(k, h), _cover_counts(k, w)
    kept = sum((1 - gamma) ** (a * b) for a in rows for b in cols) / (h * w)
    return 1 - kept


def dropblock_rate_sigma(drop_prob, k, h, w, maps):
    """Upper bound (Efron-Stein) on the standard deviation of the dropped fraction over `maps`
    independent (h, w) maps: every seed changes at most k*k of the maps*h*w units."""
    gamma = dropblock_gamma(drop_prob, k, h, w)
    return k * math.sqrt(drop_prob * (1 - gamma) / (maps * h * w))


def full_square_cover(zero, k):
    """Boolean tensor: the units of `zero` (N, C, H, W, bool) covered by some k x k square
    lying entirely inside the map whose units are all in `zero`."""
    z = zero.double()
    full = (_avg_pool2d(z, kernel_size=k, stride=1) > 1 - 1e-9).double()
    covered = _max_pool2d(_pad(full, [k - 1] * 4), kernel_size=k, stride=1)
    return covered > 0.5


# ---------------------------------------------------------------- statistical protocols
# The graders and claims.py run exactly these; claims.py measures them with the reference
# solution over 10 seeds (calibration/), the graders hold the student's layer to them.
DROPOUT_RATES = (0.1, 0.25, 0.5, 0.8)
DROPOUT_SHAPE = (40, 50, 10, 10)  # 200,000 units, 4-D to check that any shape works


def dropout_statistics(layer, p, seed, manual_seed=torch.manual_seed):
    """Run `layer` (training mode) once on a seeded positive input x of shape DROPOUT_SHAPE,
    right after `manual_seed(seed)` (the graders pass the probe's, see `probe_manual_seed`).

    Returns (x, y, n): the input, the layer's output y = layer(x) (same shape) and n = x.numel().
    The z-scores come from `zero_share_z(y, p)` and `mean_z(x, y, p)`."""
    manual_seed(seed)
    x = torch.rand(DROPOUT_SHAPE, dtype=torch.float64, generator=torch.Generator().manual_seed(1000 + seed)) + 0.5
    y = layer(x)
    n = x.numel()
    return x, y, n


def zero_share_z(y, p):
    n = y.numel()
    share = (y == 0).double().mean().item()
    return (share - p) / math.sqrt(p * (1 - p) / n)


def mean_z(x, y, p):
    n = x.numel()
    sigma = math.sqrt((x.double() ** 2).sum().item() * p / (1 - p)) / n
    return (y.double().mean().item() - x.double().mean().item()) / sigma


DROPBLOCK_RATE_CASES = ((0.1, 3, 16, 16), (0.3, 5, 8, 8), (0.2, 7, 20, 14), (0.25, 3, 9, 12), (0.4, 5, 16, 16))
DROPBLOCK_MAPS = (128, 8)  # N, C: 1024 independent maps


def dropblock_rate_z(layer, drop_prob, k, h, w, seed, manual_seed=torch.manual_seed):
    """(observed dropped fraction - exact expectation) / (Efron-Stein bound on its std), on the
    output of `layer` right after `manual_seed(seed)` (the graders pass the probe's)."""
    manual_seed(seed)
    n, c = DROPBLOCK_MAPS
    y = layer(torch.ones(n, c, h, w, dtype=torch.float64))
    observed = (y == 0).double().mean().item()
    expected = dropblock_expected_rate(drop_prob, k, h, w)
    return (observed - expected) / dropblock_rate_sigma(drop_prob, k, h, w, n * c), observed


def output_like(value, x, what):
    """`value` as a genuine tensor of `x`'s shape (what a layer's forward must return), else a failed check."""
    out = real_tensor(value, what)
    expect(tuple(out.shape) == tuple(x.shape), f"{what} should have the input's shape {tuple(x.shape)}, got {tuple(out.shape)}.")
    return out
