# %% [markdown]
# # Problem set 3: BatchNorm, Dropout and DropBlock
#
# **Before you start.** You need Python 3 with `torch`, `torchvision`, `matplotlib` and `tqdm`
# (`pip install torch torchvision matplotlib tqdm`; this notebook was tested with torch 2.14.1,
# torchvision 0.29.1, matplotlib 3.11 and tqdm 4.70). On Google Colab all of them are already
# installed: open the notebook there and run it. No GPU is needed. The first run needs an internet
# connection to download MNIST (about 11 MB), unless you set the environment variable `MNIST_ROOT` to
# a folder that holds the four MNIST files (see `mnist_location` in section 1.2).
#
# **Run time.** Run the cells from top to bottom. With correct solutions, all the code cells of this
# notebook together took about 25 seconds in one measured run on a 2-core server, with MNIST already
# on disk, not counting the start of Python and the import of torch. Your laptop may be faster or a
# few times slower.

# %% [markdown]
# *Neural-network best practices: normalisation and regularisation inside the network.* You will
#
# 1. write **batch normalisation** (`BatchNorm1d`) with its running statistics, and measure what it
#    does to the speed of training on MNIST;
# 2. write **inverted dropout** (`Dropout`), fix a mistake in the original tutorial about scaling at
#    test time, and see dropout fight overfitting on a 500-image training set;
# 3. write **DropBlock** (`DropBlock2d`), the version of dropout for convolutional feature maps.
#
# All three are `torch.nn.Module`s that behave differently in training and in evaluation mode
# (`model.train()` / `model.eval()` set `self.training`).
#
# **Implement it yourself.** Where an exercise asks you to write something PyTorch already has, write
# it with tensor operations: a part that calls PyTorch's own version of what it implements scores 0,
# with a message that names the call. Here that means: in `BatchNorm1d`, none of PyTorch's
# normalisation layers, `batch_norm`, `instance_norm`, `layer_norm` or `group_norm`; in `Dropout`, none
# of its `dropout` functions (`dropout`, `alpha_dropout`, `dropout1d/2d/3d`, ...); in `DropBlock2d`, no
# `dropout` and no `torchvision.ops.drop_block2d`; whether called directly (`F.batch_norm`) or through
# a layer (`nn.BatchNorm1d`, `nn.Dropout`, `torchvision.ops.DropBlock2d`). Everything else in PyTorch is
# yours to use: tensor operations, `torch.mean` and `torch.var`, `torch.rand` and `torch.bernoulli`,
# pooling, padding, and also `torch.norm`, `torch.linalg.vector_norm` and `F.normalize`, which compute
# or divide by a vector's length, not a normalisation over the batch.
#
# **How you are graded.** Fill in every cell that says `YOUR CODE HERE` and every answer cell. The
# hidden tests grade the **solution cells** only, through the classes they define: `BatchNorm1d`,
# `Dropout` and `DropBlock2d`. They load those cells and the read-only given cells into a fresh module,
# outside this notebook, run on several random seeds, and compare your layers with PyTorch's to
# $10^{-5}$ (in double precision) or with statistical bounds; their verdict appears in your feedback.
# Cells you add yourself are **not loaded** by the hidden tests, except their top-level `import` statements:
# anything else a layer needs (a helper function, a constant) must be defined inside its solution
# cell. The *visible checks* under each exercise take seconds; passing them does not guarantee full
# marks. Written questions are marked by hand. Do not rename the classes or delete cells.
#
# **If a solution cell fails.** Each hidden test checks the names that one solution cell defines. A
# solution cell that fails, because it raises an error when it is run or when a test calls what it
# defines (an untouched `raise NotImplementedError()`, a `NameError`) or never finishes (an endless
# loop: the hidden tests stop loading it after a minute), costs only the points of the
# tests of the names it should define; the rest of your notebook is still graded.
#
# **Experiments.** The cells that begin with `# Experiment` (the sweeps, training runs and their plots)
# are not run again at grading: the hidden tests run shorter experiments of their own with your
# functions. Your feedback shows what those cells printed and drew when you handed the notebook in,
# and your TA reads it beside your written answers: run them, then save, before you hand in.

