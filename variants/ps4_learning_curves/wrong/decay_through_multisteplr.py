"""Gets the rate from torch.optim.lr_scheduler.MultiStepLR stepped `step` times: right numbers, not computed by hand."""
# fails: hidden_step_decay
# %% step_decay
def step_decay_lr(base_lr, step, milestones, gamma=0.1):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(milestones), gamma=gamma)
    for _ in range(step):
        optimizer.step()
        scheduler.step()
    return optimizer.param_groups[0]["lr"]
