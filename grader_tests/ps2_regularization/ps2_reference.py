"""Trusted reference pieces for the ps2 (regularization) graders and claims. Never shown to students."""
from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from nnkit.grading.api import GraderFailure, seed_everything

MEAN, STD = 0.1307, 0.3081
LR = 0.01
BATCH = 100
SWEEP = (10.0, 1.0, 0.1)

# The graders' protocol (calibrated by claims.py): the first TRAIN_SUBSET training images,
# the first TEST_SUBSET test images, EPOCHS epochs per weight decay, SEEDS seeds.
TRAIN_SUBSET = 20_000
TEST_SUBSET = 2_000
EPOCHS = 2
SEEDS = (0, 1, 2)
# Majority-class rate + 4 binomial standard errors, rounded down, on the graders' subsets:
# the first 2,000 test labels (majority 0.117) and the first 20,000 training labels (majority 0.1115).
# test_regimes checks these against the labels at run time.
TEST_CHANCE_BOUND = 0.145
TRAIN_CHANCE_BOUND = 0.123
# "Clear learning" for weight decay 0.1 after EPOCHS epochs of the graders' protocol.
LEARNING_FLOOR = 0.6

# The notebook's protocol (what its prose quotes): all 60,000 training and 10,000 test images,
# 3 epochs per weight decay; k is the unregularised run's last-epoch training loss.
NOTEBOOK_EPOCHS = 3

_cross_entropy = F.cross_entropy
_no_grad = torch.no_grad
_relu = torch.relu
_linear = F.linear


class ReferenceModel(torch.nn.Module):
    def __init__(self, height=28, width=28, channels=1, n_classes=10):
        super().__init__()
        self.fc1 = torch.nn.Linear(height * width * channels, 200)
        self.fc2 = torch.nn.Linear(200, 100)
        self.fc3 = torch.nn.Linear(100, n_classes)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        return self.fc3(_relu(self.fc2(_relu(self.fc1(x)))))


def reference_l2(model) -> torch.Tensor:
    return sum((p ** 2).sum() for p in model.parameters())


def reference_choose_weight_decay(loss_bound, l2) -> float:
    """Largest power of ten wd with (wd / 2) * l2 < loss_bound."""
    k, l2 = float(loss_bound), float(l2)
    exponent = int(math.floor(math.log10(2.0 * k / l2)))
    while 10.0 ** exponent * l2 / 2.0 >= k:
        exponent -= 1
    while 10.0 ** (exponent + 1) * l2 / 2.0 < k:
        exponent += 1
    return 10.0 ** exponent