# %% nbgrader={"grade_id": "imports", "locked": true} tags=["module"]
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# %% [markdown]
# ## 1. Batch normalisation
#
# Batch normalisation (Ioffe & Szegedy, 2015) standardises every feature (channel) of a layer's
# input over the current mini-batch, then lets the network rescale and shift it with two learned
# vectors, $\gamma$ and $\beta$:
#
# $$\mu_B = \frac{1}{n}\sum_{i=1}^{n} x_i, \qquad \sigma_B^2 = \frac{1}{n}\sum_{i=1}^{n} (x_i - \mu_B)^2, \qquad
# \hat{x}_i = \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad y_i = \gamma\,\hat{x}_i + \beta .$$
#
# The last step matters: BatchNorm does not force the activations to have mean 0 and variance 1. With
# $\gamma = \sqrt{\sigma_B^2 + \epsilon}$ and $\beta = \mu_B$ it can undo itself, so the network *learns*
# the mean and scale that suit it.
#
# **Why.** The original paper motivated BatchNorm by "internal covariate shift": every update changes
# the distribution of the inputs of the layers above, which then have to chase a moving target. Later
# work (Santurkar et al., 2018) argues that the real benefit is a better-conditioned loss surface, on
# which larger steps are safe. Either way, the practical effect is faster and more forgiving
# training; you will measure it below. (The original tutorial also said that BatchNorm needs "no
# hyperparameter tuning". It has hyperparameters of its own, `momentum` and `eps`, and its behaviour
# depends on the batch size: the statistics of a batch of 4 are very noisy.)
#
# **Training and evaluation differ.** A prediction for one image must not depend on which other
# images happen to share its batch, and at test time the batch may hold a single image. So during
# training the layer keeps exponential running averages of the batch statistics, and in evaluation
# mode it normalises with those instead:
#
# $$\hat{\mu} \leftarrow (1 - m)\,\hat{\mu} + m\,\mu_B, \qquad
# \hat{\sigma}^2 \leftarrow (1 - m)\,\hat{\sigma}^2 + m\,\frac{n}{n-1}\,\sigma_B^2 ,$$
#
# with $m$ the `momentum` (PyTorch's convention: $m$ is the weight of the *new* batch). Note the two
# variances: the batch is normalised with the **biased** $\sigma_B^2$ (divide by $n$), but the running
# estimate is fed the **unbiased** one (divide by $n-1$), because it estimates the variance of the
# whole population. This is exactly what `torch.nn.BatchNorm1d` does.
#
# ### 1.1 `BatchNorm1d`
#
# Write `BatchNorm1d` to the specification in its docstring. Remember:
#
# * $\gamma$ (`weight`) and $\beta$ (`bias`) are learned, so they must be `nn.Parameter`s: a plain
#   tensor attribute is invisible to `model.parameters()`, and the optimiser would never update it;
# * `running_mean` and `running_var` are state, not parameters: create them with
#   `self.register_buffer(...)`, so that they move with `.to(device)` and are saved in the
#   `state_dict`, but are never touched by the optimiser;
# * update the running estimates outside autograd (`with torch.no_grad():` or `.detach()`), in place
#   or by reassigning the buffer;
# * for a 3-D input (N, C, L), as after a 1-D convolution, each channel's statistics are taken over
#   both N and L; reshape $\gamma$, $\beta$ and the statistics so they broadcast along dimension 1.

# %% nbgrader={"grade_id": "batchnorm", "solution": true} tags=["module"]
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
        momentum: the weight of the current batch in the running estimates, a number in [0, 1].
            (nn.BatchNorm1d also accepts momentum=None, a cumulative average over all batches;
            you need not support it, and the hidden tests never pass it.)

    Attributes:
        weight: gamma, an ``nn.Parameter`` of shape (C,), initialised to ones.
        bias: beta, an ``nn.Parameter`` of shape (C,), initialised to zeros.
        running_mean: a buffer (``register_buffer``) of shape (C,), initialised to zeros.
        running_var: a buffer of shape (C,), initialised to ones.

    Shape:
        Input (N, C) or (N, C, L); output of the same shape. Training mode needs n > 1: with
        n = 1 (a batch of one sample of (N, C) input) the unbiased variance divides by n - 1 = 0,
        and nn.BatchNorm1d raises a ValueError. What your layer does then is up to you: the hidden
        tests train only with n >= 3 (evaluation mode is tested with a batch of one as well).
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        ### BEGIN SOLUTION
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
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
        ### END SOLUTION


# %% nbgrader={"grade_id": "check_batchnorm", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
torch.manual_seed(0)
_mine, _torch = BatchNorm1d(5), nn.BatchNorm1d(5)
assert {name for name, _ in _mine.named_parameters()} == {"weight", "bias"}, \
    "weight and bias should be the only nn.Parameters"
assert {name for name, _ in _mine.named_buffers()} == {"running_mean", "running_var"}, \
    "running_mean and running_var should be buffers"
for _step in range(3):
    _x = torch.randn(16, 5) * 3 + 1
    _diff = (_mine(_x) - _torch(_x)).abs().max().item()
    assert _diff < 1e-4, f"training output differs from nn.BatchNorm1d by {_diff:.2e}"
assert torch.allclose(_mine.running_var, _torch.running_var, atol=1e-5), "running_var differs"
_mine.eval(); _torch.eval()
_x = torch.randn(1, 5)
assert torch.allclose(_mine(_x), _torch(_x), atol=1e-4), "eval output differs (one sample)"
print("BatchNorm1d: training output, running_var and eval output match nn.BatchNorm1d")

