"""Forgets the sigmoid after fc2, so fc2 and fc3 collapse into one linear map."""
# fails: hidden_model
# %% model
class Model(torch.nn.Module):
    """100 -> 50 -> 20 -> 1 with sigmoid activations on the hidden layers."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(100, 50)
        self.fc2 = torch.nn.Linear(50, 20)
        self.fc3 = torch.nn.Linear(20, 1)
        self.sigmoid = torch.nn.Sigmoid()

    def forward(self, x):
        x = self.sigmoid(self.fc1(x))
        x = self.fc2(x)
        return self.fc3(x)
