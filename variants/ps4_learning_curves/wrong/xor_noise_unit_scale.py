"""Scales the label noise by U(-1, 1) instead of U(-5, 5)."""
# fails: hidden_xor
# %% xor
def xor_data(n_samples, noise=0.0, generator=None):
    p = torch.rand(n_samples, 2, generator=generator) * 10 - 5
    p = torch.where(p > 0, p + 0.3, p - 0.3)
    q = p + (torch.rand(n_samples, 2, generator=generator) * 2 - 1) * noise
    return p, (q[:, 0] * q[:, 1] >= 0).float()
