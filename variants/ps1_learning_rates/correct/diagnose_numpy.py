"""NumPy: np.isfinite over the array and the final/first ratio (first > 0 for an MSE)."""
# %% diagnose
def diagnose(losses):
    import numpy as np

    values = np.asarray([float(v) for v in losses], dtype=np.float64)
    if not np.isfinite(values).all():
        return "diverged"
    ratio = values[-1] / values[0]
    if ratio > DIVERGE_FACTOR:
        return "diverged"
    if ratio > 1:
        return "rising"
    if ratio > 1 - STUCK_DECREASE:
        return "stuck"
    return "learning"
