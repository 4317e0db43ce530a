"""Draws the mask with NumPy, so torch.manual_seed does not make it reproducible."""
# fails: hidden_dropout_mask
# %% dropout
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0.0
        import numpy as np
        keep = torch.as_tensor(np.random.rand(*x.shape) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)
