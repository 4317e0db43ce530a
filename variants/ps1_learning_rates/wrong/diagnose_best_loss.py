"""Uses the lowest loss reached instead of the final one for 'stuck', so a run that fell and then climbed back is 'learning'."""
# fails: hidden_diagnose
# %% diagnose
def diagnose(losses):
    values = [float(v) for v in losses]
    first, final = values[0], values[-1]
    if any(not math.isfinite(v) for v in values) or final > DIVERGE_FACTOR * first:
        return "diverged"
    if final > first:
        return "rising"
    if min(values) > (1 - STUCK_DECREASE) * first:
        return "stuck"
    return "learning"
