"""Variance 0.5 + 3.5 * noise (the slider read as 0-100%), so too little spread at high noise."""
# fails: hidden_gauss
# %% gauss
def gauss_data(n_samples, noise=0.0, generator=None):
    std = math.sqrt(0.5 + 3.5 * noise)
    n_pos = n_samples // 2
    pos = torch.randn(n_pos, 2, generator=generator) * std + 2.0
    neg = torch.randn(n_samples - n_pos, 2, generator=generator) * std - 2.0
    return torch.cat([pos, neg]), torch.cat([torch.ones(n_pos), torch.zeros(n_samples - n_pos)])
