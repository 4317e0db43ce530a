"""Builds a new SGD optimiser at every step, which throws the momentum buffer away."""
# fails: hidden_train
# %% train
def train(model, x, y, lr, steps=200, momentum=0.0):
    criterion = torch.nn.MSELoss()
    losses = []
    for _ in range(steps):
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
