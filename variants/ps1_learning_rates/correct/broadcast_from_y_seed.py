"""Reads SEED_TARGET_SHAPE off y_seed, which the read-only seed_dataset cell makes (the notebook says it is loaded at grading)."""
# %% broadcast
SEED_TARGET_SHAPE = tuple(y_seed.shape)
FIXED_TARGET_SHAPE = create_dataset(1000, 100)[1].shape
