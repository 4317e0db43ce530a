"""Never calls optimizer.zero_grad(), so gradients pile up batch after batch."""
# fails: hidden_run_epoch_train, hidden_wd_regimes
# %% run_epoch
def run_epoch(model, loader, criterion, optimizer=None, device="cpu"):
    training = optimizer is not None
    model.train(training)
    total_loss, correct, count = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            outputs = model(x)
            loss = criterion(outputs, y)
            if training:
                loss.backward()
                optimizer.step()
            total_loss += loss.item() * x.shape[0]
            correct += (outputs.argmax(dim=1) == y).sum().item()
            count += x.shape[0]
    return total_loss / count, correct / count
