"""Creates the Linear layers from the output back to the input, so a seeded run is not the specified one."""
# fails: hidden_mlp, hidden_circle_runs
# %% mlp
def make_mlp(hidden=(4, 2), activation="tanh"):
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}[activation]
    widths = (2, *hidden, 1)
    linears = [torch.nn.Linear(widths[i], widths[i + 1]) for i in reversed(range(len(widths) - 1))][::-1]
    layers = []
    for i, linear in enumerate(linears):
        layers.append(linear)
        if i < len(linears) - 1:
            layers.append(act())
    return torch.nn.Sequential(*layers)
