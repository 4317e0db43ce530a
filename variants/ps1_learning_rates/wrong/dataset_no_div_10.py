"""Forgets to divide the sum by 10."""
# fails: hidden_dataset
# %% create_dataset
def create_dataset(n_samples, n_features, generator=None):
    x = torch.randn(n_samples, n_features, generator=generator)
    s = torch.sum(x[:, : n_features // 2], dim=1, keepdim=True)
    y = s ** 2 + s
    return x, y
