"""fc1/fc2/fc3 attributes with a hand-written logistic function 1 / (1 + exp(-z)) in forward."""
# %% model
class Model(torch.nn.Module):
    """100 -> 50 -> 20 -> 1 with sigmoid activations on the hidden layers."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(100, 50)
        self.fc2 = torch.nn.Linear(50, 20)
        self.fc3 = torch.nn.Linear(20, 1)

    @staticmethod
    def _logistic(z):
        return 1.0 / (1.0 + torch.exp(-z))

    def forward(self, x):
        h1 = self._logistic(self.fc1(x))
        h2 = self._logistic(self.fc2(h1))
        return self.fc3(h2)
