"""Calls torchvision.ops.drop_block2d instead of writing it."""
# fails: hidden_dropblock_blocks
# %% dropblock
class DropBlock2d(nn.Module):
    def __init__(self, drop_prob, block_size):
        super().__init__()
        self.drop_prob = drop_prob
        self.block_size = block_size

    def forward(self, x):
        import torchvision
        return torchvision.ops.drop_block2d(x, self.drop_prob, self.block_size, training=self.training)
