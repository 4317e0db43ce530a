"""The old three labels: a finite loss that rose (up to 2x the first) is called 'stuck' instead of 'rising'."""
# fails: hidden_diagnose
# %% diagnose
def diagnose(losses):
    values = [float(v) for v in losses]
    first, final = values[0], values[-1]
    if any(not math.isfinite(v) for v in values) or final > DIVERGE_FACTOR * first:
        return "diverged"
    if final > (1 - STUCK_DECREASE) * first:
        return "stuck"
    return "learning"
