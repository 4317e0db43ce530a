"""Uses a sum-reduced squared error, which scales the gradient (the effective step) by the data-set size."""
# fails: hidden_train, hidden_lr_regimes
# %% train
def train(model, x, y, lr, steps=200, momentum=0.0):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    criterion = torch.nn.MSELoss(reduction="sum")
    losses = []
    for _ in range(steps):
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
