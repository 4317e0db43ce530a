"""Own fans and std, drawn with torch.nn.init.normal_ (a plain normal draw, not PyTorch's He/Glorot)."""
# %% initialisers
def _fans(tensor):
    receptive_field = math.prod(tensor.shape[2:]) if tensor.dim() > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def he_normal_(tensor, generator=None):
    fan_in, _ = _fans(tensor)
    return torch.nn.init.normal_(tensor, 0.0, math.sqrt(2.0 / fan_in), generator=generator)


def glorot_normal_(tensor, generator=None):
    fan_in, fan_out = _fans(tensor)
    return torch.nn.init.normal_(tensor, 0.0, math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)
