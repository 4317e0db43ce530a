"""Compares with the first value instead of the minimum: a rise after a deep minimum goes unnoticed."""
# fails: hidden_is_overfitting
# %% overfitting
def is_overfitting(val_losses, window=10, tolerance=0.05):
    values = [float(v) for v in val_losses]
    if len(values) <= window:
        return False
    return bool(sum(values[-window:]) / window > (1 + tolerance) * values[0])
