"""Hidden graders for `load_mnist` and `ClassificationModel`.

The student's module lives in the probe (`nnkit.grading.probe`): its data loaders and models
come back as RemoteRefs, which the checks iterate and index from here. Type checks on them
(`isinstance`) and seeding run in the probe, on the probe's objects.
"""
import os

import pytest
import torch

from nnkit.grading.api import (GraderFailure, StudentRaised, close, expect, is_module, real_tensor, seed_everything,
                                type_name)
from ps2_reference import mnist_raw, normalise

_relu, _linear = torch.relu, torch.nn.functional.linear
_DataLoader = torch.utils.data.DataLoader
BATCH = 64  # 60000 = 937 * 64 + 32 and 10000 = 156 * 64 + 16: both last batches are smaller


def _seed_both(probe, seed):
    """Seed here and in the probe, where the student's models and loaders draw their random numbers."""
    seed_everything(seed)
    probe.seed(seed)


@pytest.fixture(scope="module")
def loaded(submission):
    mnist_raw()  # a clear setup message if the graders cannot see MNIST
    result = submission.load_mnist(BATCH)
    expect(isinstance(result, tuple) and len(result) == 6,
           "load_mnist should return a tuple (data_loaders, dataset_sizes, height, width, channels, classes).")
    return result


def _loaders(loaded, probe):
    data_loaders = loaded[0]
    expect(isinstance(data_loaders, dict) and sorted(data_loaders) == ["test", "train"],
           "data_loaders should be a dict with the keys 'train' and 'test'.")
    remote_isinstance = probe.function(isinstance)
    for phase in ("train", "test"):
        expect(remote_isinstance(data_loaders[phase], _DataLoader) is True,
               f"data_loaders['{phase}'] should be a torch.utils.data.DataLoader.")
    return data_loaders["train"], data_loaders["test"]


def _batch(batch, what):
    expect(isinstance(batch, (tuple, list)) and len(batch) == 2, f"{what} should yield (x, y) pairs.")
    return real_tensor(batch[0], f"x from {what}"), real_tensor(batch[1], f"y from {what}")


@pytest.mark.grade_cell("hidden_load_mnist")
def test_sizes_and_shapes(loaded):
    _, sizes, height, width, channels, classes = loaded
    expect(isinstance(sizes, dict) and sorted(sizes) == ["test", "train"], "dataset_sizes should be a dict with the keys 'train' and 'test'.")
    for phase, n in (("train", 60000), ("test", 10000)):
        value = sizes[phase]
        expect(type(value) is int and value == n,
               f"dataset_sizes['{phase}'] should be the number of samples in the {phase} set, as an int.")
    for name, value, want in (("height", height, 28), ("width", width, 28), ("channels", channels, 1), ("classes", classes, 10)):
        expect(type(value) is int, f"{name} should be a Python int, got {type_name(value)}.")
        expect(value == want, f"{name} is {value}, which is not right for MNIST.")


@pytest.mark.grade_cell("hidden_load_mnist")
def test_test_loader_is_ordered_and_normalised(loaded, probe):
    _, test = _loaders(loaded, probe)
    _, _, images, labels = mnist_raw()
    # Batch sizes are checked on what the loader yields, not on its batch_size attribute, which is None
    # for a loader that fetches whole batches through a BatchSampler (the notebook's fast path).
    xs, ys, sizes = [], [], []
    for batch in test:
        x, y = _batch(batch, "the test loader")
        xs.append(x), ys.append(y), sizes.append(x.shape[0])
    expect(sum(sizes) == 10000, f"The test loader yielded {sum(sizes)} samples instead of 10000 (is drop_last set?).")
    expect(sizes[:-1] == [BATCH] * (len(sizes) - 1) and sizes[-1] == 10000 % BATCH,
           f"load_mnist({BATCH}): the test batches do not all hold {BATCH} samples (except the last).")
    x, y = torch.cat(xs), torch.cat(ys)
    expect(tuple(x.shape) == (10000, 1, 28, 28) and x.dtype == torch.float32,
           f"Test images should be float32 of shape (n, 1, 28, 28); got {x.dtype} of shape (n, {', '.join(map(str, x.shape[1:]))}).")
    expect(torch.equal(y.long(), labels), "The test loader does not give the test labels in their original order: it should not shuffle.")
    expect(close(x, normalise(images), rtol=0, atol=1e-5),
           f"The test images are not ToTensor() followed by Normalize((0.1307,), (0.3081,)): over the whole test "
           f"set yours have mean {x.mean():.3f} and std {x.std():.3f}.")


@pytest.mark.grade_cell("hidden_load_mnist")
def test_train_set_is_normalised(loaded, probe):
    train, _ = _loaders(loaded, probe)
    images, labels, _, _ = mnist_raw()
    expect(len(train.dataset) == 60000, "The training loader's dataset should hold all 60000 training images.")
    for index in (0, 12345, 59999):
        x, y = train.dataset[index]
        x = real_tensor(x, "a training image")
        expect(int(y) == int(labels[index]), "The training loader's dataset does not hold the MNIST training set in order.")
        expect(close(x, normalise(images[index:index + 1])[0], rtol=0, atol=1e-5),
               f"Training image {index} is not ToTensor() followed by Normalize((0.1307,), (0.3081,)) "
               f"(yours has mean {x.mean():.3f}, std {x.std():.3f}). Both sets need the same transform.")


