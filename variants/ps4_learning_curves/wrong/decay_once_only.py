"""Multiplies by gamma once, whatever the number of milestones passed."""
# fails: hidden_step_decay
# %% step_decay
def step_decay_lr(base_lr, step, milestones, gamma=0.1):
    return base_lr * gamma if any(m <= step for m in milestones) else base_lr