# %% nbgrader={"grade_id": "hidden_bn_params", "grade": true, "locked": true, "points": 1} tags=["hidden-grader"]
# Hidden tests (1 points): weight and bias are nn.Parameters (ones, zeros) and the only parameters; running_mean and running_var are buffers (zeros, ones)
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_bn_train", "grade": true, "locked": true, "points": 3} tags=["hidden-grader"]
# Hidden tests (3 points): training-mode output and gradients (input, weight, bias) equal nn.BatchNorm1d's to 1e-5 on random (N, C) batches, several seeds, eps and momentum values; your own maths, not torch's batch_norm
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_bn_running", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): running_mean and running_var equal nn.BatchNorm1d's after each of several training steps, for two momentum values, and are not tracked by autograd
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_bn_eval", "grade": true, "locked": true, "points": 1} tags=["hidden-grader"]
# Hidden tests (1 points): evaluation mode normalises with the running statistics (output and gradients equal nn.BatchNorm1d's, batch of one included) and updates nothing
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_bn_3d", "grade": true, "locked": true, "points": 1} tags=["hidden-grader"]
# Hidden tests (1 points): (N, C, L) input: training and evaluation outputs, gradients and running statistics equal nn.BatchNorm1d's
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown] nbgrader={"grade_id": "q_bn_modes", "task": true, "locked": true, "points": 2}
# **Question 1.** (a) Why does evaluation mode use the running statistics rather than the statistics
# of the batch it is given? Give a concrete failure of using batch statistics at test time.
# (b) The running variance is updated with the unbiased variance, but the batch is normalised with
# the biased one. Why is each the right choice for its job?
#
# *(2 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point (a): with batch statistics a prediction depends on the other samples in the batch
#   (non-deterministic, order/batch dependent); with a batch of one the variance is 0 and every
#   output collapses to beta (x - mean = 0); the running averages estimate the population statistics,
#   so test predictions are deterministic per sample.
# - 1 point (b): normalising with the biased variance makes the normalised batch have exactly unit
#   variance (it is the variance of the values actually being normalised, the gradient formula uses
#   it); the running estimate targets the population variance, of which the batch variance with
#   n - 1 is the unbiased estimator (the biased one underestimates by a factor (n-1)/n, badly for
#   small batches).
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ### 1.2 Experiment: BatchNorm and the speed of training
#
# The next cell defines the experiment helpers used in the rest of the notebook (read them, they are
# short). `bn_experiment` trains the original tutorial's MNIST network, 784 → 200 → 100 → 10 with
# ReLU, with plain SGD at the tutorial's learning rate of 0.01 for 300 mini-batches of 100 images,
# optionally with a `BatchNorm1d` after each hidden `Linear` (before the ReLU). Both versions start
# from the same `Linear` weights (BatchNorm's $\gamma = 1$, $\beta = 0$ draw no random numbers) and
# see the same mini-batches, so the comparison is paired.
#
# Where MNIST comes from: the helper `mnist_location` (the same as in problem set 2) reads it from the
# folder named by the environment variable `MNIST_ROOT`, if you set it, and downloads nothing then:
# the folder must hold the four MNIST files, gzipped or not. If `MNIST_ROOT` is not set, torchvision
# downloads MNIST (about 11 MB) into `data/` the first time. So on a laptop without internet, set
# `MNIST_ROOT` before you start Jupyter.

# %% nbgrader={"grade_id": "experiment_helpers", "locked": true}
import gzip
import os
import shutil

import matplotlib.pyplot as plt
import torchvision
from tqdm.auto import tqdm

# These networks are tiny: one CPU thread trains them fastest, and several threads fighting over a
# busy machine's cores can make them many times slower.
torch.set_num_threads(1)


# ---- MNIST on disk: this block is the same in problem sets 2 and 3 ----
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

try:  # the course's grading package, installed where your work is graded: the same rule, with checksums
    from nnkit.data import mnist_root as _graders_mnist_root
except ImportError:  # your laptop, Colab, ...
    _graders_mnist_root = None


def mnist_location(root=None):
    """Where torchvision should read MNIST from. Returns (torchvision_root, download).

    The MNIST folder is `root` if it is given, otherwise the folder named by the environment
    variable MNIST_ROOT if that is set.
    * With a folder, nothing is downloaded. It must hold the four MNIST_FILES, each as it is or
      gzipped (the name plus ".gz"); if one is missing, the error names it. They are copied,
      uncompressed, into data/MNIST/raw/ (the layout torchvision reads), and ("data", False) is
      returned.
    * With no folder, ("data", True) is returned: torchvision downloads MNIST (about 11 MB) into
      data/MNIST/raw/ the first time, and reads it from there afterwards.
    "data" is a folder in the notebook's working folder. Where your work is graded, the course's
    grading package applies the same rule, checks each file's checksum too, and copies into a
    cache folder of its own.
    """
    folder = root or os.environ.get("MNIST_ROOT")
    if _graders_mnist_root is not None:
        location, download = _graders_mnist_root(folder)
        return str(location), download
    if not folder:
        return "data", True
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"The MNIST folder {folder} does not exist. Pass a folder that holds the "
                                "four MNIST files, or unset MNIST_ROOT to download them.")
    sources = {}
    for name in MNIST_FILES:
        plain, packed = os.path.join(folder, name), os.path.join(folder, name + ".gz")
        if not (os.path.isfile(plain) or os.path.isfile(packed)):
            raise FileNotFoundError(f"The MNIST folder {folder} has no {name} (or {name}.gz). Pass a folder "
                                    "that holds the four MNIST files, or unset MNIST_ROOT to download them.")
        sources[name] = plain if os.path.isfile(plain) else packed
    raw = os.path.join("data", "MNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    for name, source in sources.items():
        target = os.path.join(raw, name)
        if os.path.isfile(target) and os.path.getmtime(target) >= os.path.getmtime(source):
            continue  # copied before, and the file has not changed since
        with (gzip.open(source) if source.endswith(".gz") else open(source, "rb")) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return "data", False
# ---- end of the MNIST block ----


def load_mnist_tensors():
    """MNIST as tensors: x_train (60000, 784), y_train, x_test (10000, 784), y_test; x standardised.
    The files are found by mnist_location (above): $MNIST_ROOT if it is set, else a download."""
    location, download = mnist_location()
    train_set, test_set = (torchvision.datasets.MNIST(location, train=train, download=download) for train in (True, False))

    def tensors(dataset):
        x = (dataset.data.float() / 255 - 0.1307) / 0.3081
        return x.reshape(len(x), -1), dataset.targets.clone()
    return (*tensors(train_set), *tensors(test_set))


def make_mlp(widths, norm_layer=None, drop_layer=None, input_drop_layer=None):
    """Linear layers of the given widths; after each hidden one: [norm_layer(width)], ReLU, [drop_layer()].
    input_drop_layer() (if given) is applied to the input."""
    layers = [input_drop_layer()] if input_drop_layer else []
    for fan_in, fan_out in zip(widths[:-2], widths[1:-1]):
        layers.append(nn.Linear(fan_in, fan_out))
        if norm_layer:
            layers.append(norm_layer(fan_out))
        layers.append(nn.ReLU())
        if drop_layer:
            layers.append(drop_layer())
    layers.append(nn.Linear(widths[-2], widths[-1]))
    return nn.Sequential(*layers)


def bn_experiment(data, seed, norm_layer=None, steps=300, batch_size=100, lr=0.01, n_test=2000):
    """SGD on random MNIST mini-batches with the 784-200-100-10 ReLU network.
    Returns (training loss of every step, test accuracy on the first n_test test images)."""
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    model = make_mlp((784, 200, 100, 10), norm_layer=norm_layer)
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        batch = torch.randint(0, len(x_train), (batch_size,), generator=generator)
        loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test[:n_test]).argmax(1) == y_test[:n_test]).float().mean().item()
    return losses, accuracy