@pytest.mark.grade_cell("hidden_load_mnist")
def test_train_loader_shuffles(loaded, probe):
    train, _ = _loaders(loaded, probe)
    images, _, _, _ = mnist_raw()
    expect(len(train) == -(-60000 // BATCH),
           f"load_mnist({BATCH}): the training loader does not cover all 60000 samples in batches of {BATCH} "
           "(is drop_last set?).")
    _seed_both(probe, 0)
    x1, y1 = _batch(next(iter(train)), "the training loader")
    x2, y2 = _batch(next(iter(train)), "the training loader")
    expect(tuple(x1.shape) == (BATCH, 1, 28, 28), f"A training batch should have shape ({BATCH}, 1, 28, 28), got {tuple(x1.shape)}.")
    expect(not close(x1, normalise(images[:BATCH]), rtol=0, atol=1e-4) and not torch.equal(x1, x2),
           "The training loader gives the same first batch every epoch: it should shuffle.")


def _error_type(raised: StudentRaised) -> str:
    """`ValueError` from "Your code raised ValueError: ..."."""
    return str(raised).removeprefix("Your code raised ").split(":")[0].strip()[:80]


def _not_mnist_folder() -> str:
    """A folder that exists for the probe and holds no MNIST files: the torch package's own.

    (The probe sees the read-only file system, but neither the checker's temporary folders nor
    its environment changes.)"""
    return os.path.dirname(torch.__file__)


@pytest.mark.grade_cell("hidden_load_mnist")
def test_root_is_used(submission):
    folder = os.environ.get("MNIST_ROOT")
    if not folder:
        mnist_raw()
        raise GraderFailure("Grading setup problem (not your code): set MNIST_ROOT to run this check.")
    folder = os.path.realpath(folder)   # as the probe's sandbox shows it (a link on the way may be hidden there)
    # The probe's $MNIST_ROOT holds MNIST too, so `root` is seen at work in two calls: a folder
    # with MNIST loads it, and a folder without MNIST must make load_mnist fail, where code that
    # ignores `root` would still find MNIST through $MNIST_ROOT.
    try:
        result = submission.load_mnist(1000, root=folder)
    except StudentRaised as raised:
        raise GraderFailure(f"load_mnist(1000, root=<a folder with MNIST>) failed ({_error_type(raised)}). "
                            "Pass `root` to mnist_location.") from None
    expect(isinstance(result, tuple) and len(result) == 6, "load_mnist should return a 6-tuple.")
    expect(isinstance(result[1], dict) and result[1].get("test") == 10000,
           "load_mnist(1000, root=...) did not load the 10000 test images from `root`.")
    try:
        submission.load_mnist(1000, root=_not_mnist_folder())
    except StudentRaised:
        return
    raise GraderFailure("load_mnist(1000, root=<a folder without MNIST>) still loaded MNIST, from $MNIST_ROOT "
                        "or a download: it does not use `root`. Pass `root` to mnist_location.")


def _linears(model, probe):
    """The layers of the student's model whose type is exactly torch.nn.Linear, in order. The
    classes live in the probe: `type(m) is torch.nn.Linear` is asked there, as the ids of the
    two classes (a subclass, or a class of the student's own named Linear, is not one)."""
    return probe.modules_of_type(model, torch.nn.Linear)


CONFIGS = [(28, 28, 1, 10), (8, 6, 3, 5)]


@pytest.mark.grade_cell("hidden_model")
@pytest.mark.parametrize("config", CONFIGS)
def test_model_layers(submission, probe, config):
    height, width, channels, classes = config
    model = submission.ClassificationModel(height, width, channels, classes)
    expect(is_module(model), "ClassificationModel(...) should be a torch.nn.Module.")
    shapes = [tuple(layer.weight.shape) for layer in _linears(model, probe)]
    want = [(200, height * width * channels), (100, 200), (classes, 100)]
    expect(shapes == want, f"ClassificationModel{config} should have Linear layers "
           f"{height * width * channels}→200→100→{classes}; found weight shapes {shapes}.")
    expect(all(layer.bias is not None for layer in _linears(model, probe)), "Every Linear layer should have a bias.")


@pytest.mark.grade_cell("hidden_model")
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("batch", [1, 7])
def test_model_forward(submission, probe, device, config, batch):
    height, width, channels, classes = config
    _seed_both(probe, batch)
    model = submission.ClassificationModel(height, width, channels, classes).to(device)
    layers = _linears(model, probe)
    expect(len(layers) == 3, f"ClassificationModel should have exactly 3 Linear layers, found {len(layers)}.")
    x = torch.randn(batch, channels, height, width, device=device)
    out = real_tensor(model(x), "the model's output")
    expect(tuple(out.shape) == (batch, classes),
           f"For input of shape {tuple(x.shape)} the output should have shape ({batch}, {classes}), got {tuple(out.shape)}.")
    h = x.reshape(batch, -1).cpu()   # the probe's weights come back on the CPU (nnkit.grading.devices)
    for i, layer in enumerate(layers):
        h = _linear(h, layer.weight, layer.bias)
        if i < 2:
            h = _relu(h)
    expect(close(out, h.detach(), rtol=1e-5, atol=1e-5),
           f"ClassificationModel{config}'s output is not fc3(relu(fc2(relu(fc1(flatten(x)))))): check the "
           "flattening (all of channels, height and width), the ReLUs, and that the output is raw logits (no softmax).")
