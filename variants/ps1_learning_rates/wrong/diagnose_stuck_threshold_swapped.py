"""Tests final > STUCK_DECREASE * first (5% of the first) instead of (1 - STUCK_DECREASE) * first."""
# fails: hidden_diagnose
# %% diagnose
def diagnose(losses):
    values = [float(v) for v in losses]
    first, final = values[0], values[-1]
    if any(not math.isfinite(v) for v in values) or final > DIVERGE_FACTOR * first:
        return "diverged"
    if final > first:
        return "rising"
    if final > STUCK_DECREASE * first:
        return "stuck"
    return "learning"
