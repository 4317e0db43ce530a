"""Takes the first ceil(n_features / 2) features, one too many when n_features is odd."""
# fails: hidden_dataset
# %% create_dataset
def create_dataset(n_samples, n_features, generator=None):
    x = torch.randn(n_samples, n_features, generator=generator)
    half = math.ceil(n_features / 2)
    s = torch.sum(x[:, :half] / 10, dim=1, keepdim=True)
    y = s ** 2 + s
    return x, y
