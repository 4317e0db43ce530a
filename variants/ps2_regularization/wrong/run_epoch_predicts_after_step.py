"""Counts correct predictions with a second forward pass after the update."""
# fails: hidden_run_epoch_train
# %% run_epoch
def run_epoch(model, loader, criterion, optimizer=None, device="cpu"):
    training = optimizer is not None
    model.train(training)
    total_loss, correct, count = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = criterion(model(x), y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                correct += (model(x).argmax(dim=1) == y).sum().item()
            total_loss += loss.item() * x.shape[0]
            count += x.shape[0]
    return total_loss / count, correct / count
