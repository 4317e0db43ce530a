"""Sums absolute values (an L1 penalty) instead of squares."""
# fails: hidden_l2_penalty
# %% l2_penalty
def l2_penalty(model):
    return sum(p.abs().sum() for p in model.parameters())
