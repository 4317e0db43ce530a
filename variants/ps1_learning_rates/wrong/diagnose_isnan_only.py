"""Checks math.isnan only, so an infinite loss is not 'diverged'."""
# fails: hidden_diagnose
# %% diagnose
def diagnose(losses):
    values = [float(v) for v in losses]
    first, final = values[0], values[-1]
    if any(math.isnan(v) for v in values) or final > DIVERGE_FACTOR * first:
        return "diverged"
    if final > first:
        return "rising"
    if final > (1 - STUCK_DECREASE) * first:
        return "stuck"
    return "learning"
