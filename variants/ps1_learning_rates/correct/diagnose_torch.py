"""torch: a float64 tensor, torch.isfinite(...).all(), and the label from one conditional expression."""
# %% diagnose
def diagnose(losses):
    t = torch.tensor([float(v) for v in losses], dtype=torch.float64)
    first, final = t[0].item(), t[-1].item()
    diverged = not bool(torch.isfinite(t).all()) or final > DIVERGE_FACTOR * first
    rising, stuck = final > first, final > (1 - STUCK_DECREASE) * first
    return "diverged" if diverged else "rising" if rising else "stuck" if stuck else "learning"