def reference_run_epoch(model, loader, criterion, optimizer=None, device="cpu"):
    """Reference epoch: per-batch loss before the step, averaged over samples."""
    training = optimizer is not None
    model.train(training)
    total_loss, correct, count = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            loss = criterion(out, y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total_loss += loss.item() * x.shape[0]
            correct += (out.argmax(1) == y).sum().item()
            count += x.shape[0]
    return total_loss / count, correct / count


def _missing(detail: str) -> GraderFailure:
    return GraderFailure(
        "Grading setup problem (not your code): MNIST could not be loaded for the graders "
        f"({detail}). Set the environment variable MNIST_ROOT to a folder holding the four MNIST IDX files.")


@functools.lru_cache(maxsize=1)
def mnist_raw():
    """(train_images uint8 (60000, 28, 28), train_labels, test_images, test_labels), never downloaded."""
    import torchvision

    from nnkit.data import MnistNotFound, mnist_root

    try:
        root, _ = mnist_root()  # $MNIST_ROOT, or the kit's cache if it already holds MNIST
        train = torchvision.datasets.MNIST(root=root, train=True, download=False)
        test = torchvision.datasets.MNIST(root=root, train=False, download=False)
    except (MnistNotFound, RuntimeError, OSError) as error:
        raise _missing(f"{type(error).__name__}: {str(error)[:200]}") from None
    return train.data.clone(), train.targets.clone(), test.data.clone(), test.targets.clone()


def normalise(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28), exactly like ToTensor() then Normalize."""
    return ((images_uint8.float().div(255) - MEAN) / STD).unsqueeze(1)


@functools.lru_cache(maxsize=4)
def mnist_tensors(train_subset=TRAIN_SUBSET, test_subset=TEST_SUBSET):
    tr_x, tr_y, te_x, te_y = mnist_raw()
    return (normalise(tr_x[:train_subset]), tr_y[:train_subset].clone(),
            normalise(te_x[:test_subset]), te_y[:test_subset].clone())


def tensor_dataset(x, y) -> torch.utils.data.TensorDataset:
    """(x, y) as a data set that also accepts a list of indices (one fancy-indexing call per batch).

    Built from torch classes only, so that it can travel to the probe (the student's process),
    which cannot import this module."""
    return torch.utils.data.TensorDataset(x, y)


def batch_loader(dataset, batch_size=BATCH, shuffle=False, generator=None):
    """A real DataLoader that yields whole batches of `dataset` quickly (no per-sample collate).

    `dataset` is a `tensor_dataset`, or a `RemoteRef` on one that the probe keeps
    (`nnkit.grading.remote.Probe.keep`): the loader then travels without its images."""
    base = (torch.utils.data.RandomSampler(dataset, generator=generator) if shuffle
            else torch.utils.data.SequentialSampler(dataset))
    sampler = torch.utils.data.BatchSampler(base, batch_size, drop_last=False)
    return torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=None)


def tensor_loader(x, y, batch_size=BATCH, shuffle=False, generator=None):
    """A real DataLoader over (x, y) that yields whole batches quickly (no per-sample collate)."""
    return batch_loader(tensor_dataset(x, y), batch_size, shuffle, generator)


def sweep_datasets(train_subset=TRAIN_SUBSET, test_subset=TEST_SUBSET):
    """(train, test) `tensor_dataset`s of the sweep: the first `train_subset` / `test_subset` images."""
    tr_x, tr_y, te_x, te_y = mnist_tensors(train_subset, test_subset)
    return tensor_dataset(tr_x, tr_y), tensor_dataset(te_x, te_y)


def sweep_problem(seed, device, train_subset=TRAIN_SUBSET, test_subset=TEST_SUBSET, datasets=None):
    """Seeded (model, train_loader, test_loader) for one run of the weight-decay sweep.

    `datasets`: the (train, test) pair of `sweep_datasets`, or refs on them kept in the probe."""
    train_set, test_set = datasets or sweep_datasets(train_subset, test_subset)
    seed_everything(seed)
    model = ReferenceModel().to(device)
    train = batch_loader(train_set, shuffle=True, generator=torch.Generator().manual_seed(1000 + seed))
    test = batch_loader(test_set)
    return model, train, test


def run_sweep(run_epoch, wd, seed, device, epochs=EPOCHS, train_subset=TRAIN_SUBSET, test_subset=TEST_SUBSET,
              datasets=None, keep=None):
    """Train with SGD(lr=0.01, weight_decay=wd) for `epochs` epochs using `run_epoch`.

    Returns (history, model) with history a list of per-epoch dicts of what `run_epoch` returned.
    For the student's `run_epoch` (in the probe), `datasets` are refs on the probe's copies of
    `sweep_datasets` and `keep` is `Probe.keep`: each loader then lives in the probe for the whole
    run, so that its shuffling generator moves on from epoch to epoch as it does here.
    """
    model, train, test = sweep_problem(seed, device, train_subset, test_subset, datasets)
    if keep is not None:
        train, test = keep(train), keep(test)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.0, weight_decay=wd)
    criterion = torch.nn.CrossEntropyLoss()
    history = []
    for _ in range(epochs):
        tr = run_epoch(model, train, criterion, optimizer, device=device)
        te = run_epoch(model, test, criterion, device=device)
        history.append({"train": tr, "test": te})
    return history, model


def trusted_accuracy(model, x, y, device) -> float:
    model.eval()
    with _no_grad():
        return (model(x.to(device)).argmax(1).cpu() == y).double().mean().item()


def majority_rate(labels) -> float:
    return torch.bincount(labels, minlength=10).max().item() / len(labels)


def chance_bound(labels, z=4.0) -> float:
    """Majority-class rate plus z binomial standard errors on `labels`."""
    p = majority_rate(labels)
    return p + z * (p * (1 - p) / len(labels)) ** 0.5
