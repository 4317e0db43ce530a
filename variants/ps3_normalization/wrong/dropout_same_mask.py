"""Draws the mask once per input shape and reuses it on every later call."""
# fails: hidden_dropout_mask
# %% dropout
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p
        self._mask = None

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0.0
        if self._mask is None or self._mask.shape != x.shape:
            self._mask = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * self._mask / (1 - self.p)
