"""Penalises only the last parameter tensors (the output layer)."""
# fails: hidden_l2_penalty
# %% l2_penalty
def l2_penalty(model):
    params = list(model.parameters())
    return sum((p ** 2).sum() for p in params[-2:])
