"""Normalises the raw 0-255 pixels with the statistics of [0, 1] pixels (forgets / 255)."""
# fails: hidden_load_mnist
# %% load_mnist
def load_mnist(batch_size, root=None):
    location, download = mnist_location(root)
    data_loaders, dataset_sizes = {}, {}
    for phase in ("train", "test"):
        mnist = torchvision.datasets.MNIST(root=location, train=(phase == "train"), download=download)
        images = ((mnist.data.float() - 0.1307) / 0.3081).unsqueeze(1)
        dataset = torch.utils.data.TensorDataset(images, mnist.targets)
        order = (torch.utils.data.RandomSampler(dataset) if phase == "train" else torch.utils.data.SequentialSampler(dataset))
        batches = torch.utils.data.BatchSampler(order, batch_size, drop_last=False)
        data_loaders[phase] = torch.utils.data.DataLoader(dataset, sampler=batches, batch_size=None)
        dataset_sizes[phase] = len(dataset)
    height, width = mnist.data.shape[1:]
    return data_loaders, dataset_sizes, int(height), int(width), 1, 10
