"""Trusted reference pieces the ps4 graders compare against (never shown to students)."""
import math

import torch
import torch.nn.functional as F

from nnkit.grading.api import cached_reference, seed_everything

RADIUS = 5.0
SEEDS = range(5)


def _uniform(n, low, high, generator):
    return torch.rand(n, generator=generator) * (high - low) + low


def circle_data(n_samples, noise=0.0, generator=None):
    n_in = n_samples // 2
    sizes = (n_in, n_samples - n_in)
    bands = ((0.0, 0.5 * RADIUS), (0.7 * RADIUS, RADIUS))
    xs, ys = [], []
    for n, (lo, hi) in zip(sizes, bands):
        r = _uniform(n, lo, hi, generator)
        angle = _uniform(n, 0.0, 2 * math.pi, generator)
        p = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)
        shift = _uniform(2 * n, -RADIUS, RADIUS, generator).view(n, 2) * noise
        ys.append(((p + shift).norm(dim=1) < 0.5 * RADIUS).float())
        xs.append(p)
    return torch.cat(xs), torch.cat(ys)


def xor_data(n_samples, noise=0.0, generator=None, padding=0.3):
    p = _uniform(2 * n_samples, -5.0, 5.0, generator).view(n_samples, 2)
    p = torch.where(p > 0, p + padding, p - padding)
    shift = _uniform(2 * n_samples, -5.0, 5.0, generator).view(n_samples, 2) * noise
    q = p + shift
    return p, (q[:, 0] * q[:, 1] >= 0).float()


def gauss_data(n_samples, noise=0.0, generator=None):
    std = math.sqrt(0.5 + 7.0 * noise)
    n_pos = n_samples // 2
    pos = torch.randn(n_pos, 2, generator=generator) * std + 2.0
    neg = torch.randn(n_samples - n_pos, 2, generator=generator) * std - 2.0
    return torch.cat([pos, neg]), torch.cat([torch.ones(n_pos), torch.zeros(n_samples - n_pos)])


def spiral_data(n_samples, noise=0.0, generator=None):
    xs, ys = [], []
    n_pos = n_samples // 2
    for n, delta, label in ((n_pos, 0.0, 1.0), (n_samples - n_pos, math.pi, 0.0)):
        i = torch.arange(n, dtype=torch.float64)
        r = i / n * 5
        t = 1.75 * i / n * 2 * math.pi + delta
        p = torch.stack([r * torch.sin(t), r * torch.cos(t)], dim=1).float()
        p = p + _uniform(2 * n, -1.0, 1.0, generator).view(n, 2) * noise
        xs.append(p)
        ys.append(torch.full((n,), label))
    return torch.cat(xs), torch.cat(ys)


DATASETS = {"circle": circle_data, "xor": xor_data, "gauss": gauss_data, "spiral": spiral_data}


def spiral_points(n_samples):
    """The noise-free spiral in float64, per class (label 1 first), for exact checks."""
    out = []
    n_pos = n_samples // 2
    for n, delta in ((n_pos, 0.0), (n_samples - n_pos, math.pi)):
        i = torch.arange(n, dtype=torch.float64)
        r = i / n * 5
        t = 1.75 * i / n * 2 * math.pi + delta
        out.append(torch.stack([r * torch.sin(t), r * torch.cos(t)], dim=1))
    return out


def train_test_split(x, y, train_fraction=0.5, generator=None):
    n = x.shape[0]
    n_train = int(math.floor(train_fraction * n))
    perm = torch.randperm(n, generator=generator)
    tr, te = perm[:n_train], perm[n_train:]
    return x[tr], y[tr], x[te], y[te]


ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}


def make_mlp(hidden=(4, 2), activation="tanh"):
    layers, width = [], 2
    for h in hidden:
        layers += [torch.nn.Linear(width, h), ACTIVATIONS[activation]()]
        width = h
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers)


def dataset_loss(model, x, y):
    return F.binary_cross_entropy_with_logits(model(x).squeeze(1), y).item()


