"""Returns the bound 2k/L2 itself, not a power of ten below it."""
# fails: hidden_choose_weight_decay
# %% choose_weight_decay
def choose_weight_decay(loss_bound, l2):
    return 2.0 * float(loss_bound) / float(l2)
