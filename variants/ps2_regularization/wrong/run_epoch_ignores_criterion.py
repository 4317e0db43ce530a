"""Ignores the criterion it is given and always uses plain cross-entropy."""
# fails: hidden_run_epoch_metrics
# %% run_epoch
def run_epoch(model, loader, criterion, optimizer=None, device="cpu"):
    training = optimizer is not None
    model.train(training)
    total_loss, correct, count = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            outputs = model(x)
            loss = torch.nn.functional.cross_entropy(outputs, y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total_loss += loss.item() * x.shape[0]
            correct += (outputs.argmax(dim=1) == y).sum().item()
            count += x.shape[0]
    return total_loss / count, correct / count
