"""Hidden graders for `Model`, `create_dataset` and the broadcasting exercise."""
import pytest
import torch

from nnkit.grading.api import close, expect, is_module, real_tensor, seed_everything
from ps1_reference import linear_layers, reference_dataset

_sigmoid, _linear = torch.sigmoid, torch.nn.functional.linear


@pytest.mark.grade_cell("hidden_model")
def test_model_layers(submission, probe):
    model = submission.Model()
    expect(is_module(model), "Model() should be a torch.nn.Module.")
    shapes = [tuple(layer.weight.shape) for layer in linear_layers(model, probe)]
    expect(shapes == [(50, 100), (20, 50), (1, 20)],
           f"Model should have Linear layers 100→50→20→1; found weight shapes {shapes}.")


@pytest.mark.grade_cell("hidden_model")
@pytest.mark.parametrize("batch", [1, 7, 64])
def test_model_forward_is_sigmoid_mlp(submission, probe, batch, device):
    seed_everything(batch)
    probe.seed(batch)
    model = submission.Model().to(device)
    layers = linear_layers(model, probe)
    expect(len(layers) == 3, f"Model should have exactly 3 Linear layers, found {len(layers)}.")
    x = torch.randn(batch, 100, device=device)
    out = real_tensor(model(x), "Model()(x)")
    expect(tuple(out.shape) == (batch, 1), f"Model()(x) for x of shape ({batch}, 100) should have shape ({batch}, 1), got {tuple(out.shape)}.")
    h = x.cpu()   # the probe's weights come back on the CPU, where the checker judges (nnkit.grading.devices)
    for i, (weight, bias) in enumerate((layer.weight, layer.bias) for layer in layers):
        h = _linear(h, weight, bias)
        if i < 2:
            h = _sigmoid(h)
    expect(close(out, h.detach(), rtol=1e-5, atol=1e-6),
           "Model's output is not fc3(sigmoid(fc2(sigmoid(fc1(x))))): check the activations "
           "(sigmoid after the two hidden layers, none on the output).")


@pytest.mark.grade_cell("hidden_dataset")
@pytest.mark.parametrize("n_samples,n_features", [(1000, 100), (37, 7), (5, 2)])
def test_dataset_targets_per_sample(submission, n_samples, n_features):
    generator = torch.Generator().manual_seed(n_samples)
    x, y = submission.create_dataset(n_samples, n_features, generator=generator)
    x, y = real_tensor(x, "x"), real_tensor(y, "y")
    expect(tuple(x.shape) == (n_samples, n_features),
           f"create_dataset({n_samples}, {n_features}) should give x of shape ({n_samples}, {n_features}), got {tuple(x.shape)}.")
    expect(tuple(y.shape) == (n_samples, 1),
           f"create_dataset({n_samples}, {n_features}) should give y of shape ({n_samples}, 1), got {tuple(y.shape)}.")
    s = (x[:, : n_features // 2] / 10).sum(dim=1, keepdim=True)
    expect(close(y, s ** 2 + s, rtol=1e-5, atol=1e-6),
           f"y is not s**2 + s with s the per-sample sum of the first n_features // 2 features of x, "
           f"divided by 10 (checked with n_features={n_features}).")


@pytest.mark.grade_cell("hidden_dataset")
def test_dataset_uses_generator_and_standard_normal(submission, probe):
    x1, _ = submission.create_dataset(4000, 50, generator=torch.Generator().manual_seed(3))
    probe.seed(12345)  # the global RNG must not matter when a generator is passed
    x2, _ = submission.create_dataset(4000, 50, generator=torch.Generator().manual_seed(3))
    x1, x2 = real_tensor(x1, "x"), real_tensor(x2, "x")
    expect(close(x1, x2, rtol=0, atol=0), "create_dataset ignores its `generator`: the same generator seed gave different x.")
    ref, _ = reference_dataset(4000, 50, torch.Generator().manual_seed(3))
    expect(close(x1, ref, rtol=0, atol=0), "x should be drawn with torch.randn(n_samples, n_features, generator=generator).")


@pytest.mark.grade_cell("hidden_broadcast")
def test_broadcast_shapes(submission):
    def as_shape(value, name):
        try:
            return tuple(int(d) for d in value)
        except Exception:
            raise AssertionError(f"{name} should be a shape such as (3, 1) or torch.Size([3, 1]).") from None
    seed_shape = as_shape(submission.SEED_TARGET_SHAPE, "SEED_TARGET_SHAPE")
    fixed_shape = as_shape(submission.FIXED_TARGET_SHAPE, "FIXED_TARGET_SHAPE")
    expect(seed_shape == (), "SEED_TARGET_SHAPE: the seed's create_dataset(1000, 100) sums over the whole batch; what shape does that give y?")
    expect(fixed_shape == (1000, 1), "FIXED_TARGET_SHAPE should be the shape of y from your fixed create_dataset(1000, 100).")
