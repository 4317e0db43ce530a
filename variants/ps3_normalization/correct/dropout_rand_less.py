"""Dropout with torch.rand(x.shape) < keep and torch.where."""
# %% dropout
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, device=x.device) < (1.0 - self.p)
        if self.p >= 1.0:
            return torch.where(keep, x, torch.zeros_like(x))
        return torch.where(keep, x / (1.0 - self.p), torch.zeros_like(x))
