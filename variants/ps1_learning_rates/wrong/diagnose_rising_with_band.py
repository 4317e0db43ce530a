"""'rising' only above 1.05x the first loss, so a loss that rose by 2% is called 'stuck'."""
# fails: hidden_diagnose
# %% diagnose
def diagnose(losses):
    values = [float(v) for v in losses]
    first, final = values[0], values[-1]
    if any(not math.isfinite(v) for v in values) or final > DIVERGE_FACTOR * first:
        return "diverged"
    if final > (1 + STUCK_DECREASE) * first:
        return "rising"
    if final > (1 - STUCK_DECREASE) * first:
        return "stuck"
    return "learning"
