"""Alternative data sets: other draw orders, polar maths by hand, numpy-free masks; a split by argsort."""
# %% circle
def circle_data(n_samples, noise=0.0, generator=None):
    n = n_samples
    inner = torch.arange(n) < n // 2
    u = torch.rand(n, generator=generator)
    r = torch.where(inner, u * 2.5, 3.5 + u * 1.5)
    angle = torch.rand(n, generator=generator) * (2 * math.pi)
    x = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)
    q = x + (torch.rand(n, 2, generator=generator) * 10 - 5) * noise
    y = ((q ** 2).sum(dim=1).sqrt() < 2.5).to(torch.float32)
    return x, y
# %% xor
def xor_data(n_samples, noise=0.0, generator=None):
    u = torch.rand(n_samples, 4, generator=generator)
    p = u[:, :2] * 10 - 5
    p = p + 0.3 * torch.where(p > 0, 1.0, -1.0)
    q = p + (u[:, 2:] * 10 - 5) * noise
    y = ((q[:, 0] >= 0) == (q[:, 1] >= 0)) | (q[:, 0] == 0) | (q[:, 1] == 0)
    return p, y.float()
# %% gauss
def gauss_data(n_samples, noise=0.0, generator=None):
    k = n_samples // 2
    centre = torch.full((n_samples, 2), -2.0)
    centre[:k] = 2.0
    x = centre + torch.randn(n_samples, 2, generator=generator) * (0.5 + 7 * noise) ** 0.5
    y = torch.zeros(n_samples)
    y[:k] = 1
    return x, y
# %% spiral
def spiral_data(n_samples, noise=0.0, generator=None):
    parts_x, parts_y = [], []
    for count, delta, label in ((n_samples // 2, 0.0, 1.0), (n_samples - n_samples // 2, math.pi, 0.0)):
        pts = []
        for i in range(count):
            r = i / count * 5
            t = 1.75 * i / count * 2 * math.pi + delta
            pts.append([r * math.sin(t), r * math.cos(t)])
        pts = torch.tensor(pts, dtype=torch.float32).reshape(count, 2)
        pts += noise * (2 * torch.rand(count, 2, generator=generator) - 1)
        parts_x.append(pts)
        parts_y.append(torch.ones(count) * label)
    return torch.cat(parts_x), torch.cat(parts_y)
# %% split
def train_test_split(x, y, train_fraction=0.5, generator=None):
    n = len(x)
    order = torch.randperm(n, generator=generator)
    n_train = math.floor(train_fraction * n)
    return x[order[:n_train]], y[order[:n_train]], x[order[n_train:]], y[order[n_train:]]
