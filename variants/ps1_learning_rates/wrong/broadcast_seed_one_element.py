"""Writes the scalar's shape as (1,) instead of the empty shape ()."""
# fails: hidden_broadcast
# %% broadcast
SEED_TARGET_SHAPE = (1,)
FIXED_TARGET_SHAPE = (1000, 1)
