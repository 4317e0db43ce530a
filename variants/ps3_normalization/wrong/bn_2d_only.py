"""Only handles (N, C) input: statistics over dimension 0 alone, so (N, C, L) input is normalised per (channel, position)."""
# fails: hidden_bn_3d
# %% batchnorm
class BatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        if self.training:
            mean = x.mean(dim=0)
            var = ((x - mean) ** 2).mean(dim=0)
            n = x.shape[0]
            with torch.no_grad():
                if x.dim() == 2:
                    self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                    self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
            if x.dim() == 3:
                mean, var = mean[:, None], var[:, None]
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        if x.dim() == 3:
            return x_hat * self.weight[:, None] + self.bias[:, None]
        return x_hat * self.weight + self.bias
