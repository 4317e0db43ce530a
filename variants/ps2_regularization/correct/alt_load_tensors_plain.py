"""Normalises once into TensorDatasets and uses DataLoader's own batching (batch_size, shuffle): slower, also right."""
# %% load_mnist
def load_mnist(batch_size, root=None):
    where, download = mnist_location(root)
    sets = {}
    for phase in ("train", "test"):
        raw = torchvision.datasets.MNIST(where, train=phase == "train", download=download)
        x = raw.data.to(torch.float32).div(255).sub(0.1307).div(0.3081)[:, None]
        sets[phase] = torch.utils.data.TensorDataset(x, raw.targets.long())
    data_loaders = {phase: torch.utils.data.DataLoader(s, batch_size=batch_size, shuffle=phase == "train")
                    for phase, s in sets.items()}
    return data_loaders, {p: len(s) for p, s in sets.items()}, 28, 28, 1, 10
