"""Swaps the two shapes."""
# fails: hidden_broadcast
# %% broadcast
SEED_TARGET_SHAPE = (1000, 1)
FIXED_TARGET_SHAPE = ()