def dropout_experiment(data, seed, drop_layer=None, input_drop_layer=None, n_train=500, epochs=100,
                       batch_size=50, lr=0.01, width=512, n_test=2000, every=5):
    """SGD with momentum 0.9 on a random subset of n_train MNIST training images, network
    784-width-width-10 with ReLU and optional dropout. Every `every` epochs, in eval mode, records
    (epoch, train loss, train accuracy, test loss, test accuracy) on the whole subset and on the
    first n_test test images. Returns the list of records."""
    x_train, y_train, x_test, y_test = data
    generator = torch.Generator().manual_seed(seed)
    subset = torch.randperm(len(x_train), generator=generator)[:n_train]
    x, y = x_train[subset], y_train[subset]
    x_test, y_test = x_test[:n_test], y_test[:n_test]
    torch.manual_seed(seed)
    model = make_mlp((784, width, width, 10), drop_layer=drop_layer, input_drop_layer=input_drop_layer)
    optimiser = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(n_train, generator=generator)
        for start in range(0, n_train, batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if epoch % every == 0:
            model.eval()
            with torch.no_grad():
                out, out_test = model(x), model(x_test)
                history.append((epoch, F.cross_entropy(out, y).item(), (out.argmax(1) == y).float().mean().item(),
                                F.cross_entropy(out_test, y_test).item(),
                                (out_test.argmax(1) == y_test).float().mean().item()))
    return history


# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
mnist = load_mnist_tensors()
BN_SEEDS = range(3)
bn_runs = {}
for seed in tqdm(BN_SEEDS, desc="BatchNorm experiment (seeds)"):
    bn_runs["plain", seed] = bn_experiment(mnist, seed)
    bn_runs["BatchNorm", seed] = bn_experiment(mnist, seed, norm_layer=BatchNorm1d)


def smooth(values, width=20):
    return [sum(values[max(0, i - width + 1):i + 1]) / len(values[max(0, i - width + 1):i + 1])
            for i in range(len(values))]


fig, ax = plt.subplots(figsize=(7, 3.5))
for name, colour in (("plain", "tab:red"), ("BatchNorm", "tab:blue")):
    for seed in BN_SEEDS:
        ax.plot(smooth(bn_runs[name, seed][0]), color=colour, alpha=0.8, label=name if seed == 0 else None)
ax.set(xlabel="SGD step (batch of 100)", ylabel="training loss (20-step average)",
       title="784-200-100-10 ReLU, SGD lr = 0.01")
ax.legend()
plt.tight_layout()
plt.show()
for seed in BN_SEEDS:
    (plain, plain_acc), (bn, bn_acc) = bn_runs["plain", seed], bn_runs["BatchNorm", seed]
    print(f"seed {seed}: mean loss of the last 50 steps {sum(plain[-50:]) / 50:.3f} (plain) vs "
          f"{sum(bn[-50:]) / 50:.3f} (BatchNorm); test accuracy {plain_acc:.3f} vs {bn_acc:.3f}")


# %% [markdown]
# Measured over 10 seeds with a correct `BatchNorm1d`, on a CPU:
#
# * **Faster from the start.** Over the first 50 steps the BatchNorm network's average training loss
#   is 0.72 to 0.74 times the plain network's; over the last 50 of the 300 steps it is 0.57 to 0.68
#   times (0.47 to 0.49, against 0.70 to 0.86 without BatchNorm).
# * **Better after 300 steps.** Test accuracy on 2,000 test images is 0.878 to 0.889 with BatchNorm
#   and 0.771 to 0.820 without: a gain of 6.9 to 11.4 points.
# * Both held on all 10 seeds. What varies from seed to seed is the size of the gap (and the plain
#   network's accuracy varies more than BatchNorm's), not its sign.

# %% [markdown] nbgrader={"grade_id": "q_bn_speed", "task": true, "locked": true, "points": 2}
# **Question 2.** Describe what your plot shows. The plain network is trained at the tutorial's
# learning rate of 0.01: would you expect the gap to shrink, grow or stay the same if both were
# trained at a larger learning rate, and why? How would you check?
#
# *(2 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: reads the plot correctly: BatchNorm lowers the training loss much faster (lower curve
#   from the first tens of steps on, on every seed) and ends with a clearly lower loss and a higher
#   test accuracy.
# - 1 point: a reasoned prediction plus a way to check it (rerun `bn_experiment(..., lr=0.1)` with and
#   without BatchNorm on several seeds). Expected reasoning: at lr = 0.01 the plain network is held
#   back by its small steps; a larger learning rate speeds it up too, so the accuracy gap should
#   shrink, while BatchNorm stays ahead because it keeps the layers well conditioned. The kit
#   measured (10 seeds): at lr = 0.1 BatchNorm is still ahead on every seed (loss over the last 50
#   steps 0.60-0.67 times the plain one, about the same ratio as at 0.01), but the test-accuracy gain
#   shrinks from 6.9-11.4 points to 2.4-5.3 points. "Shrinks in absolute terms, similar ratio" and
#   "shrinks" are both full-credit answers when argued.
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ## 2. Dropout
#
# During training, dropout zeroes every unit of a layer independently with probability $p$, the
# *dropout rate*, drawing a fresh mask for every mini-batch: $h_j \leftarrow h_j\, d_j$ with
# $d_j \sim \mathrm{Bernoulli}(1 - p)$. Each update trains a random sub-network, so no unit can rely
# on a particular other unit being present: co-adapted, redundant features are discouraged, and the
# trained network behaves like an average of exponentially many thinned networks that share their
# weights.
#
# **Scaling: the original tutorial got this wrong.** It said that at test time we must multiply the
# activations by $p$. That is wrong. During training a unit is *kept* with probability $1 - p$, so
# its expected value is $(1 - p)\,h_j$; to make the test-time activations match that expectation,
# *classic* dropout multiplies them by the **keep probability $1 - p$**, not by $p$ (with
# $p = 0.2$ the tutorial's rule would shrink every activation to a fifth instead of to 80%).
# Modern libraries use **inverted dropout** instead: during training the kept units are divided by
# $1 - p$,
#
# $$y = \frac{x \odot d}{1 - p}, \qquad d_j \sim \mathrm{Bernoulli}(1 - p), \qquad \mathbb{E}[y] = x,$$
#
# so that at test time **nothing is scaled at all**: in evaluation mode dropout is the identity. The
# network you train is the network you deploy, and changing $p$ needs no change at test time.
#
# ### 2.1 `Dropout`
#
# Write inverted dropout to the specification below. Draw the mask with PyTorch's global random
# generator (`torch.rand_like` or `torch.bernoulli`), so that `torch.manual_seed` makes it
# reproducible, and draw a new one on every call. Mind the edge cases: $p = 0$ must return the input,
# and $p = 1$ must return zeros, not `nan` ($0 \cdot \frac{1}{0}$ is `nan`).

# %% nbgrader={"grade_id": "dropout", "solution": true} tags=["module"]
class Dropout(nn.Module):
    r"""Inverted dropout (Srivastava et al., 2014).

    Training mode: each element is kept independently with probability 1 - p and zeroed
    otherwise, and kept elements are scaled by 1 / (1 - p), so that the expected output is the input:

    .. math::

        y = \frac{x \odot d}{1 - p}, \qquad d_i \sim \mathrm{Bernoulli}(1 - p)\ \text{i.i.d.},
        \qquad \mathrm{E}[y] = x

    A fresh mask is drawn on every call, with torch's global generator (``torch.rand_like`` or
    ``torch.bernoulli``). p = 0 returns x unchanged; p = 1 returns zeros (never nan).

    Evaluation mode: y = x (nothing is dropped and nothing is scaled).

    Args:
        p: the probability of dropping an element, 0 <= p <= 1.

    Shape:
        Input of any shape; output of the same shape.
    """

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        ### BEGIN SOLUTION
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0.0
        keep = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)
        ### END SOLUTION


