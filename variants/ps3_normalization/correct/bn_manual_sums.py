"""BatchNorm1d with explicit sums and sums of squares (centred), einsum-free, unbiased variance via torch.var."""
# %% batchnorm
class BatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.register_parameter("weight", nn.Parameter(torch.ones(num_features)))
        self.register_parameter("bias", nn.Parameter(torch.zeros(num_features)))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        dims = tuple(d for d in range(x.dim()) if d != 1)
        view = (1, self.num_features) + (1,) * (x.dim() - 2)
        if self.training:
            n = x.numel() / self.num_features
            mean = x.sum(dim=dims) / n
            centred = x - mean.reshape(view)
            var = (centred * centred).sum(dim=dims) / n
            with torch.no_grad():
                unbiased = torch.var(x, dim=dims, unbiased=True)
                self.running_mean.copy_((1 - self.momentum) * self.running_mean + self.momentum * mean)
                self.running_var.copy_((1 - self.momentum) * self.running_var + self.momentum * unbiased)
        else:
            mean, var = self.running_mean, self.running_var
            centred = x - mean.reshape(view)
        scale = self.weight.reshape(view) / (var.reshape(view) + self.eps).sqrt()
        return centred * scale + self.bias.reshape(view)
