"""The reference BatchNorm1d with a comment that says "ignored by the optimiser": a word in a comment
once switched the graders' start-up imports (torch._dynamo), after which six correct dropout and
DropBlock checks raised; a word must never change a verdict (remote.warm_up_modules)."""
# %% batchnorm
class BatchNorm1d(nn.Module):
    r"""Batch normalisation over a 2-D (N, C) or 3-D (N, C, L) input (Ioffe & Szegedy, 2015).

    .. math::

        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} * \gamma + \beta

    The mean and the variance are taken per channel c (dimension 1) over every other dimension
    (N, and L for 3-D input), so each has shape (C,). Let n be the number of values each is
    computed from: n = N for (N, C) input, n = N * L for (N, C, L) input.

    Training mode (``self.training`` is True):

    * normalise with the batch mean mu_B and the *biased* batch variance
      sigma_B^2 = mean((x - mu_B)^2) (divide by n);
    * update the running estimates, outside autograd, with the *unbiased* variance:

      running_mean <- (1 - momentum) * running_mean + momentum * mu_B
      running_var  <- (1 - momentum) * running_var  + momentum * sigma_B^2 * n / (n - 1)

    Evaluation mode: normalise with ``running_mean`` and ``running_var`` in place of the batch
    statistics, and update nothing.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance inside the square root, for numerical stability.
        momentum: the weight of the current batch in the running estimates.

    Attributes:
        weight: gamma, an ``nn.Parameter`` of shape (C,), initialised to ones.
        bias: beta, an ``nn.Parameter`` of shape (C,), initialised to zeros.
        running_mean: a buffer (``register_buffer``) of shape (C,), initialised to zeros.
        running_var: a buffer of shape (C,), initialised to ones.

    Shape:
        Input (N, C) or (N, C, L); output of the same shape. Training mode needs n > 1.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        # running statistics are buffers: saved with the model, ignored by the optimiser
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        dims = [0] + list(range(2, x.dim()))          # every dimension but the channels
        shape = [1, -1] + [1] * (x.dim() - 2)         # (C,) -> broadcastable against x
        if self.training:
            mean = x.mean(dim=dims)
            var = ((x - mean.view(shape)) ** 2).mean(dim=dims)
            n = x.numel() // x.shape[1]
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        return x_hat * self.weight.view(shape) + self.bias.view(shape)
