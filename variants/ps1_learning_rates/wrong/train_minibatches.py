"""Stochastic minibatches of 32 samples instead of full-batch gradient descent."""
# fails: hidden_train, hidden_lr_regimes
# %% train
def train(model, x, y, lr, steps=200, momentum=0.0):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    criterion = torch.nn.MSELoss()
    losses = []
    for _ in range(steps):
        batch = torch.randint(0, x.shape[0], (32,), device=x.device)
        loss = criterion(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
