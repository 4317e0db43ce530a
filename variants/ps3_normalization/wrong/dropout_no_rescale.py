"""Drops units but never rescales the kept ones by 1 / (1 - p)."""
# fails: hidden_dropout_mask, hidden_dropout_grad
# %% dropout
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * keep
