"""Measures both shapes by calling the seed's create_dataset and the fixed one."""
# %% broadcast
SEED_TARGET_SHAPE = tuple(create_dataset_seed(1000, 100)[1].shape)
FIXED_TARGET_SHAPE = tuple(create_dataset(1000, 100)[1].shape)
