"""DropBlock2d expanding the seeds with a grouped convolution of ones (conv_transpose from the valid centres), torch.rand < gamma."""
# %% dropblock
class DropBlock2d(nn.Module):
    def __init__(self, drop_prob, block_size):
        super().__init__()
        self.drop_prob = drop_prob
        self.block_size = block_size

    def forward(self, x):
        if not self.training or self.drop_prob == 0:
            return x
        n, c, h, w = x.shape
        k = self.block_size
        gamma = self.drop_prob * h * w / (k * k * (h - k + 1) * (w - k + 1))
        seeds = (torch.rand(n * c, 1, h - k + 1, w - k + 1, device=x.device) < gamma).to(x.dtype)
        # each seed at (i, j) covers rows i..i+k-1 and columns j..j+k-1 of the map
        covered = F.conv_transpose2d(seeds, torch.ones(1, 1, k, k, dtype=x.dtype, device=x.device))
        mask = (covered == 0).to(x.dtype).reshape(n, c, h, w)
        kept = mask.sum()
        if kept == 0:
            return torch.zeros_like(x) * x
        return x * mask * (mask.numel() / kept)
