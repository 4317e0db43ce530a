"""Alternative model and trainer: a custom Module, a BCE written from logsigmoid, an LR set via a
LambdaLR-free loop, step decay with bisect, is_overfitting with torch."""
# %% mlp
class _MLP(torch.nn.Module):
    def __init__(self, hidden, activation):
        super().__init__()
        widths = [2, *hidden, 1]
        self.linears = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[activation]

    def forward(self, x):
        for layer in self.linears[:-1]:
            x = self.act(layer(x))
        return self.linears[-1](x)


def make_mlp(hidden=(4, 2), activation="tanh"):
    return _MLP(tuple(hidden), activation)
# %% fit
def _bce(z, y):
    return -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).mean()


def fit(model, data, lr, steps, batch_size=10, optimizer="sgd", switch_at=None, switch_lr=None,
        generator=None):
    xtr, ytr, xte, yte = data
    schedule = lr if callable(lr) else (lambda k: lr)
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=schedule(0))
    train_curve, test_curve = [], []
    for k in range(steps + 1):
        was_training = model.training
        model.eval()
        with torch.no_grad():
            train_curve.append(float(_bce(model(xtr)[:, 0], ytr)))
            test_curve.append(float(_bce(model(xte)[:, 0], yte)))
        model.train(True)
        if k == steps:
            break
        if switch_at is not None and k >= switch_at:
            if k == switch_at:
                opt = torch.optim.SGD(model.parameters(), lr=switch_lr)
        else:
            for group in opt.param_groups:
                group["lr"] = schedule(k)
        batch = torch.randint(len(xtr), (batch_size,), generator=generator)
        batch = batch.to(xtr.device)
        opt.zero_grad()
        _bce(model(xtr[batch])[:, 0], ytr[batch]).backward()
        opt.step()
    return {"train_loss": train_curve, "test_loss": test_curve}
# %% step_decay
import bisect


def step_decay_lr(base_lr, step, milestones, gamma=0.1):
    return base_lr * gamma ** bisect.bisect_right(sorted(milestones), step)
# %% overfitting
def is_overfitting(val_losses, window=10, tolerance=0.05):
    v = torch.tensor([float(a) for a in val_losses], dtype=torch.float64)
    if v.numel() <= window:
        return False
    return bool((v[-window:].mean() > (1 + tolerance) * v[:-window].min()).item())
