"""Takes the first n_train points as the training set, without shuffling."""
# fails: hidden_split
# %% split
def train_test_split(x, y, train_fraction=0.5, generator=None):
    n_train = int(math.floor(train_fraction * x.shape[0]))
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]
