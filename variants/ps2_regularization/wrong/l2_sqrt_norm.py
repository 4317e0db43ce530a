"""Returns the norm sqrt(sum theta^2) instead of its square."""
# fails: hidden_l2_penalty
# %% l2_penalty
def l2_penalty(model):
    return torch.sqrt(sum((p ** 2).sum() for p in model.parameters()))
