"""Draws x from the global RNG and ignores the generator argument."""
# fails: hidden_dataset
# %% create_dataset
def create_dataset(n_samples, n_features, generator=None):
    x = torch.randn(n_samples, n_features)
    s = torch.sum(x[:, : n_features // 2] / 10, dim=1, keepdim=True)
    y = s ** 2 + s
    return x, y
