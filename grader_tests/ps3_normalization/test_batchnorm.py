"""Hidden graders for `BatchNorm1d`.

Exact comparisons with torch's batch_norm (captured at import time), run in float64 so that a
tolerance of 1e-5 is far above rounding error, on random batches whose channels have scales
from 1e-3 to 10 (so that eps matters) and non-zero means.
"""
import pytest
import torch

from nnkit.grading.api import StudentAttributeError, close, expect, is_module, real_tensor
from ps3_reference import SEEDS, ReferenceBatchNorm1d, expect_own_code, forward_backward, seed_checker_and_probe

_Tensor = torch.Tensor
_no_grad = torch.no_grad

TRAIN_SETTINGS = [(1e-5, 0.1), (1e-3, 0.3)]


def _layer(submission, channels, **kwargs):
    layer = submission.BatchNorm1d(channels, **kwargs)
    expect(is_module(layer), "BatchNorm1d(...) should create a torch.nn.Module.")
    return layer.double()


def _tensor_attributes(probe, layer, *names):
    """The layer's tensor attributes `names`, read in one request (a clear message for a missing one)."""
    values = probe.attributes(layer, *names)
    for name, value in zip(names, values):
        expect(isinstance(value, _Tensor), f"BatchNorm1d should have a tensor attribute `{name}`.")
    return values


def _write(probe, layer, name, value):
    """Copy `value` into the layer's own tensor attribute `name` (in the probe, where it lives)."""
    probe.call_at(layer, f"{name}.data.copy_", value)


def _pair(probe, submission, channels, generator, eps=1e-5, momentum=0.1):
    """The student's layer and the reference, double precision, with the same random gamma and beta."""
    layer = _layer(submission, channels, eps=eps, momentum=momentum)
    reference = ReferenceBatchNorm1d(channels, eps=eps, momentum=momentum).double()
    weight = torch.randn(channels, dtype=torch.float64, generator=generator) + 1
    bias = torch.randn(channels, dtype=torch.float64, generator=generator)
    with _no_grad():
        for name, value, mine in zip(("weight", "bias"), (weight, bias), _tensor_attributes(probe, layer, "weight", "bias")):
            expect(tuple(mine.shape) == (channels,), f"`{name}` should have shape ({channels},), got {tuple(mine.shape)}.")
            _write(probe, layer, name, value.to(mine.dtype))
            getattr(reference, name).copy_(value)
    return layer, reference


def _batch(shape, generator, scales):
    """Random batch; channel c has scale scales[c] and a mean of about 2 * scales[c]."""
    view = [1, -1] + [1] * (len(shape) - 2)
    offset = 2 * torch.randn(shape[1], dtype=torch.float64, generator=generator)
    noise = torch.randn(shape, dtype=torch.float64, generator=generator)
    return (noise + offset.view(view)) * scales.view(view)


def _scales(channels, generator):
    scales = torch.logspace(-3, 1, max(channels, 2), dtype=torch.float64)[:channels]
    return scales[torch.randperm(channels, generator=generator)]


def _requires_grad(probe, layer, name, value):
    """`value` is the layer's tensor `name` as it arrived: with a .grad it required grad; without
    one, the flag is read in the probe."""
    return value.grad is not None or probe.attributes(layer, f"{name}.requires_grad")[0] is True


def _step_gradient(before, after):
    """What one backward pass added to a .grad that accumulates in the probe (None: nothing reached it)."""
    if after.grad is None:
        return None
    return after.grad if before is None else after.grad - before


