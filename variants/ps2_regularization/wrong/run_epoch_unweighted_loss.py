"""Averages the batch losses without weighting them by batch size."""
# fails: hidden_run_epoch_metrics, hidden_run_epoch_train
# %% run_epoch
def run_epoch(model, loader, criterion, optimizer=None, device="cpu"):
    training = optimizer is not None
    model.train(training)
    losses, correct, count = [], 0, 0
    with torch.set_grad_enabled(training):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            outputs = model(x)
            loss = criterion(outputs, y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            losses.append(loss.item())
            correct += (outputs.argmax(dim=1) == y).sum().item()
            count += x.shape[0]
    return sum(losses) / len(losses), correct / count
