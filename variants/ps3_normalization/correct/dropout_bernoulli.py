"""Dropout with torch.bernoulli and an in-graph multiply by a precomputed scale; p = 1 via zeros_like * x."""
# %% dropout
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        keep_prob = 1.0 - self.p
        if keep_prob == 0:
            return torch.zeros_like(x) * x
        mask = torch.bernoulli(torch.full_like(x, keep_prob))
        return mask * x * (1.0 / keep_prob)
