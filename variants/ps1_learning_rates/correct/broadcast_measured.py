"""Measures the shapes: a full torch.sum for the seed's target, create_dataset for the fixed one."""
# %% broadcast
SEED_TARGET_SHAPE = tuple(torch.sum(torch.randn(1000, 100)[:, :50] / 10).shape)
FIXED_TARGET_SHAPE = tuple(create_dataset(1000, 100)[1].shape)
