"""Shuffles x and y with two different permutations, so labels leave their points."""
# fails: hidden_split
# %% split
def train_test_split(x, y, train_fraction=0.5, generator=None):
    n = x.shape[0]
    n_train = int(math.floor(train_fraction * n))
    px = torch.randperm(n, generator=generator)
    py = torch.randperm(n, generator=generator)
    return x[px[:n_train]], y[py[:n_train]], x[px[n_train:]], y[py[n_train:]]
