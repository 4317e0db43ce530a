"""Allows (wd/2) * L2 = k (<= instead of <)."""
# fails: hidden_choose_weight_decay
# %% choose_weight_decay
def choose_weight_decay(loss_bound, l2):
    k, l2 = float(loss_bound), float(l2)
    return 10.0 ** math.floor(math.log10(2.0 * k / l2))
