"""Stacks the Linear layers without any activation: the whole network is linear."""
# fails: hidden_mlp, hidden_circle_runs, hidden_spiral_overfit
# %% mlp
def make_mlp(hidden=(4, 2), activation="tanh"):
    layers, width = [], 2
    for h in hidden:
        layers.append(torch.nn.Linear(width, h))
        width = h
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers)
