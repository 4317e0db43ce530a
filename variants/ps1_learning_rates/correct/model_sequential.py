"""An nn.Sequential with named layers (fc1, act1, fc2, act2, fc3) instead of attributes."""
# %% model
from collections import OrderedDict


class Model(torch.nn.Module):
    """100 -> 50 -> 20 -> 1 with sigmoid activations on the hidden layers."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(OrderedDict([
            ("fc1", torch.nn.Linear(100, 50)),
            ("act1", torch.nn.Sigmoid()),
            ("fc2", torch.nn.Linear(50, 20)),
            ("act2", torch.nn.Sigmoid()),
            ("fc3", torch.nn.Linear(20, 1)),
        ]))

    def forward(self, x):
        return self.net(x)
