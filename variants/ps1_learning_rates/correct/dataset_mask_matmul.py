"""The half-sum as a matrix product with a 0/1 mask vector."""
# %% create_dataset
def create_dataset(n_samples, n_features, generator=None):
    x = torch.randn(n_samples, n_features, generator=generator)
    mask = torch.zeros(n_features, 1)
    mask[: n_features // 2] = 1.0
    s = x @ mask / 10
    y = s * (s + 1)
    return x, y
