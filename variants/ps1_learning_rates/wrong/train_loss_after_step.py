"""Records the loss re-evaluated after each update, so the untrained model's loss is never recorded."""
# fails: hidden_train
# %% train
def train(model, x, y, lr, steps=200, momentum=0.0):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    criterion = torch.nn.MSELoss()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
        with torch.no_grad():
            losses.append(criterion(model(x), y).item())
    return losses
