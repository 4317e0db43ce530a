"""Hidden layers 100 then 200 instead of 200 then 100."""
# fails: hidden_model
# %% model
class ClassificationModel(torch.nn.Module):
    def __init__(self, height, width, channels, n_classes):
        super().__init__()
        self.fc1 = torch.nn.Linear(height * width * channels, 100)
        self.fc2 = torch.nn.Linear(100, 200)
        self.fc3 = torch.nn.Linear(200, n_classes)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))
