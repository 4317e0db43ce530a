"""Turns on Nesterov momentum, which is not the plain (heavy-ball) momentum asked for."""
# fails: hidden_train
# %% train
def train(model, x, y, lr, steps=200, momentum=0.0):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=momentum > 0)
    criterion = torch.nn.MSELoss()
    losses = []
    for _ in range(steps):
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
