"""Takes the minimum over all values, the window included, so a fast-falling curve looks like overfitting."""
# fails: hidden_is_overfitting
# %% overfitting
def is_overfitting(val_losses, window=10, tolerance=0.05):
    values = [float(v) for v in val_losses]
    if len(values) <= window:
        return False
    return bool(sum(values[-window:]) / window > (1 + tolerance) * min(values))
