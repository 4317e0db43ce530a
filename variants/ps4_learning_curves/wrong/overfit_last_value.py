"""Compares the last value, not the mean of the window, so one noisy spike counts as overfitting."""
# fails: hidden_is_overfitting
# %% overfitting
def is_overfitting(val_losses, window=10, tolerance=0.05):
    values = [float(v) for v in val_losses]
    if len(values) <= window:
        return False
    return bool(values[-1] > (1 + tolerance) * min(values[:-window]))
