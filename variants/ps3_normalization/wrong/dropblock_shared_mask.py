"""Draws one seed mask per batch and shares it between all samples and channels."""
# fails: hidden_dropblock_blocks, hidden_dropblock_rate
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
        gamma = self.drop_prob / k ** 2 * h * w / ((h - k + 1) * (w - k + 1))
        seeds = torch.bernoulli(torch.full((1, 1, h - k + 1, w - k + 1), gamma, dtype=x.dtype, device=x.device))
        seeds = F.pad(seeds, [k // 2] * 4)
        mask = 1 - F.max_pool2d(seeds, kernel_size=k, stride=1, padding=k // 2)
        mask = mask.expand(n, c, h, w)
        kept = mask.sum()
        if kept.item() == 0:
            return x * 0.0
        return x * mask * (mask.numel() / kept)