# %% nbgrader={"grade_id": "check_dropout", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
torch.manual_seed(0)
_drop = Dropout(0.3)
_x = torch.ones(100_000)
_y = _drop(_x)
print(f"share of zeros {(_y == 0).float().mean():.4f} (p = 0.3); mean {_y.mean():.4f} (input mean 1)")
assert abs((_y == 0).float().mean().item() - 0.3) < 0.01, "the share of zeros should be close to p"
assert torch.allclose(_y[_y != 0], torch.full_like(_y[_y != 0], 1 / 0.7)), "kept units should be x / (1 - p)"
_drop.eval()
assert torch.equal(_drop(_x), _x), "eval mode should return the input unchanged"
assert torch.equal(Dropout(1.0)(_x), torch.zeros_like(_x)), "p = 1 should give zeros"
print("Dropout: share of zeros, scaling, eval mode and p = 1 OK")

# %% nbgrader={"grade_id": "hidden_dropout_mask", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): training mode: share of zeros within 6 binomial standard deviations of p and kept units exactly x / (1 - p) for p = 0.1, 0.25, 0.5, 0.8; mean preserved; a new mask on every call, reproducible with torch.manual_seed; your own code, not torch's dropout
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_dropout_grad", "grade": true, "locked": true, "points": 1} tags=["hidden-grader"]
# Hidden tests (1 points): the gradient is 1 / (1 - p) on kept units and 0 on dropped ones
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_dropout_eval", "grade": true, "locked": true, "points": 1} tags=["hidden-grader"]
# Hidden tests (1 points): evaluation mode and p = 0 return the input unchanged; p = 1 returns zeros without nan
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown] nbgrader={"grade_id": "q_dropout_scale", "task": true, "locked": true, "points": 2}
# **Question 3.** A colleague trains a network with *classic* (non-inverted) dropout at $p = 0.2$
# and, following the original tutorial, multiplies the activations by $p$ at test time. What happens
# to the activations reaching the next layer at test time, compared with training, and to the
# predictions? What should they have done, and why does inverted dropout avoid the question?
#
# *(2 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: during training a unit's expected activation is (1 - p) h = 0.8 h; multiplying by
#   p = 0.2 at test time gives 0.2 h, four times too small: the next layer sees inputs far smaller
#   than in training, so its pre-activations (and biases' relative weight) are off and predictions
#   degrade (the network is evaluated on a distribution it never saw).
# - 1 point: scale by the keep probability 1 - p = 0.8 at test time (classic dropout), or use
#   inverted dropout, which divides the kept units by 1 - p during training so that the expectation
#   already matches and the test-time network needs no scaling at all (eval = identity).
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ### 2.2 Experiment: dropout against overfitting
#
# With only 500 training images, a 784 → 512 → 512 → 10 network (about 670,000 weights) can
# memorise its training set. `dropout_experiment` trains it for 100 epochs of SGD (momentum 0.9, learning rate
# 0.01, batches of 50) twice from the same initial weights: without dropout, and with your `Dropout`
# — rate 0.2 on the input pixels and 0.5 after each hidden layer, the rates of Srivastava et al.
# Every 5 epochs it measures, in evaluation mode, the loss and accuracy on the 500 training images
# and on 2,000 test images.

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
DROP_SEEDS = range(2)
drop_runs = {}
for seed in tqdm(DROP_SEEDS, desc="dropout experiment (seeds)"):
    drop_runs["no dropout", seed] = dropout_experiment(mnist, seed)
    drop_runs["dropout", seed] = dropout_experiment(mnist, seed, drop_layer=lambda: Dropout(0.5),
                                                    input_drop_layer=lambda: Dropout(0.2))

