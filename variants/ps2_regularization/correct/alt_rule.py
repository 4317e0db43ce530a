"""L2 through parameters_to_vector; the rule by ceil(log10) - 1."""
# %% l2_penalty
def l2_penalty(model):
    return torch.nn.utils.parameters_to_vector(model.parameters()).pow(2).sum()
# %% choose_weight_decay
def choose_weight_decay(loss_bound, l2):
    return 10.0 ** (math.ceil(math.log10(2 * float(loss_bound) / float(l2))) - 1)
