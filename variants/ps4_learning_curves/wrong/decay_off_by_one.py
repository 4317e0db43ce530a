"""Decays one step late: counts the milestones m < step instead of m <= step."""
# fails: hidden_step_decay
# %% step_decay
def step_decay_lr(base_lr, step, milestones, gamma=0.1):
    return base_lr * gamma ** sum(1 for m in milestones if m < step)