fig, axes = plt.subplots(1, 3, figsize=(15, 3.5))
for name, colour in (("no dropout", "tab:red"), ("dropout", "tab:blue")):
    for seed in DROP_SEEDS:
        epoch, train_loss, train_acc, test_loss, test_acc = zip(*drop_runs[name, seed])
        label = name if seed == 0 else None
        axes[0].plot(epoch, train_loss, color=colour, alpha=0.8, label=label)
        axes[1].plot(epoch, test_loss, color=colour, alpha=0.8, label=label)
        axes[2].plot(epoch, test_acc, color=colour, alpha=0.8, label=label)
axes[0].set(xlabel="epoch", ylabel="cross-entropy (log scale)", yscale="log", title="training loss (500 images)")
axes[1].set(xlabel="epoch", ylabel="cross-entropy", title="test loss (2,000 images)")
axes[2].set(xlabel="epoch", ylabel="accuracy", title="test accuracy (2,000 images)")
for ax in axes:
    ax.legend()
plt.tight_layout()
plt.show()
for seed in DROP_SEEDS:
    (*_, a_loss, a_acc), (*_, b_loss, b_acc) = drop_runs["no dropout", seed][-1], drop_runs["dropout", seed][-1]
    best = min(record[3] for record in drop_runs["no dropout", seed])
    print(f"seed {seed}: final test loss {a_loss:.3f} (no dropout; its minimum was {best:.3f}) vs {b_loss:.3f} "
          f"(dropout); final test accuracy {a_acc:.3f} vs {b_acc:.3f}")


# %% [markdown]
# Measured over 10 seeds with a correct `Dropout`, on a CPU:
#
# * **Without dropout the network overfits.** It fits its 500 training images perfectly (training
#   accuracy 1.000 on every seed), and its test loss is lowest after 10 to 15 epochs and then rises
#   while the training loss keeps falling, ending 1.25 to 1.40 times its minimum.
# * **Dropout does not stop it fitting the training set** (training accuracy, measured in evaluation
#   mode, is still 1.000 on every seed), but it ends with a **lower test loss** (0.58 to 0.80, against
#   0.64 to 0.82 without; lower by 0.02 to 0.10) and a **higher test accuracy** (0.838 to 0.872,
#   against 0.824 to 0.854; higher by 0.9 to 2.3 points).
# * These held on all 10 seeds; the size of the gain varies a lot from seed to seed (which 500 images
#   are drawn matters), so do not expect your two seeds to show the same numbers.

