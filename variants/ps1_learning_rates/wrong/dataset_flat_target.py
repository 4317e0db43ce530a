"""Sums over dim=1 without keepdim, so y has shape (n_samples,) instead of (n_samples, 1)."""
# fails: hidden_dataset
# %% create_dataset
def create_dataset(n_samples, n_features, generator=None):
    x = torch.randn(n_samples, n_features, generator=generator)
    s = torch.sum(x[:, : n_features // 2] / 10, dim=1)
    y = s ** 2 + s
    return x, y
