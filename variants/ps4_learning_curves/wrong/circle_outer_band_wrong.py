"""Outer ring drawn from r ~ U(0.5 R, R): no empty ring between the classes."""
# fails: hidden_circle
# %% circle
def circle_data(n_samples, noise=0.0, generator=None):
    def uniform(n, low, high):
        return torch.rand(n, generator=generator) * (high - low) + low
    n_inner = n_samples // 2
    xs, ys = [], []
    for n, (low, high) in ((n_inner, (0.0, 0.5 * RADIUS)), (n_samples - n_inner, (0.5 * RADIUS, RADIUS))):
        r = uniform(n, low, high)
        angle = uniform(n, 0.0, 2 * math.pi)
        p = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)
        q = p + uniform(2 * n, -RADIUS, RADIUS).view(n, 2) * noise
        xs.append(p)
        ys.append((q.norm(dim=1) < 0.5 * RADIUS).float())
    return torch.cat(xs), torch.cat(ys)