# %% [markdown] nbgrader={"grade_id": "q_dropout_overfit", "task": true, "locked": true, "points": 2}
# **Question 4.** Using your plots, explain how you can tell that the network without dropout
# overfits, and what dropout changes. The training loss is tiny in *both* runs: does dropout stop the
# network from fitting its training set? What would you try next to improve the test accuracy
# further?
#
# *(2 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: overfitting shows as the test loss reaching its minimum early (after 10-15 epochs in
#   the kit's runs) and then rising while the training loss keeps falling towards 0 (a growing
#   train/test gap); with dropout the final test loss is lower and the test accuracy higher (by 0.9
#   to 2.3 points in the kit's 10 seeds), on every seed, though by varying amounts.
# - 1 point: no: with dropout the network still fits the training set (100% training accuracy, a
#   training loss near zero when measured in eval mode), so dropout here regularises without
#   underfitting; next steps: more data / data augmentation, early stopping on a validation set,
#   weight decay, tuning p, a convolutional network (with DropBlock).
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ## 3. DropBlock
#
# Dropout works poorly on convolutional feature maps. Neighbouring units of a map are strongly
# correlated, so when one unit is dropped its neighbours still carry almost the same information and
# the next layer barely notices. **DropBlock** (Ghiasi, Lin & Le, 2018, arXiv:1810.12890) drops
# *contiguous square blocks* of $k \times k$ units (`block_size` $= k$) instead, which removes whole
# regions, e.g. a wheel or an eye, and forces the network to use the rest of the picture.
#
# For every feature map (every sample and channel independently) of size $H \times W$:
#
# 1. **Seeds.** Sample the block centres from a Bernoulli($\gamma$) mask over the positions where a
#    whole block fits inside the map: there are $(H - k + 1) \times (W - k + 1)$ of them.
# 2. **Blocks.** Zero every unit within distance $\lfloor k/2 \rfloor$ of a seed (the $k \times k$
#    block around it). A max-pool does exactly that: pad the seed mask with $\lfloor k/2 \rfloor$ zeros on
#    each side, so that it has the size of the map and each seed sits at its block's centre, then
#    `F.max_pool2d(seeds, kernel_size=k, stride=1, padding=k // 2)` is 1 on every unit covered by a
#    block. The keep mask is one minus that.
# 3. **Rescale.** As with inverted dropout, scale the output so its mean is preserved:
#    $y = x \odot \text{mask} \cdot \frac{\text{mask.numel()}}{\text{mask.sum()}}$, with the sum over the
#    whole mask, i.e. divide by the fraction of units actually kept.
#
# **Choosing $\gamma$.** `drop_prob` is the fraction of units we want to drop. Each seed drops up to
# $k^2$ units, and there are fewer valid centres than units, so the paper sets, for a square map of
# side `feat_size`,
# $\gamma = \frac{\text{drop\_prob}}{k^2}\,\frac{\text{feat\_size}^2}{(\text{feat\_size} - k + 1)^2}$.
# For an $H \times W$ map (the version we use, as torchvision does):
#
# $$\gamma = \frac{\text{drop\_prob}}{k^2}\;\frac{H\,W}{(H - k + 1)(W - k + 1)} .$$
#
# Blocks may overlap, so the realised drop rate is a little *below* `drop_prob` for larger rates;
# you will measure it. Like dropout, DropBlock is the identity in evaluation mode (and when
# `drop_prob` is 0).
#
# ### 3.1 `DropBlock2d`

