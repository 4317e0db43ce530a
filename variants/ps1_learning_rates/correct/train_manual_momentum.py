"""Hand-written SGD with torch's momentum rule (buf = g on the first step, then buf = m * buf + g; p -= lr * buf) and F.mse_loss."""
# %% train
def train(model, x, y, lr, steps=200, momentum=0.0):
    params = [p for p in model.parameters() if p.requires_grad]
    buffers = [None] * len(params)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for i, (p, g) in enumerate(zip(params, grads)):
                if momentum != 0:
                    buffers[i] = g.clone() if buffers[i] is None else buffers[i].mul_(momentum).add_(g)
                    g = buffers[i]
                p.sub_(lr * g)
        losses.append(float(loss.detach()))
    return losses
