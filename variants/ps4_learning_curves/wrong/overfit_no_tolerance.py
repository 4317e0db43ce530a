"""Ignores the tolerance: any window mean above the earlier minimum counts, so noise on a flat curve does."""
# fails: hidden_is_overfitting
# %% overfitting
def is_overfitting(val_losses, window=10, tolerance=0.05):
    values = [float(v) for v in val_losses]
    if len(values) <= window:
        return False
    return bool(sum(values[-window:]) / window > min(values[:-window]))
