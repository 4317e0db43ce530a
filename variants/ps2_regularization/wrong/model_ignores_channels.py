"""Sizes the input layer as height * width, forgetting the channels."""
# fails: hidden_model
# %% model
class ClassificationModel(torch.nn.Module):
    def __init__(self, height, width, channels, n_classes):
        super().__init__()
        self.fc1 = torch.nn.Linear(height * width, 200)
        self.fc2 = torch.nn.Linear(200, 100)
        self.fc3 = torch.nn.Linear(100, n_classes)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))
