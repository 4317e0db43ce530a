"""Puts the activation after the output layer too, so the model no longer returns a logit."""
# fails: hidden_mlp, hidden_circle_runs, hidden_spiral_overfit
# %% mlp
def make_mlp(hidden=(4, 2), activation="tanh"):
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}[activation]
    layers, width = [], 2
    for h in hidden:
        layers += [torch.nn.Linear(width, h), act()]
        width = h
    layers += [torch.nn.Linear(width, 1), act()]
    return torch.nn.Sequential(*layers)
