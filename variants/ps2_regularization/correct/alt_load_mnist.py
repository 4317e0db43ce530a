"""Builds one transform as a list, passes samplers explicitly and reads the image size from the training set."""
# %% load_mnist
def load_mnist(batch_size, root=None):
    where, download = mnist_location(root)
    normalise = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean=[0.1307], std=[0.3081])])
    sets = {phase: torchvision.datasets.MNIST(where, train=(phase == "train"), transform=normalise, download=download)
            for phase in ("train", "test")}
    data_loaders = {
        "train": torch.utils.data.DataLoader(sets["train"], batch_size, sampler=torch.utils.data.RandomSampler(sets["train"])),
        "test": torch.utils.data.DataLoader(sets["test"], batch_size, sampler=torch.utils.data.SequentialSampler(sets["test"])),
    }
    dataset_sizes = {phase: len(s) for phase, s in sets.items()}
    _, height, width = sets["train"].data.shape
    return data_loaders, dataset_sizes, height, width, 1, len(sets["train"].classes)
