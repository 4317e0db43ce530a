"""Ignores `activation` and always uses tanh."""
# fails: hidden_mlp, hidden_circle_runs
# %% mlp
def make_mlp(hidden=(4, 2), activation="tanh"):
    layers, width = [], 2
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.Tanh()]
        width = h
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers)
