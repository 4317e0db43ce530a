"""Sums over model.state_dict(), which adds buffers and detaches everything."""
# fails: hidden_l2_penalty
# %% l2_penalty
def l2_penalty(model):
    return sum((t.float() ** 2).sum() for t in model.state_dict().values())
