"""Leaves out the biases, which SGD weight_decay decays too."""
# fails: hidden_l2_penalty
# %% l2_penalty
def l2_penalty(model):
    return sum((p ** 2).sum() for name, p in model.named_parameters() if not name.endswith("bias"))
