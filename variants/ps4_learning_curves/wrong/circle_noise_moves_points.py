"""Adds the noise to the stored points (and labels them by their class), unlike the Playground."""
# fails: hidden_circle
# %% circle
def circle_data(n_samples, noise=0.0, generator=None):
    def uniform(n, low, high):
        return torch.rand(n, generator=generator) * (high - low) + low
    n_inner = n_samples // 2
    xs, ys = [], []
    for n, (low, high), label in ((n_inner, (0.0, 0.5 * RADIUS), 1.0), (n_samples - n_inner, (0.7 * RADIUS, RADIUS), 0.0)):
        r = uniform(n, low, high)
        angle = uniform(n, 0.0, 2 * math.pi)
        p = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)
        xs.append(p + uniform(2 * n, -RADIUS, RADIUS).view(n, 2) * noise)
        ys.append(torch.full((n,), label))
    return torch.cat(xs), torch.cat(ys)
