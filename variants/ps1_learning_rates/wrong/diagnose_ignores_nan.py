"""Only compares the final loss with the first, so nan (which compares False) is never 'diverged'."""
# fails: hidden_diagnose
# %% diagnose
def diagnose(losses):
    first, final = float(losses[0]), float(losses[-1])
    if final > DIVERGE_FACTOR * first:
        return "diverged"
    if final > first:
        return "rising"
    if final > (1 - STUCK_DECREASE) * first:
        return "stuck"
    return "learning"
