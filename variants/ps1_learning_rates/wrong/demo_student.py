"""Forgets zero_grad in train and scales He by fan-out: two classic slips in one notebook."""
# fails: hidden_train, hidden_lr_regimes, hidden_he
# %% train
def train(model, x, y, lr, steps=200, momentum=0.0):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    criterion = torch.nn.MSELoss()
    losses = []
    for _ in range(steps):
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses

# %% initialisers
def _fans(tensor):
    receptive_field = tensor[0][0].numel() if tensor.dim() > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def he_normal_(tensor, generator=None):
    _, fan_out = _fans(tensor)
    with torch.no_grad():
        return tensor.normal_(0.0, math.sqrt(2.0 / fan_out), generator=generator)


def glorot_normal_(tensor, generator=None):
    fan_in, fan_out = _fans(tensor)
    with torch.no_grad():
        return tensor.normal_(0.0, math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)
