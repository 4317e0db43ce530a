"""Keeps each unit with probability p (drops with 1 - p), while still dividing by 1 - p."""
# fails: hidden_dropout_mask, hidden_dropout_eval
# %% dropout
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        keep = (torch.rand_like(x) < self.p).to(x.dtype)
        return x * keep / (1 - self.p)
