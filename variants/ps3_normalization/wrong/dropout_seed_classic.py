"""The original tutorial: no scaling in training, activations multiplied by p at test time."""
# fails: hidden_dropout_mask, hidden_dropout_grad, hidden_dropout_eval
# %% dropout
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x * self.p
        keep = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * keep
