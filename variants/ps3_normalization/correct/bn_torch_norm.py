"""BatchNorm1d whose batch variance is torch.norm(x - mean, dim=0) ** 2 / n: the notebook says torch.norm
(a vector's length, not a normalisation over the batch) is allowed, so this must pass."""
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
        three_d = x.dim() == 3
        flat = x.transpose(1, 2).reshape(-1, x.shape[1]) if three_d else x
        if self.training:
            n = flat.shape[0]
            mean = flat.mean(dim=0)
            var = torch.norm(flat - mean, dim=0) ** 2 / n
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        out = (flat - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        if three_d:
            return out.reshape(x.shape[0], x.shape[2], x.shape[1]).transpose(1, 2)
        return out
