"""Gives the fixed target shape as (1000,), without the trailing 1."""
# fails: hidden_broadcast
# %% broadcast
SEED_TARGET_SHAPE = ()
FIXED_TARGET_SHAPE = (1000,)
