"""Draws points uniformly over the area (r = R sqrt(u)) and with the global RNG."""
# fails: hidden_circle
# %% circle
def circle_data(n_samples, noise=0.0, generator=None):
    n_inner = n_samples // 2
    xs, ys = [], []
    for n, (low, high) in ((n_inner, (0.0, 0.5 * RADIUS)), (n_samples - n_inner, (0.7 * RADIUS, RADIUS))):
        u = torch.rand(n) * ((high / RADIUS) ** 2 - (low / RADIUS) ** 2) + (low / RADIUS) ** 2
        r = RADIUS * u.sqrt()
        angle = torch.rand(n) * 2 * math.pi
        p = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)
        q = p + (torch.rand(n, 2) * 2 * RADIUS - RADIUS) * noise
        xs.append(p)
        ys.append((q.norm(dim=1) < 0.5 * RADIUS).float())
    return torch.cat(xs), torch.cat(ys)
