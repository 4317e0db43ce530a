"""Checks 'rising' before 'diverged', so a loss that grew 3x (or to inf) is only 'rising'."""
# fails: hidden_diagnose
# %% diagnose
def diagnose(losses):
    values = [float(v) for v in losses]
    first, final = values[0], values[-1]
    if final > first:
        return "rising"
    if any(not math.isfinite(v) for v in values) or final > DIVERGE_FACTOR * first:
        return "diverged"
    if final > (1 - STUCK_DECREASE) * first:
        return "stuck"
    return "learning"
