"""Applies softmax to the output (CrossEntropyLoss expects logits)."""
# fails: hidden_model
# %% model
class ClassificationModel(torch.nn.Module):
    def __init__(self, height, width, channels, n_classes):
        super().__init__()
        self.fc1 = torch.nn.Linear(height * width * channels, 200)
        self.fc2 = torch.nn.Linear(200, 100)
        self.fc3 = torch.nn.Linear(100, n_classes)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        x = torch.relu(self.fc2(torch.relu(self.fc1(x))))
        return torch.softmax(self.fc3(x), dim=1)
