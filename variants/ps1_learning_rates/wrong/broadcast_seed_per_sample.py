"""Thinks the seed's y has one value per sample: SEED_TARGET_SHAPE = (1000,)."""
# fails: hidden_broadcast
# %% broadcast
SEED_TARGET_SHAPE = (1000,)
FIXED_TARGET_SHAPE = (1000, 1)
