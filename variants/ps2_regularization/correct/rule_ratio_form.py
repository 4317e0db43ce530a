"""The rule as wd < 2 * k / l2, with math.pow and the exponent from ceil(log10) corrected both ways:
an equal form of (wd / 2) * l2 < k that the notebook says is graded right."""
# %% choose_weight_decay
def choose_weight_decay(loss_bound, l2):
    ratio = 2 * float(loss_bound) / float(l2)
    n = math.ceil(math.log10(ratio)) - 1
    while math.pow(10, n + 1) < ratio:
        n += 1
    while not math.pow(10, n) < ratio:
        n -= 1
    return math.pow(10, n)
