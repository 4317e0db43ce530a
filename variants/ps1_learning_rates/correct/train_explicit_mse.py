"""The squared error written out as ((model(x) - y) ** 2).mean(), zero_grad(set_to_none=True) at the top of the loop."""
# %% train
def train(model, x, y, lr, steps=200, momentum=0.0):
    optimizer = torch.optim.SGD(params=model.parameters(), lr=lr, momentum=momentum)
    losses = []
    step = 0
    while step < steps:
        optimizer.zero_grad(set_to_none=True)
        prediction = model(x)
        loss = ((prediction - y) ** 2).mean()
        losses.append(loss.detach().item())
        loss.backward()
        optimizer.step()
        step += 1
    return losses
