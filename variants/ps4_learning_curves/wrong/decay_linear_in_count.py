"""Multiplies by gamma * (number of milestones passed) instead of gamma to that power."""
# fails: hidden_step_decay
# %% step_decay
def step_decay_lr(base_lr, step, milestones, gamma=0.1):
    passed = sum(1 for m in milestones if m <= step)
    return base_lr * gamma * passed if passed else base_lr
