"""Checks 'stuck' before 'diverged' and 'rising', so a loss that grew is called stuck."""
# fails: hidden_diagnose
# %% diagnose
def diagnose(losses):
    values = [float(v) for v in losses]
    first, final = values[0], values[-1]
    if final > (1 - STUCK_DECREASE) * first:
        return "stuck"
    if any(not math.isfinite(v) for v in values) or final > DIVERGE_FACTOR * first:
        return "diverged"
    if final > first:
        return "rising"
    return "learning"
