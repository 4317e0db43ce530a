"""Ignores the root argument (always uses $MNIST_ROOT or a download)."""
# fails: hidden_load_mnist
# %% load_mnist
def load_mnist(batch_size, root=None):
    location, download = mnist_location()
    train_transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    test_transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = torchvision.datasets.MNIST(root=location, train=True, download=download, transform=train_transform)
    test_set = torchvision.datasets.MNIST(root=location, train=False, download=download, transform=test_transform)
    data_loaders = {
        "train": torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True),
        "test": torch.utils.data.DataLoader(test_set, batch_size=batch_size, shuffle=False),
    }
    dataset_sizes = {"train": len(train_set), "test": len(test_set)}
    height, width = test_set.data.shape[1:]
    return data_loaders, dataset_sizes, int(height), int(width), 1, 10
