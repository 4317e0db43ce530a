"""Uses the channel counts only (shape[1] + shape[0]) for Conv weights, ignoring the kernel size."""
# fails: hidden_glorot
# %% initialisers
def _fans(tensor):
    receptive_field = tensor[0][0].numel() if tensor.dim() > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def he_normal_(tensor, generator=None):
    fan_in, _ = _fans(tensor)
    with torch.no_grad():
        return tensor.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)


def glorot_normal_(tensor, generator=None):
    fan_in, fan_out = tensor.shape[1], tensor.shape[0]
    with torch.no_grad():
        return tensor.normal_(0.0, math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)