def fit(model, data, lr, steps, batch_size=10, optimizer="sgd", switch_at=None, switch_lr=None, generator=None):
    x_train, y_train, x_test, y_test = data
    def make(name, rate):
        return (torch.optim.Adam if name == "adam" else torch.optim.SGD)(model.parameters(), lr=rate)
    rate = lr(0) if callable(lr) else lr
    opt = make(optimizer, rate)
    history = {"train_loss": [], "test_loss": []}

    def record():
        model.eval()
        with torch.no_grad():
            history["train_loss"].append(dataset_loss(model, x_train, y_train))
            history["test_loss"].append(dataset_loss(model, x_test, y_test))
        model.train()

    record()
    for k in range(steps):
        if switch_at is not None and k == switch_at:
            opt = make("sgd", switch_lr)
        if switch_at is None or k < switch_at:
            rate = lr(k) if callable(lr) else lr
            for group in opt.param_groups:
                group["lr"] = rate
        idx = torch.randint(x_train.shape[0], (batch_size,), generator=generator, device="cpu").to(x_train.device)
        loss = F.binary_cross_entropy_with_logits(model(x_train[idx]).squeeze(1), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        record()
    return history


def accuracy(model, x, y):
    with torch.no_grad():
        return ((model(x).squeeze(1) > 0).float() == y).float().mean().item()


def step_decay_lr(base_lr, step, milestones, gamma=0.1):
    return base_lr * gamma ** sum(1 for m in milestones if step >= m)


def is_overfitting(val_losses, window=10, tolerance=0.05):
    values = [float(v) for v in val_losses]
    if len(values) <= window:
        return False
    best_before = min(values[:-window])
    return sum(values[-window:]) / window > (1 + tolerance) * best_before


def run(dataset, seed, *, hidden=(4, 2), activation="tanh", lr=0.03, steps=1000, noise=0.0, n_samples=500,
        train_fraction=0.5, batch_size=10, optimizer="sgd", device="cpu", fit_fn=None, mlp_fn=None,
        data_fn=None, split_fn=None, seed_fn=seed_everything, **fit_kw):
    """One seeded Playground run: data, split, model and training, all from `seed`. `seed_fn(seed)`
    seeds the global RNGs that `mlp_fn` and `fit_fn` draw from (the probe's, for a student's)."""
    fit_fn, mlp_fn = fit_fn or fit, mlp_fn or make_mlp
    data_fn, split_fn = data_fn or DATASETS[dataset], split_fn or train_test_split
    g = torch.Generator().manual_seed(seed)
    x, y = data_fn(n_samples, noise, generator=g)
    data = [t.to(device) for t in split_fn(x, y, train_fraction, generator=g)]
    seed_fn(seed)
    model = mlp_fn(hidden, activation).to(device)
    history = fit_fn(model, data, lr, steps, batch_size=batch_size, optimizer=optimizer, generator=g, **fit_kw)
    return model, data, history


@cached_reference
def reference_history(dataset, seed, **protocol):
    """`run(dataset, seed, **protocol)`'s history with the reference model and trainer: the same for every
    hand-in, so computed once (`nnkit.grading.reference_cache`)."""
    return run(dataset, seed, **protocol)[2]


# ---------------------------------------------------------------- the student's side (the probe)
def seed_both(probe):
    """`seed_fn` for a run with the student's model and trainer: the checker's RNGs and the probe's."""
    def seed_fn(seed):
        seed_everything(seed)
        probe.seed(seed)
    return seed_fn


def linear_layers(model, probe):
    """The layers of a student's model (a RemoteRef) whose type is exactly torch.nn.Linear, in
    `model.modules()` order, as RemoteRefs (`layer.weight` reads as a tensor). Exact, as
    `type(m) is torch.nn.Linear` was: a subclass or a class of the student's own named Linear is not one."""
    return probe.modules_of_type(model, torch.nn.Linear)


def call_many(probe, fn, *columns):
    """`[fn(*row) for row in zip(*columns)]`, the calls run in the probe in one request (a request
    each would cost a round trip each): a `map` built here, listed there."""
    return probe.keep(list)(map(fn, *columns))


def as_schedule(lr, steps):
    """A function of the step that can travel to the probe (a grader's own function cannot): the
    table of lr(k), looked up by the integer step k. It covers twice the run, so a trainer that
    asks one step ahead gets the rate it asked for, as it would from `lr` itself."""
    return tuple(lr(k) for k in range(2 * steps + 2)).__getitem__


# ---------------------------------------------------------------- "implement it yourself"
# step_decay_lr is the rate torch.optim.lr_scheduler's schedulers compute: one that builds a scheduler
# has not computed it. Every scheduler runs LRScheduler.__init__: the probe reports that code running in
# a watched call (`nnkit.grading.api.watched(..., library=True)`) as this name, seen by a profile hook
# installed before the student's code loaded, however the submission reached the class.
LIBRARY_SCHEDULERS = ("torch.optim.lr_scheduler",)


def scheduler_created(call):
    """True when a scheduler of LIBRARY_SCHEDULERS was created during a watched call."""
    return any(name in LIBRARY_SCHEDULERS for name in call.library)
