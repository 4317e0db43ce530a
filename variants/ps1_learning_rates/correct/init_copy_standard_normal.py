"""Fans from math.prod of the kernel dims; scaled torch.randn copied in place with copy_."""
# %% initialisers
def _fans(tensor):
    shape = tuple(tensor.shape)
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def he_normal_(tensor, generator=None):
    fan_in, _ = _fans(tensor)
    std = (2.0 / fan_in) ** 0.5
    with torch.no_grad():
        tensor.copy_(std * torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype))
    return tensor


def glorot_normal_(tensor, generator=None):
    fan_in, fan_out = _fans(tensor)
    std = (2.0 / (fan_in + fan_out)) ** 0.5
    with torch.no_grad():
        tensor.copy_(std * torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype))
    return tensor
