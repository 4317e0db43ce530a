"""DropBlock2d that builds the block mask with max_pool2d on the padded seeds without an explicit padding argument."""
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
        gamma = self.drop_prob / (k ** 2) * (h * w) / ((h - k + 1) * (w - k + 1))
        seeds = torch.zeros(n, c, h + k - 1, w + k - 1, dtype=x.dtype, device=x.device)
        inner = torch.rand(n, c, h - k + 1, w - k + 1, device=x.device) < gamma
        seeds[:, :, k - 1:h, k - 1:w] = inner.to(x.dtype)
        blocks = F.max_pool2d(seeds, kernel_size=k, stride=1)
        mask = 1.0 - blocks
        return x * mask * (mask.numel() / mask.sum().clamp(min=1.0))
