"""Shuffles with the global RNG, ignoring `generator`."""
# fails: hidden_split
# %% split
def train_test_split(x, y, train_fraction=0.5, generator=None):
    n = x.shape[0]
    n_train = int(math.floor(train_fraction * n))
    perm = torch.randperm(n)
    return x[perm[:n_train]], y[perm[:n_train]], x[perm[n_train:]], y[perm[n_train:]]
