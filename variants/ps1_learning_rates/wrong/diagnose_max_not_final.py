"""Uses the largest loss instead of the final one for divergence, so a temporary spike counts as diverged."""
# fails: hidden_diagnose
# %% diagnose
def diagnose(losses):
    values = [float(v) for v in losses]
    first, final = values[0], values[-1]
    if any(not math.isfinite(v) for v in values) or max(values) > DIVERGE_FACTOR * first:
        return "diverged"
    if final > first:
        return "rising"
    if final > (1 - STUCK_DECREASE) * first:
        return "stuck"
    return "learning"