def _compare_step(probe, layer, reference, x, generator, what, check_calls=False):
    """One forward and backward pass through both; compare output and gradients.

    The student's pass runs in the probe (`forward_backward`); its parameter gradients accumulate
    there, so this step's are the difference of the .grad before and after."""
    x_mine = x.clone().requires_grad_(True)
    x_ref = x.clone().requires_grad_(True)
    upstream = torch.randn(x.shape, dtype=torch.float64, generator=generator)
    grads_before = [value.grad for value in _tensor_attributes(probe, layer, "weight", "bias")]
    out, names, backward_failed = forward_backward(layer, x_mine, upstream, torch_functions=check_calls)
    if check_calls:
        expect_own_code(names, "batchnorm", "BatchNorm1d")
    out_t = real_tensor(out, "BatchNorm1d's output")
    expected = reference(x_ref)
    expect(tuple(out_t.shape) == tuple(x.shape),
           f"{what}: the output should have the input's shape {tuple(x.shape)}, got {tuple(out_t.shape)}.")
    expect(close(out_t, expected.detach(), rtol=1e-5, atol=1e-5),
           f"{what}: the output differs from nn.BatchNorm1d's.")
    weight, bias = _tensor_attributes(probe, layer, "weight", "bias")
    expect(backward_failed is None and _requires_grad(probe, layer, "weight", weight)
           and _requires_grad(probe, layer, "bias", bias),
           f"{what}: the output should depend differentiably on the input, weight and bias.")
    grads = [x_mine.grad] + [_step_gradient(before, after) for before, after in zip(grads_before, (weight, bias))]
    # The vector-Jacobian product with `upstream`, as the gradient of sum(expected * upstream): the same
    # numbers, without torch's check of an explicit gradient, which imports sympy (a fresh process's half second).
    expected_grads = torch.autograd.grad((expected * upstream).sum(), [x_ref, reference.weight, reference.bias])
    for name, mine, ref in zip(("input", "weight", "bias"), grads, expected_grads):
        expect(mine is not None, f"{what}: no gradient reaches the {name}.")
        scale = max(1.0, ref.abs().max().item())
        expect(close(real_tensor(mine, f"the {name} gradient"), ref, rtol=1e-5, atol=1e-5 * scale),
               f"{what}: the gradient with respect to the {name} differs from nn.BatchNorm1d's.")
    return out_t


def _check_running(probe, layer, reference, what):
    # Both buffers and their autograd flags, in one request. A tensor with a grad_fn requires grad:
    # the one flag, read in the probe, covers both.
    found = probe.attributes(layer, "running_mean", "running_mean.requires_grad", "running_var", "running_var.requires_grad")
    for name, mine, tracked in (("running_mean", *found[:2]), ("running_var", *found[2:])):
        expect(isinstance(mine, _Tensor), f"BatchNorm1d should have a tensor attribute `{name}`.")
        expect(tracked is False,
               f"{what}: `{name}` is tracked by autograd; update it under torch.no_grad() or from detached tensors.")
        expect(close(real_tensor(mine, name), getattr(reference, name), rtol=1e-5, atol=1e-8),
               f"{what}: `{name}` differs from nn.BatchNorm1d's.")


def _is_parameter(layer, name):
    """getattr(layer, name) is an nn.Parameter (Module.get_parameter says so, in the probe)."""
    try:
        layer.get_parameter(name)
    except StudentAttributeError:
        return False
    return True


@pytest.mark.grade_cell("hidden_bn_params")
@pytest.mark.parametrize("channels", [1, 7])
def test_parameters_and_buffers(submission, channels):
    layer = submission.BatchNorm1d(channels)
    expect(is_module(layer), "BatchNorm1d(...) should create a torch.nn.Module.")
    params = dict(layer.named_parameters())
    expect(set(params) == {"weight", "bias"},
           f"BatchNorm1d's parameters should be exactly `weight` (gamma) and `bias` (beta), registered as "
           f"nn.Parameter; found {sorted(params)[:6]}.")
    for name, fill in (("weight", 1.0), ("bias", 0.0)):
        value = params[name]
        expect(_is_parameter(layer, name), f"`{name}` should be an nn.Parameter.")
        expect(tuple(value.shape) == (channels,), f"`{name}` should have shape ({channels},), got {tuple(value.shape)}.")
        expect(close(value.detach(), torch.full((channels,), fill), rtol=0, atol=0),
               f"`{name}` should be initialised to {'ones' if fill else 'zeros'}.")
    buffers = dict(layer.named_buffers())
    for name, fill in (("running_mean", 0.0), ("running_var", 1.0)):
        expect(name in buffers, f"`{name}` should be registered with register_buffer (found buffers {sorted(buffers)[:6]}).")
        value = real_tensor(buffers[name], name)
        expect(tuple(value.shape) == (channels,), f"`{name}` should have shape ({channels},), got {tuple(value.shape)}.")
        expect(close(value, torch.full((channels,), fill), rtol=0, atol=0),
               f"`{name}` should be initialised to {'ones' if fill else 'zeros'}.")


