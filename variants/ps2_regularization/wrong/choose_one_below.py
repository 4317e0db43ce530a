"""Takes one power of ten below the largest that fits (ceil of the log, minus 2)."""
# fails: hidden_choose_weight_decay
# %% choose_weight_decay
def choose_weight_decay(loss_bound, l2):
    return 10.0 ** (math.ceil(math.log10(2.0 * float(loss_bound) / float(l2))) - 2)
