"""Both shapes as torch.Size objects."""
# %% broadcast
SEED_TARGET_SHAPE = torch.Size([])
FIXED_TARGET_SHAPE = torch.Size([1000, 1])