# %% nbgrader={"grade_id": "dropblock", "solution": true} tags=["module"]
class DropBlock2d(nn.Module):
    r"""DropBlock (Ghiasi, Lin & Le, 2018) for (N, C, H, W) feature maps.

    Training mode, with k = block_size (odd, k <= min(H, W)):

    1. gamma = drop_prob / k**2 * H * W / ((H - k + 1) * (W - k + 1))
    2. seeds ~ Bernoulli(gamma), i.i.d., of shape (N, C, H - k + 1, W - k + 1): one per position
       where a whole k x k block fits, for every sample and channel independently (torch's global
       generator);
    3. pad the seeds with k // 2 zeros on each side (to (N, C, H, W), each seed at the centre of its
       block) and zero every unit of the k x k block around each seed:
       blocks = max_pool2d(seeds, kernel_size=k, stride=1, padding=k // 2); mask = 1 - blocks;
    4. y = x * mask * mask.numel() / mask.sum(), the sum taken over the whole (N, C, H, W) mask.
       If every unit is dropped (mask.sum() == 0), y is all zeros.

    Evaluation mode, or drop_prob == 0: y = x.

    Args:
        drop_prob: the target fraction of units to drop, 0 <= drop_prob < 1.
        block_size: k, the (odd) side of the square blocks.

    Shape:
        Input (N, C, H, W); output of the same shape.
    """

    def __init__(self, drop_prob, block_size):
        super().__init__()
        self.drop_prob = drop_prob
        self.block_size = block_size

    def forward(self, x):
        ### BEGIN SOLUTION
        if not self.training or self.drop_prob == 0:
            return x
        n, c, h, w = x.shape
        k = self.block_size
        gamma = self.drop_prob / k ** 2 * h * w / ((h - k + 1) * (w - k + 1))
        seeds = torch.bernoulli(torch.full((n, c, h - k + 1, w - k + 1), gamma, dtype=x.dtype, device=x.device))
        seeds = F.pad(seeds, [k // 2] * 4)
        blocks = F.max_pool2d(seeds, kernel_size=k, stride=1, padding=k // 2)
        mask = 1 - blocks
        kept = mask.sum()
        if kept.item() == 0:
            return x * 0.0
        return x * mask * (mask.numel() / kept)
        ### END SOLUTION


# %% nbgrader={"grade_id": "check_dropblock", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
torch.manual_seed(0)
_x = torch.rand(64, 8, 16, 16) + 0.5
_y = DropBlock2d(0.2, 5)(_x)
assert _y.shape == _x.shape, f"shape changed: {tuple(_y.shape)}"
_kept = (_y != 0).float()
print(f"realised drop rate {1 - _kept.mean():.3f} (drop_prob 0.2, block 5 on 16 x 16 maps)")
_ratio = (_y / _x)[_y != 0]
assert torch.allclose(_ratio, torch.full_like(_ratio, _kept.numel() / _kept.sum().item()), rtol=1e-4), \
    "kept units should be scaled by numel / (number kept)"
_blocks = DropBlock2d(0.2, 5)
_blocks.eval()
assert torch.equal(_blocks(_x), _x), "eval mode should return the input unchanged"
print("DropBlock2d: shape, rescaling and eval mode OK")

# %% nbgrader={"grade_id": "hidden_dropblock_blocks", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): every dropped unit lies in a whole k x k square of dropped units inside the map (k = 1, 3, 5, 7, square and non-square maps); masks differ between channels and samples; your own code, not torchvision's
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_dropblock_rate", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): the realised drop rate matches the rate your gamma implies, within a bound of 6 standard deviations, for several drop_prob, block sizes and map sizes
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_dropblock_scale", "grade": true, "locked": true, "points": 1} tags=["hidden-grader"]
# Hidden tests (1 points): kept units are scaled by exactly mask.numel() / mask.sum(), and so is the gradient
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_dropblock_eval", "grade": true, "locked": true, "points": 1} tags=["hidden-grader"]
# Hidden tests (1 points): evaluation mode and drop_prob = 0 return the input unchanged; shapes are preserved
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ### 3.2 What DropBlock drops
#
# The cell below applies your `DropBlock2d` and your `Dropout` at the same rate to one MNIST digit
# (treated as a 1-channel 28 × 28 feature map), and then measures the realised drop rate of
# `DropBlock2d` on 16 × 16 maps for several `drop_prob` and block sizes.

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
torch.manual_seed(1)
digit = mnist[0][0].reshape(1, 1, 28, 28)
fig, axes = plt.subplots(1, 4, figsize=(11, 3))
panels = [("input", digit), ("Dropout(0.3)", Dropout(0.3)(digit)),
          ("DropBlock2d(0.3, 3)", DropBlock2d(0.3, 3)(digit)), ("DropBlock2d(0.3, 7)", DropBlock2d(0.3, 7)(digit))]
for ax, (title, image) in zip(axes, panels):
    ax.imshow((image != 0).float()[0, 0] if title != "input" else image[0, 0], cmap="gray")
    ax.set(title=title if title == "input" else title + "\nkept units (white)", xticks=[], yticks=[])
plt.tight_layout()
plt.show()

rates = [0.05, 0.1, 0.2, 0.3, 0.4]
for k in (3, 5, 7):
    realised = []
    for rate in rates:
        torch.manual_seed(0)
        out = DropBlock2d(rate, k)(torch.ones(256, 4, 16, 16))
        realised.append((out == 0).float().mean().item())
    print(f"block {k}: drop_prob " + ", ".join(f"{r:.2f} -> {v:.3f}" for r, v in zip(rates, realised)))

# %% [markdown]
# Measured with a correct `DropBlock2d` (10 seeds of 256 × 4 maps of 16 × 16, on a CPU):
#
# * At `drop_prob` = 0.1 the realised rate is close to `drop_prob`: 0.094 to 0.098 with blocks of 3
#   and 0.091 to 0.101 with blocks of 7 (the exact expectations are 0.095 and 0.093).
# * At `drop_prob` = 0.4 it falls clearly short: 0.324 to 0.336 with blocks of 3 and 0.300 to 0.321
#   with blocks of 7 (always lower for the larger blocks), because overlapping blocks drop some units
#   twice. The hidden tests compare your rates with the exact expectation implied by $\gamma$, not
#   with `drop_prob`.

# %% [markdown] nbgrader={"grade_id": "q_dropblock", "task": true, "locked": true, "points": 2}
# **Question 5.** (a) Why do contiguous blocks regularise a convolutional feature map better than
# independently dropped units? (b) Why does $\gamma$ need the factor $1/k^2$ and the factor
# $\frac{HW}{(H-k+1)(W-k+1)}$, and why is the realised drop rate still below `drop_prob` when
# `drop_prob` is large?
#
# *(2 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point (a): neighbouring activations are spatially correlated; a single dropped unit is
#   reconstructed from its neighbours (its information still flows through the receptive fields of
#   the next layer), so unit-wise dropout barely perturbs a conv net; dropping a whole region removes
#   the information there and forces the network to use other regions/features.
# - 1 point (b): each seed drops k*k units, so the seed rate must be about drop_prob / k^2; seeds can
#   only be placed at the (H-k+1)(W-k+1) valid centres, fewer than the H*W units, so the rate per
#   valid centre is raised by HW / ((H-k+1)(W-k+1)) to keep the expected number of dropped units at
#   drop_prob * H * W; blocks overlap (a unit covered by two blocks is dropped once), so at large
#   rates fewer distinct units are dropped than the count assumes.
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ## References
#
# 1. Ioffe, S. and Szegedy, C. "Batch normalization: accelerating deep network training by reducing
#    internal covariate shift." ICML 2015.
# 2. Santurkar, S., Tsipras, D., Ilyas, A. and Madry, A. "How does batch normalization help
#    optimization?" NeurIPS 2018.
# 3. Srivastava, N., Hinton, G., Krizhevsky, A., Sutskever, I. and Salakhutdinov, R. "Dropout: a simple
#    way to prevent neural networks from overfitting." JMLR 15, 2014.
# 4. Ghiasi, G., Lin, T.-Y. and Le, Q. V. "DropBlock: a regularization method for convolutional
#    networks." NeurIPS 2018, arXiv:1810.12890.
