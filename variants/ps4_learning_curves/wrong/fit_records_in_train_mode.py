"""Records the losses with the model in train mode (dropout still active)."""
# fails: hidden_fit
# %% fit
def fit(model, data, lr, steps, batch_size=10, optimizer="sgd", switch_at=None, switch_lr=None,
        generator=None):
    x_train, y_train, x_test, y_test = data

    def new_optimizer(name, rate):
        kind = torch.optim.Adam if name == "adam" else torch.optim.SGD
        return kind(model.parameters(), lr=rate)

    def rate_at(k):
        return lr(k) if callable(lr) else lr

    history = {"train_loss": [], "test_loss": []}

    def record():
        with torch.no_grad():
            history["train_loss"].append(F.binary_cross_entropy_with_logits(model(x_train).squeeze(1), y_train).item())
            history["test_loss"].append(F.binary_cross_entropy_with_logits(model(x_test).squeeze(1), y_test).item())

    model.train()
    opt = new_optimizer(optimizer, rate_at(0))
    switched = False
    record()
    for k in range(steps):
        if switch_at is not None and k == switch_at:
            opt, switched = new_optimizer("sgd", switch_lr), True
        if not switched:
            for group in opt.param_groups:
                group["lr"] = rate_at(k)
        idx = torch.randint(x_train.shape[0], (batch_size,), generator=generator).to(x_train.device)
        loss = F.binary_cross_entropy_with_logits(model(x_train[idx]).squeeze(1), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        record()
    return history
