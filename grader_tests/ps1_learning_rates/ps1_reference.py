"""Trusted reference pieces the ps1 graders compare against (never shown to students)."""

import torch
import torch.nn.functional as F
import torch.nn.init as _init

from nnkit.grading.checks import library_calls, seed_everything

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


# ---------------------------------------------------------------- "implement it yourself"
# torch.nn.init's own He and Glorot initialisers. They do not dispatch through __torch_function__,
# so their calls are seen with a profile hook, by code object (captured before student code loads:
# however a submission reaches these functions, the same code runs).
LIBRARY_INITIALISERS = {f.__code__: f"torch.nn.init.{f.__name__}" for f in (
    _init.kaiming_normal_, _init.kaiming_uniform_, _init.xavier_normal_, _init.xavier_uniform_)}


def library_initialisers_called(fn):
    """(fn(), sorted names of the LIBRARY_INITIALISERS that ran during fn())."""
    return library_calls(fn, LIBRARY_INITIALISERS)
