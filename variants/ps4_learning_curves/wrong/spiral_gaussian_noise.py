"""Gaussian noise N(0, noise^2) instead of noise * U(-1, 1)."""
# fails: hidden_spiral
# %% spiral
def spiral_data(n_samples, noise=0.0, generator=None):
    n_pos = n_samples // 2
    xs, ys = [], []
    for n, delta, label in ((n_pos, 0.0, 1.0), (n_samples - n_pos, math.pi, 0.0)):
        i = torch.arange(n, dtype=torch.float64)
        r = i / n * 5
        t = 1.75 * i / n * 2 * math.pi + delta
        p = torch.stack([r * torch.sin(t), r * torch.cos(t)], dim=1).float()
        xs.append(p + torch.randn(n, 2, generator=generator) * noise)
        ys.append(torch.full((n,), label))
    return torch.cat(xs), torch.cat(ys)
