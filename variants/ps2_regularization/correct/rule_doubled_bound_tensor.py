"""The rule as wd * l2 < 2 * k, l2 kept as the tensor it may arrive as (float32 arithmetic), wd = 1e{n}:
an equal form of (wd / 2) * l2 < k that the notebook says is graded right."""
# %% choose_weight_decay
def choose_weight_decay(loss_bound, l2):
    n = 12
    while bool(float(f"1e{n}") * l2 >= 2 * loss_bound):
        n -= 1
    return float(f"1e{n}")
