"""Checks only the final loss for nan/inf, so a run that went infinite and came back is not 'diverged'."""
# fails: hidden_diagnose
# %% diagnose
def diagnose(losses):
    values = [float(v) for v in losses]
    first, final = values[0], values[-1]
    if not math.isfinite(final) or final > DIVERGE_FACTOR * first:
        return "diverged"
    if final > first:
        return "rising"
    if final > (1 - STUCK_DECREASE) * first:
        return "stuck"
    return "learning"
