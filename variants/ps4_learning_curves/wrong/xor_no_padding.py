"""Forgets the 0.3 padding that keeps points away from the axes."""
# fails: hidden_xor
# %% xor
def xor_data(n_samples, noise=0.0, generator=None):
    p = torch.rand(n_samples, 2, generator=generator) * 10 - 5
    q = p + (torch.rand(n_samples, 2, generator=generator) * 10 - 5) * noise
    return p, (q[:, 0] * q[:, 1] >= 0).float()
