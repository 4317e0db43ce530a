"""Uses wd * L2 < k, forgetting that weight_decay=wd is the penalty (wd/2) * L2."""
# fails: hidden_choose_weight_decay
# %% choose_weight_decay
def choose_weight_decay(loss_bound, l2):
    k, l2 = float(loss_bound), float(l2)
    n = math.floor(math.log10(k / l2))
    while 10.0 ** n * l2 >= k:
        n -= 1
    return 10.0 ** n