@pytest.mark.grade_cell("hidden_bn_train")
@pytest.mark.parametrize("eps,momentum", TRAIN_SETTINGS)
def test_training_matches_torch(probe, submission, eps, momentum, measure):
    for seed in SEEDS:
        seed_checker_and_probe(probe, seed)
        generator = torch.Generator().manual_seed(seed)
        channels = int(torch.randint(1, 25, (1,), generator=generator))
        layer, reference = _pair(probe, submission, channels, generator, eps=eps, momentum=momentum)
        layer.train()
        scales = _scales(channels, generator)
        for step in range(3):
            batch = int(torch.randint(3, 65, (1,), generator=generator))
            x = _batch((batch, channels), generator, scales * (1 + step))
            out = _compare_step(probe, layer, reference, x, generator,
                                f"Training mode, seed {seed}, eps={eps}, step {step}, input ({batch}, {channels})",
                                check_calls=step == 0)
            if step == 0:  # the student's output per channel, with gamma and beta taken out
                z = (out.detach() - reference.bias.detach()) / reference.weight.detach()
                measure(f"batchnorm/train/eps={eps:g}/seed={seed}", {"mean": z.mean(0), "std": z.std(0, unbiased=False),
                                                                    "input_std": x.std(0, unbiased=False)})


@pytest.mark.grade_cell("hidden_bn_running")
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_running_statistics(probe, submission, momentum):
    for seed in SEEDS:
        seed_checker_and_probe(probe, seed)
        generator = torch.Generator().manual_seed(100 + seed)
        channels = int(torch.randint(1, 17, (1,), generator=generator))
        layer, reference = _pair(probe, submission, channels, generator, momentum=momentum)
        layer.train()
        scales = _scales(channels, generator)
        for step in range(5):
            batch = int(torch.randint(3, 12, (1,), generator=generator))
            x = _batch((batch, channels), generator, scales * (1 + step))
            layer(x.clone().requires_grad_(True))  # with autograd on, as in real training
            with _no_grad():
                reference(x)
            _check_running(probe, layer, reference,
                           f"Seed {seed}, momentum={momentum}, after training step {step + 1} (batch of {batch})")


@pytest.mark.grade_cell("hidden_bn_eval")
@pytest.mark.parametrize("batch", [1, 9])
def test_eval_uses_running_statistics(probe, submission, batch):
    for seed in SEEDS:
        seed_checker_and_probe(probe, seed)
        generator = torch.Generator().manual_seed(200 + seed)
        channels = int(torch.randint(2, 17, (1,), generator=generator))
        layer, reference = _pair(probe, submission, channels, generator)
        scales = _scales(channels, generator)
        mean = torch.randn(channels, dtype=torch.float64, generator=generator) * scales
        var = scales ** 2 * (0.5 + torch.rand(channels, dtype=torch.float64, generator=generator))
        with _no_grad():
            _tensor_attributes(probe, layer, "running_mean", "running_var")  # tensors, or a clear message
            for name, value in (("running_mean", mean), ("running_var", var)):
                _write(probe, layer, name, value)
                getattr(reference, name).copy_(value)
        layer.eval()
        reference.eval()
        x = _batch((batch, channels), generator, scales)
        _compare_step(probe, layer, reference, x, generator, f"Evaluation mode, seed {seed}, input ({batch}, {channels})")
        for name, value, mine in zip(("running_mean", "running_var"), (mean, var),
                                     _tensor_attributes(probe, layer, "running_mean", "running_var")):
            expect(close(real_tensor(mine, name), value, rtol=0, atol=0),
                   f"Evaluation mode, seed {seed}: `{name}` changed; evaluation mode must not update it.")


@pytest.mark.grade_cell("hidden_bn_3d")
def test_three_dimensional_input(probe, submission):
    for seed in SEEDS:
        seed_checker_and_probe(probe, seed)
        generator = torch.Generator().manual_seed(300 + seed)
        channels = int(torch.randint(1, 9, (1,), generator=generator))
        layer, reference = _pair(probe, submission, channels, generator, momentum=0.2)
        scales = _scales(channels, generator)
        layer.train()
        for step in range(3):
            batch, length = (int(v) for v in torch.randint(2, 9, (2,), generator=generator))
            x = _batch((batch, channels, length), generator, scales * (1 + step))
            what = f"(N, C, L) input ({batch}, {channels}, {length}), training mode, seed {seed}, step {step}"
            _compare_step(probe, layer, reference, x, generator, what)
            _check_running(probe, layer, reference, what)
        layer.eval()
        reference.eval()
        x = _batch((3, channels, 5), generator, scales)
        _compare_step(probe, layer, reference, x, generator, f"(N, C, L) input (3, {channels}, 5), evaluation mode, seed {seed}")
