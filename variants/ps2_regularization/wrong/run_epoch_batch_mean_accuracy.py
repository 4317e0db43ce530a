"""Averages the per-batch accuracies (wrong when the last batch is smaller)."""
# fails: hidden_run_epoch_metrics, hidden_run_epoch_train
# %% run_epoch
def run_epoch(model, loader, criterion, optimizer=None, device="cpu"):
    training = optimizer is not None
    model.train(training)
    total_loss, accuracies, count = 0.0, [], 0
    with torch.set_grad_enabled(training):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            outputs = model(x)
            loss = criterion(outputs, y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total_loss += loss.item() * x.shape[0]
            accuracies.append((outputs.argmax(dim=1) == y).float().mean().item())
            count += x.shape[0]
    return total_loss / count, sum(accuracies) / len(accuracies)
