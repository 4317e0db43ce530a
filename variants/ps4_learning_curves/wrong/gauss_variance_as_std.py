"""Uses 0.5 + 7 * noise as the standard deviation instead of the variance."""
# fails: hidden_gauss
# %% gauss
def gauss_data(n_samples, noise=0.0, generator=None):
    std = 0.5 + 7.0 * noise
    n_pos = n_samples // 2
    pos = torch.randn(n_pos, 2, generator=generator) * std + 2.0
    neg = torch.randn(n_samples - n_pos, 2, generator=generator) * std - 2.0
    return torch.cat([pos, neg]), torch.cat([torch.ones(n_pos), torch.zeros(n_samples - n_pos)])
