"""A Sequential stack with nn.Flatten and functional-free layers."""
# %% model
class ClassificationModel(torch.nn.Module):
    def __init__(self, height, width, channels, n_classes):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(channels * height * width, 200), torch.nn.ReLU(),
            torch.nn.Linear(200, 100), torch.nn.ReLU(),
            torch.nn.Linear(100, n_classes),
        )

    def forward(self, x):
        return self.net(x)
