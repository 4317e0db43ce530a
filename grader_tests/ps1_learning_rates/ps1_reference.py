"""Trusted reference pieces the ps1 graders compare against (never shown to students)."""

import torch
import torch.nn.functional as F

from nnkit.grading.api import cached_reference, seed_everything

DIVERGE_FACTOR = 2.0
STUCK_DECREASE = 0.05
SEEDS = range(5)
SWEEP = (100, 10, 1, 0.2, 0.001)


class ReferenceModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(100, 50), torch.nn.Linear(50, 20), torch.nn.Linear(20, 1)

    def forward(self, x):
        return self.fc3(torch.sigmoid(self.fc2(torch.sigmoid(self.fc1(x)))))


def reference_dataset(n_samples, n_features, generator=None):
    x = torch.randn(n_samples, n_features, generator=generator)
    s = (x[:, : n_features // 2] / 10).sum(dim=1, keepdim=True)
    return x, s ** 2 + s


def reference_train(model, x, y, lr, steps=200, momentum=0.0):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def problem(seed, device, n_samples=1000, n_features=100):
    """A seeded (model, x, y) on `device`, identical for every caller with the same seed."""
    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    x, y = reference_dataset(n_samples, n_features, generator)
    model = ReferenceModel()
    return model.to(device), x.to(device), y.to(device)


@cached_reference
def reference_losses(seed, lr, device):
    """The reference's 200 training losses on `problem(seed, device)` at `lr`: the same for every hand-in,
    so computed once (`nnkit.grading.reference_cache`). Leaves the global RNGs seeded or not: callers seed."""
    model, x, y = problem(seed, device)
    return reference_train(model, x, y, lr)


# ---------------------------------------------------------------- the student's side (the probe)
def linear_layers(model, probe):
    """The layers of a student's model (a RemoteRef) whose type is exactly torch.nn.Linear, in
    `model.modules()` order, as RemoteRefs (`layer.weight` reads as a tensor). Exact, as
    `type(m) is torch.nn.Linear` was: a subclass or a class of the student's own named Linear is not one."""
    return probe.modules_of_type(model, torch.nn.Linear)


# ---------------------------------------------------------------- "implement it yourself"
# torch.nn.init's own He and Glorot initialisers: the probe reports which of torch.nn.init's functions
# ran during a watched call (`nnkit.grading.api.watched(..., library=True)`), seen by a profile hook
# installed before the student's code loaded (however a submission reaches them, the same code runs).
LIBRARY_INITIALISERS = tuple(f"torch.nn.init.{name}" for name in (
    "kaiming_normal_", "kaiming_uniform_", "xavier_normal_", "xavier_uniform_"))


def library_initialisers(call):
    """Sorted names of the LIBRARY_INITIALISERS that ran during a watched call."""
    return sorted(name for name in call.library if name in LIBRARY_INITIALISERS)
