"""Rounds the exponent to the nearest integer instead of taking the largest one that fits."""
# fails: hidden_choose_weight_decay
# %% choose_weight_decay
def choose_weight_decay(loss_bound, l2):
    return 10.0 ** round(math.log10(2.0 * float(loss_bound) / float(l2)))
