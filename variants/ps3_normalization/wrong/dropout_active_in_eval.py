"""Ignores self.training: keeps dropping units in evaluation mode."""
# fails: hidden_dropout_eval
# %% dropout
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0:
            return x
        if self.p == 1:
            return x * 0.0
        keep = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)
