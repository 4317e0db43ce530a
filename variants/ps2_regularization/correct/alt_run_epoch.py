"""Separate branches, torch.inference_mode for evaluation, zero_grad after the step, len(loader.dataset)."""
# %% run_epoch
def run_epoch(model, loader, criterion, optimizer=None, device="cpu"):
    running_loss, running_corrects = 0.0, 0
    if optimizer is not None:
        model.train()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            outputs = model(x)
            _, preds = torch.max(outputs, 1)
            loss = criterion(outputs, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            running_loss += loss.item() * x.size(0)
            running_corrects += torch.sum(preds == y).item()
    else:
        model.eval()
        with torch.inference_mode():
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                outputs = model(x)
                running_loss += criterion(outputs, y).item() * x.size(0)
                running_corrects += (outputs.max(1).indices == y).sum().item()
    n = len(loader.dataset)
    return running_loss / n, running_corrects / n
