"""BatchNorm1d with torch.var_mean(unbiased=False), moving the channels last for 3-D input, and buffers reassigned."""
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
            var, mean = torch.var_mean(flat, dim=0, unbiased=False)
            n = flat.shape[0]
            self.running_mean = ((1 - self.momentum) * self.running_mean + self.momentum * mean).detach()
            self.running_var = ((1 - self.momentum) * self.running_var
                                + self.momentum * var * n / (n - 1)).detach()
        else:
            mean, var = self.running_mean, self.running_var
        out = (flat - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
        if three_d:
            return out.reshape(x.shape[0], x.shape[2], x.shape[1]).transpose(1, 2)
        return out
