"""Divides the target by 10 instead of the sum: y = (t**2 + t) / 10 with t the raw sum."""
# fails: hidden_dataset
# %% create_dataset
def create_dataset(n_samples, n_features, generator=None):
    x = torch.randn(n_samples, n_features, generator=generator)
    t = torch.sum(x[:, : n_features // 2], dim=1, keepdim=True)
    y = (t ** 2 + t) / 10
    return x, y
