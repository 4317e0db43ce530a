"""L2 by named parameters with torch.sum; the rule by walking the exponent down from a large one."""
# %% l2_penalty
def l2_penalty(model):
    total = torch.zeros(())
    for _, p in model.named_parameters():
        total = total + torch.sum(p * p)
    return total
# %% choose_weight_decay
def choose_weight_decay(loss_bound, l2):
    k = loss_bound.item() if torch.is_tensor(loss_bound) else loss_bound
    l2 = l2.item() if torch.is_tensor(l2) else l2
    n = 30
    while 10.0 ** n * l2 / 2 >= k:
        n -= 1
    return float(10.0 ** n)
