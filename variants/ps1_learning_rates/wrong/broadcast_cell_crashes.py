"""The broadcast cell raises (a typo), which must cost only the broadcast points."""
# fails: hidden_broadcast
# %% broadcast
SEED_TARGET_SHAPE = tuple(create_dataset_sed(1000, 100)[1].shape)
FIXED_TARGET_SHAPE = (1000, 1)
