"""Never calls model.train(): after an evaluation the model keeps training in eval mode."""
# fails: hidden_run_epoch_train
# %% run_epoch
def run_epoch(model, loader, criterion, optimizer=None, device="cpu"):
    total_loss, correct, count = 0.0, 0, 0
    if optimizer is None:
        model.eval()
    with torch.set_grad_enabled(optimizer is not None):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            outputs = model(x)
            loss = criterion(outputs, y)
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total_loss += loss.item() * x.shape[0]
            correct += (outputs.argmax(dim=1) == y).sum().item()
            count += x.shape[0]
    return total_loss / count, correct / count
