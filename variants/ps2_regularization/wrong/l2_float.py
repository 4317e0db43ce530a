"""Returns a Python float (.item()), cut off from the autograd graph."""
# fails: hidden_l2_penalty
# %% l2_penalty
def l2_penalty(model):
    return sum((p ** 2).sum().item() for p in model.parameters())
