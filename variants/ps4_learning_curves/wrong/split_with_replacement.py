"""Draws the training indices with replacement, so train and test overlap and points repeat."""
# fails: hidden_split
# %% split
def train_test_split(x, y, train_fraction=0.5, generator=None):
    n = x.shape[0]
    n_train = int(math.floor(train_fraction * n))
    train = torch.randint(n, (n_train,), generator=generator)
    test = torch.randint(n, (n - n_train,), generator=generator)
    return x[train], y[train], x[test], y[test]
