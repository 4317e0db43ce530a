"""Divides by 1 - p without handling p = 1, so Dropout(1.0) returns nan (0 * inf)."""
# fails: hidden_dropout_eval
# %% dropout
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        keep = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)
