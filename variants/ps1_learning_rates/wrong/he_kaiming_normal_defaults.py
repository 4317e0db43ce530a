"""He through torch.nn.init.kaiming_normal_ with its defaults (right numbers: leaky_relu with a=0 has gain sqrt(2)), not drawn by hand; Glorot by hand."""
# fails: hidden_he
# %% initialisers
def _fans(tensor):
    receptive_field = tensor[0][0].numel() if tensor.dim() > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def he_normal_(tensor, generator=None):
    return torch.nn.init.kaiming_normal_(tensor, generator=generator)


def glorot_normal_(tensor, generator=None):
    fan_in, fan_out = _fans(tensor)
    with torch.no_grad():
        tensor.normal_(generator=generator).mul_(math.sqrt(2.0 / (fan_in + fan_out)))
    return tensor
