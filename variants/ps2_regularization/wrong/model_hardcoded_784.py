"""Hard-codes 784 inputs and 10 classes, ignoring the constructor's arguments."""
# fails: hidden_model
# %% model
class ClassificationModel(torch.nn.Module):
    def __init__(self, height, width, channels, n_classes):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 200)
        self.fc2 = torch.nn.Linear(200, 100)
        self.fc3 = torch.nn.Linear(100, 10)

    def forward(self, x):
        x = x.view(-1, 784)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))
