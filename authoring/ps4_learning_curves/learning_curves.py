# %% [markdown]
# # Problem set 4: learning curves
#
# **Before you start.** You need Python 3 with `torch`, `matplotlib` and `tqdm`
# (`pip install torch matplotlib tqdm`; this notebook was tested with torch 2.14.1, matplotlib 3.11
# and tqdm 4.70). On Google Colab all of them are already installed: open the notebook there and run
# it. No GPU and no internet connection are needed.
#
# **Run time.** Run the cells from top to bottom. With correct solutions, all the code cells of this
# notebook together took about 42 seconds in one measured run on a 2-core server, not counting the
# start of Python and the import of torch. Your laptop may be faster or a few times slower.

# %% [markdown]
# *Neural-network best practices.* The original tutorial sent you to the
# [TensorFlow Playground](https://playground.tensorflow.org/) and asked you to *look* at training curves.
# Here you rebuild the Playground in PyTorch, so that every claim about a curve can be measured, on
# several random seeds, instead of eyeballed once. You will
#
# 1. write the Playground's four classification data sets (`circle`, `xor`, `gauss`, `spiral`) and its
#    train/test split,
# 2. write a small MLP builder and a trainer that records the training *and* test loss after every update,
# 3. use them to study plateaus, activation functions, depth and overfitting,
# 4. write the two tools behind the training curves of two famous papers: ResNet's step decay of the
#    learning rate and GNMT's switch from Adam to SGD, and a precise test for overfitting.
#
# **How you are graded.** Fill in every cell that says `YOUR CODE HERE` and every answer cell. The
# hidden tests grade the **solution cells** only, through the functions they define: `circle_data`,
# `xor_data`, `gauss_data`, `spiral_data`, `train_test_split`, `make_mlp`, `fit`, `is_overfitting` and
# `step_decay_lr`. They load those cells and the read-only given cells into a fresh module, outside this
# notebook, and run on several random seeds. Cells you add yourself are **not loaded** by the hidden tests, except
# their top-level `import` statements: anything else a solution needs (a helper function, a constant)
# must be defined inside a solution cell. The *visible checks* are quick sanity checks; passing them
# does not guarantee full marks. Written questions are marked by hand.
#
# **If a solution cell fails.** Each hidden test checks the names that one solution cell defines,
# except the tests of Sections 3.1 and 3.5, which train networks with your `make_mlp` and your `fit`
# together and so need both. A solution cell that fails, because it raises an error when it is run or
# when a test calls what it defines (an untouched `raise NotImplementedError()`, a `NameError`) or never finishes (an endless
# loop: the hidden tests stop loading it after a minute), costs
# only the points of the tests that use the names it should define; the rest of your notebook is
# still graded.
#
# **Experiments.** The cells that begin with `# Experiment` (the sweeps, training runs and their plots)
# are not run again at grading: the hidden tests run shorter experiments of their own with your
# functions. Your feedback shows what those cells printed and drew when you handed the notebook in,
# and your TA reads it beside your written answers: run them, then save, before you hand in.
#
# **Implement it yourself.** Where an exercise asks you to write something PyTorch already has, write
# it yourself: a part that calls PyTorch's own version of what it implements scores 0, with a message
# that names the call. In this notebook that is `step_decay_lr`, which must compute the rate from its
# formula, not by stepping a `torch.optim.lr_scheduler` scheduler. Everything else in PyTorch (layers,
# losses, optimisers, `torch.randperm`) is yours to use.
#
# **About the numbers in this notebook.** The statements about how training behaves were measured
# over 10 seeds (0 to 9) with a correct implementation of this notebook's functions, on a CPU; the
# numbers are given where they are used. Where a behaviour changes from seed to seed we say so, and
# give the range. Your plots use 3 seeds, so they may show only part of that range.

# %% nbgrader={"grade_id": "imports", "locked": true} tags=["module"]
import math

import torch
import torch.nn.functional as F

# The networks here have at most a few hundred weights. For nets this small, PyTorch's thread pool
# costs more than it saves: one CPU thread is several times faster than two.
torch.set_num_threads(1)

RADIUS = 5.0  # the Playground's data live in roughly [-6, 6] x [-6, 6]


# %% [markdown]
# ## 1. The Playground's data sets
#
# Each data set is a set of points $x = (x_1, x_2)$ with a label. The Playground labels points $+1$
# (blue) or $-1$ (orange). We train with the binary cross-entropy, so **our labels are 0.0 and 1.0:
# label 1 is the Playground's $+1$, label 0 its $-1$.** Every generator below returns
#
# * `x`: a float32 tensor of shape `(n_samples, 2)`,
# * `y`: a float32 tensor of shape `(n_samples,)` holding 0.0 or 1.0,
#
# and draws **every** random number from `generator` (a `torch.Generator`, or `None` for PyTorch's
# global generator), with `torch.rand` / `torch.randn`, so that a seeded generator gives the same data
# every time. `noise` is the Playground's noise slider divided by 100: it goes from 0 to 0.5.
#
# Below, $U(a, b)$ means a uniform draw on $[a, b)$: `torch.rand(..., generator=generator) * (b - a) + a`.
# The order in which you draw the numbers is up to you (the tests check the distributions, not
# the exact values), except where a docstring says otherwise.
#
# A quirk worth knowing: in the Playground, for `circle` and `xor` **the noise does not move the
# points; it changes their labels**. The label is computed from a noisy *copy* of the point, and the
# point itself is stored without noise. So noisy circle data still has an empty ring between the two
# classes, but some points on either side carry the wrong label.
#
# ### 1.1 Circle

# %% nbgrader={"grade_id": "circle", "solution": true} tags=["module"]
def circle_data(n_samples, noise=0.0, generator=None):
    """Two concentric classes, like the Playground's classifyCircleData (radius R = 5).

    The first n_samples // 2 points are drawn inside the disc and the remaining ones in the ring:
      inner point:  r ~ U(0, 0.5 R),    angle ~ U(0, 2π)
      outer point:  r ~ U(0.7 R, R),    angle ~ U(0, 2π)
      the point is  p = (r sin(angle), r cos(angle))

    (r itself is uniform, as in the Playground; the points are therefore denser near the centre.)
    Each point's label comes from a noisy copy of it:
      q = p + noise * (U(-R, R), U(-R, R))     (two independent draws)
      label = 1.0 if ||q|| < 0.5 R else 0.0
    and the point stored in x is p, not q.

    Inputs:
    - n_samples: number of points N.
    - noise: a float in [0, 0.5].
    - generator: a torch.Generator or None.

    Returns a tuple (x, y):
    - x: float32 tensor of shape (N, 2)
    - y: float32 tensor of shape (N,), values 0.0 or 1.0
    """
    ### BEGIN SOLUTION
    def uniform(n, low, high):
        return torch.rand(n, generator=generator) * (high - low) + low

    n_inner = n_samples // 2
    xs, ys = [], []
    for n, (low, high) in ((n_inner, (0.0, 0.5 * RADIUS)), (n_samples - n_inner, (0.7 * RADIUS, RADIUS))):
        r = uniform(n, low, high)
        angle = uniform(n, 0.0, 2 * math.pi)
        p = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)
        q = p + uniform(2 * n, -RADIUS, RADIUS).view(n, 2) * noise
        xs.append(p)
        ys.append((q.norm(dim=1) < 0.5 * RADIUS).float())
    return torch.cat(xs), torch.cat(ys)
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_circle", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_x, _y = circle_data(200, 0.0, generator=torch.Generator().manual_seed(0))
assert _x.shape == (200, 2) and _y.shape == (200,), f"shapes: x {tuple(_x.shape)}, y {tuple(_y.shape)}"
_r = _x.norm(dim=1)
assert ((_r < 2.5) == (_y == 1)).all(), "with noise 0, label 1 should be exactly the points of the inner disc"
assert not ((_r > 2.5) & (_r < 3.5)).any(), "no point should fall in the empty ring 2.5 < r < 3.5"
print("circle_data: OK")


# %% nbgrader={"grade_id": "hidden_circle", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): shapes, labels at noise 0, the radius bands and their distributions, label noise, the generator
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ### 1.2 XOR

# %% nbgrader={"grade_id": "xor", "solution": true} tags=["module"]
def xor_data(n_samples, noise=0.0, generator=None):
    """The Playground's classifyXORData: label 1 in the quadrants where x1 and x2 have the same sign.

    For each of the N points, each coordinate is drawn as
      c ~ U(-5, 5), then pushed away from 0 by a padding of 0.3:  c + 0.3 if c > 0 else c - 0.3
    so every coordinate satisfies 0.3 <= |c| <= 5.3. The label comes from a noisy copy:
      q = p + noise * (U(-5, 5), U(-5, 5))
      label = 1.0 if q1 * q2 >= 0 else 0.0
    and the point stored in x is p, not q.

    Inputs / returns: as circle_data.
    """
    ### BEGIN SOLUTION
    p = torch.rand(n_samples, 2, generator=generator) * 10 - 5
    p = torch.where(p > 0, p + 0.3, p - 0.3)
    q = p + (torch.rand(n_samples, 2, generator=generator) * 10 - 5) * noise
    return p, (q[:, 0] * q[:, 1] >= 0).float()
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_xor", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_x, _y = xor_data(200, 0.0, generator=torch.Generator().manual_seed(0))
assert _x.shape == (200, 2) and _y.shape == (200,)
assert (_x.abs() >= 0.3).all(), "every coordinate should be at least 0.3 away from 0 (the padding)"
assert ((_x[:, 0] * _x[:, 1] >= 0).float() == _y).all(), "with noise 0 the label is 1 exactly where x1 * x2 >= 0"
print("xor_data: OK")


# %% nbgrader={"grade_id": "hidden_xor", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): shapes, the sign rule at noise 0, the padding and the spread, label noise, the generator
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ### 1.3 Two Gaussians
#
# The Playground's noise slider changes the **variance** of the two Gaussians linearly, from 0.5 at
# noise 0 to 4 at noise 0.5: $\sigma^2 = 0.5 + 7 \cdot \text{noise}$. The standard deviation is its square root.

# %% nbgrader={"grade_id": "gauss", "solution": true} tags=["module"]
def gauss_data(n_samples, noise=0.0, generator=None):
    """The Playground's classifyTwoGaussData: two round Gaussian clouds.

    The first n_samples // 2 points have label 1.0 and are drawn from N((2, 2), σ² I); the rest
    have label 0.0 and are drawn from N((-2, -2), σ² I), with the variance
      σ² = 0.5 + 7 * noise        (0.5 at noise 0, 4 at noise 0.5).

    Inputs / returns: as circle_data.
    """
    ### BEGIN SOLUTION
    std = math.sqrt(0.5 + 7.0 * noise)
    n_pos = n_samples // 2
    pos = torch.randn(n_pos, 2, generator=generator) * std + 2.0
    neg = torch.randn(n_samples - n_pos, 2, generator=generator) * std - 2.0
    y = torch.cat([torch.ones(n_pos), torch.zeros(n_samples - n_pos)])
    return torch.cat([pos, neg]), y
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_gauss", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_x, _y = gauss_data(2000, 0.0, generator=torch.Generator().manual_seed(0))
assert _x.shape == (2000, 2) and _y.shape == (2000,) and _y.sum() == 1000
print("label-1 mean", _x[_y == 1].mean(0).tolist(), " std", _x[_y == 1].std(0).tolist())


# %% nbgrader={"grade_id": "hidden_gauss", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): label balance, the two means and the spread at noise 0, 0.2 and 0.5, normality, the generator
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ### 1.4 Spiral
#
# Two interleaved spirals. For the spiral the noise *does* move the points, and the points come in a
# fixed order, so this one is checked point by point.

# %% nbgrader={"grade_id": "spiral", "solution": true} tags=["module"]
def spiral_data(n_samples, noise=0.0, generator=None):
    """The Playground's classifySpiralData: two interleaved spiral arms.

    Arm 1 (label 1.0) has n = n_samples // 2 points, arm 0 (label 0.0) the remaining
    n' = n_samples - n points; arm 1 comes first in x. Point i = 0, 1, ..., n - 1 of an arm is
      r = 5 i / n,      t = 1.75 * 2π i / n + δ,
      p = (r sin t + noise * U(-1, 1),  r cos t + noise * U(-1, 1))
    with δ = 0 for arm 1 and δ = π for arm 0 (whose n, in both formulas, is n').

    Inputs / returns: as circle_data.
    """
    ### BEGIN SOLUTION
    n_pos = n_samples // 2
    xs, ys = [], []
    for n, delta, label in ((n_pos, 0.0, 1.0), (n_samples - n_pos, math.pi, 0.0)):
        i = torch.arange(n, dtype=torch.float64)
        r = i / n * 5
        t = 1.75 * i / n * 2 * math.pi + delta
        p = torch.stack([r * torch.sin(t), r * torch.cos(t)], dim=1).float()
        p = p + (torch.rand(n, 2, generator=generator) * 2 - 1) * noise
        xs.append(p)
        ys.append(torch.full((n,), label))
    return torch.cat(xs), torch.cat(ys)
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_spiral", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_x, _y = spiral_data(100, 0.0)
assert _x.shape == (100, 2) and (_y[:50] == 1).all() and (_y[50:] == 0).all()
assert torch.allclose(_x[50:], -_x[:50], atol=1e-5), "arm 0 is arm 1 turned by π, i.e. its mirror through 0"
print("spiral_data: OK")

# %% nbgrader={"grade_id": "hidden_spiral", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): every point at noise 0 (even and odd sizes), the noise's range and spread, the generator
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "helpers", "locked": true} tags=["module"]
DATASETS = {"circle": circle_data, "xor": xor_data, "gauss": gauss_data, "spiral": spiral_data}


def make_dataset(name, n_samples, noise=0.0, generator=None):
    # One entry point for the four generators above.
    return DATASETS[name](n_samples, noise, generator=generator)


def accuracy(model, x, y):
    # Fraction of points whose predicted class (logit > 0 means label 1) equals y.
    with torch.no_grad():
        return ((model(x).squeeze(1) > 0).float() == y).float().mean().item()


# %% nbgrader={"grade_id": "plotting", "locked": true}
import matplotlib.pyplot as plt
from tqdm.auto import tqdm

COLOURS = {0: "tab:orange", 1: "tab:blue"}  # the Playground's colours


def scatter(ax, x, y, title=""):
    for label, colour in COLOURS.items():
        pts = x[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=6, c=colour)
    ax.set(title=title, xlim=(-6.5, 6.5), ylim=(-6.5, 6.5), aspect="equal", xticks=[], yticks=[])


def boundary(ax, model, x, y, title=""):
    # The model's predicted probability of label 1 on a grid, with the data on top.
    grid = torch.linspace(-6.5, 6.5, 101)
    gx, gy = torch.meshgrid(grid, grid, indexing="xy")
    with torch.no_grad():
        p = torch.sigmoid(model(torch.stack([gx.flatten(), gy.flatten()], 1))).view(101, 101)
    ax.contourf(gx, gy, p, levels=20, cmap="RdBu", vmin=0, vmax=1, alpha=0.6)
    scatter(ax, x, y, title)


# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
fig, axes = plt.subplots(2, 4, figsize=(14, 7))
for col, name in enumerate(DATASETS):
    for row, noise in enumerate([0.0, 0.25]):
        x, y = make_dataset(name, 500, noise, generator=torch.Generator().manual_seed(0))
        scatter(axes[row, col], x, y, f"{name}, noise {noise}")
plt.tight_layout()
plt.show()


# %% [markdown]
# ### 1.5 Train/test split
#
# The Playground shuffles the data and keeps a fraction of it (50% by default) for training; the rest
# is the test set.

# %% nbgrader={"grade_id": "split", "solution": true} tags=["module"]
def train_test_split(x, y, train_fraction=0.5, generator=None):
    """Shuffle the N points and split them into a training and a test set.

    Draw perm = torch.randperm(N, generator=generator); the first n_train = floor(train_fraction * N)
    indices of perm form the training set and the rest the test set. Each label stays with its point.

    Inputs:
    - x: tensor of shape (N, 2); y: tensor of shape (N,).
    - train_fraction: a float in (0, 1).
    - generator: a torch.Generator or None.

    Returns (x_train, y_train, x_test, y_test), of shapes (n_train, 2), (n_train,),
    (N - n_train, 2), (N - n_train,).
    """
    ### BEGIN SOLUTION
    n = x.shape[0]
    n_train = int(math.floor(train_fraction * n))
    perm = torch.randperm(n, generator=generator)
    train, test = perm[:n_train], perm[n_train:]
    return x[train], y[train], x[test], y[test]
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_split", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_x, _y = circle_data(100, generator=torch.Generator().manual_seed(0))
_xtr, _ytr, _xte, _yte = train_test_split(_x, _y, 0.3, generator=torch.Generator().manual_seed(0))
assert _xtr.shape == (30, 2) and _xte.shape == (70, 2), (_xtr.shape, _xte.shape)
print(f"train_test_split: 30 / 70 points; {_ytr.mean():.0%} of the training points have label 1")


# %% nbgrader={"grade_id": "hidden_split", "grade": true, "locked": true, "points": 1} tags=["hidden-grader"]
# Hidden tests (1 points): sizes, a true partition that keeps labels with their points, randomness, the generator
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ## 2. A small Playground network and its trainer
#
# The Playground feeds the two coordinates $x_1, x_2$ into a few small hidden layers. Write
# `make_mlp(hidden=(4, 2), activation="tanh")`: a `torch.nn.Module` (a `torch.nn.Sequential` is fine)
# that maps `x` of shape `(N, 2)` to **one logit per point**, of shape `(N, 1)`:
#
# $$\text{Linear}(2, h_1) \to \text{act} \to \text{Linear}(h_1, h_2) \to \text{act} \to \cdots \to \text{Linear}(h_L, 1)$$
#
# with `act` one of `"tanh"`, `"relu"`, `"sigmoid"` after every hidden layer and **nothing after the
# output layer**. `hidden=()` gives a single `Linear(2, 1)`: a linear model (logistic regression).
# Create the `torch.nn.Linear` layers from the input to the output and keep PyTorch's default
# initialisation, so that a seeded run is reproducible. (The Playground uses its own initialisation;
# PyTorch's default is close to it in scale.)

# %% nbgrader={"grade_id": "mlp", "solution": true} tags=["module"]
def make_mlp(hidden=(4, 2), activation="tanh"):
    """Linear(2, h1), act, Linear(h1, h2), act, ..., Linear(hL, 1): logits of shape (N, 1).

    Inputs:
    - hidden: a tuple of hidden-layer widths (h1, ..., hL); () gives a linear model.
    - activation: "tanh", "relu" or "sigmoid", applied after every hidden layer.
    """
    ### BEGIN SOLUTION
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}[activation]
    layers, width = [], 2
    for h in hidden:
        layers += [torch.nn.Linear(width, h), act()]
        width = h
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers)
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_mlp", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
print(make_mlp((4, 2), "tanh"))
assert make_mlp((4, 2))(torch.zeros(5, 2)).shape == (5, 1)
print("parameters:", sum(p.numel() for p in make_mlp((4, 2)).parameters()))


# %% nbgrader={"grade_id": "hidden_mlp", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): layer shapes, activations and the absence of an output activation for several shapes; default initialisation in order
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ### 2.1 The trainer
#
# Write `fit`, which trains the model with minibatches of 10 points (the Playground's default) and
# records the loss of the **whole** training set and of the **whole** test set after every update:
# these are the two curves the Playground draws. Read the docstring closely: the hidden tests replay
# your trainer step by step against a reference, so the minibatch draw must be exactly the one
# specified.
#
# We use the mean binary cross-entropy on the logits $z_i$ (`F.binary_cross_entropy_with_logits`),
#
# $$\mathcal{L} = -\frac{1}{N}\sum_{i=1}^{N} \Big[y_i \log \sigma(z_i) + (1 - y_i)\log\big(1 - \sigma(z_i)\big)\Big],$$
#
# where the Playground uses the squared error of a tanh output against $\pm 1$ labels. A loss of
# $\log 2 \approx 0.693$ is what a model that always answers "50/50" gets.
#
# `fit` has two options used in Section 4 (you can come back to them then): `lr` may be a *function*
# of the update index (a learning-rate schedule), and `switch_at` switches from Adam to SGD part-way,
# as GNMT did.
#
# When you record the losses, put the model in **eval mode** and use `torch.no_grad()`; put it back in
# train mode before the next update. It makes no difference for these MLPs, but it does for a model
# with dropout or batch norm, and the hidden tests use one.

# %% nbgrader={"grade_id": "fit", "solution": true} tags=["module"]
def fit(model, data, lr, steps, batch_size=10, optimizer="sgd", switch_at=None, switch_lr=None,
        generator=None):
    """Train `model` in place on minibatches and record the training and test loss after every update.

    Inputs:
    - model: a torch.nn.Module mapping x of shape (N, 2) to logits z of shape (N, 1).
    - data: (x_train, y_train, x_test, y_test), as returned by train_test_split.
    - lr: the learning rate: a float, or a function lr(k) giving the rate of update k (k = 0, 1, ...).
    - steps: the number of updates.
    - batch_size: the number of training points in each minibatch.
    - optimizer: "sgd" (torch.optim.SGD, no momentum) or "adam" (torch.optim.Adam, default betas),
      created once, on model.parameters(), before the first update.
    - switch_at, switch_lr: if switch_at is an int k, updates 0, ..., k - 1 use `optimizer` and
      updates k, k + 1, ... use a new torch.optim.SGD on model.parameters() with the constant
      learning rate switch_lr (lr is then no longer used).
    - generator: a torch.Generator for the minibatch draws.

    Update k (k = 0, ..., steps - 1):
      1. unless the switch has happened, set the current optimizer's learning rate
         (every entry of optimizer.param_groups) to lr(k), or to lr if lr is a float;
      2. idx = torch.randint(n_train, (batch_size,), generator=generator)   (drawn on the CPU;
         points are drawn with replacement);
      3. loss = F.binary_cross_entropy_with_logits(model(x_train[idx]).squeeze(1), y_train[idx]);
         zero the gradients, backpropagate, take one optimizer step.

    Returns history, a dict with two lists of steps + 1 Python floats:
    - history["train_loss"][k]: the mean BCE-with-logits loss over the whole training set after k
      updates (k = 0: the untrained model);
    - history["test_loss"][k]: the same over the whole test set.
    Both are computed under torch.no_grad() with the model in eval mode; the model is in train
    mode for every update.
    """
    ### BEGIN SOLUTION
    x_train, y_train, x_test, y_test = data

    def new_optimizer(name, rate):
        kind = torch.optim.Adam if name == "adam" else torch.optim.SGD
        return kind(model.parameters(), lr=rate)

    def rate_at(k):
        return lr(k) if callable(lr) else lr

    history = {"train_loss": [], "test_loss": []}

    def record():
        model.eval()
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
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_fit", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_g = torch.Generator().manual_seed(0)
_data = train_test_split(*circle_data(200, generator=_g), generator=_g)
torch.manual_seed(0)
_h = fit(make_mlp((4, 2)), _data, lr=0.03, steps=50, generator=_g)
assert len(_h["train_loss"]) == 51 and len(_h["test_loss"]) == 51
print(f"fit: train loss {_h['train_loss'][0]:.3f} -> {_h['train_loss'][-1]:.3f}, "
      f"test loss {_h['test_loss'][0]:.3f} -> {_h['test_loss'][-1]:.3f}")


# %% nbgrader={"grade_id": "hidden_fit", "grade": true, "locked": true, "points": 3} tags=["hidden-grader"]
# Hidden tests (3 points): your losses match the specified trainer update by update with SGD and Adam; eval mode for the records, train mode for the updates
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_fit_schedules", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): learning rates given as a function of the step, and the Adam → SGD switch at step k
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# The next helper runs one Playground experiment from a single seed: data, split, network and
# training. Everything in Sections 2 and 3 goes through it.

# %% nbgrader={"grade_id": "playground", "locked": true}
def playground(dataset, seed, hidden=(4, 2), activation="tanh", lr=0.03, steps=1000, noise=0.0,
               n_samples=500, train_fraction=0.5, batch_size=10, optimizer="sgd", **fit_options):
    # One seeded run; returns (model, data, history). The same seed gives the same data and weights.
    g = torch.Generator().manual_seed(seed)
    x, y = make_dataset(dataset, n_samples, noise, generator=g)
    data = train_test_split(x, y, train_fraction, generator=g)
    torch.manual_seed(seed)
    model = make_mlp(hidden, activation)
    history = fit(model, data, lr, steps, batch_size=batch_size, optimizer=optimizer, generator=g, **fit_options)
    return model, data, history


# %% [markdown]
# ## 3. Examples of learning curves
#
# ### 3.1 Circle: linear model versus the Playground's default network
#
# The Playground's default is a 4–2 tanh network trained with SGD at a learning rate of 0.03, on
# the circle data without noise, with half of the 500 points for training. First, compare it with a
# model with **no hidden layer**. (We use ReLU for the hidden-layer model in this first plot; tanh comes
# next.)

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
runs = {}
for label, kw in tqdm({"linear": dict(hidden=(), steps=1000),
                       "4-2 ReLU": dict(activation="relu", steps=2000)}.items(), desc="circle"):
    model, data, history = playground("circle", 0, lr=0.03, **kw)
    runs[label] = model, data
    axes[0].plot(history["train_loss"], label=f"{label}: train")
    axes[0].plot(history["test_loss"], "--", label=f"{label}: test")
    print(f"{label}: test accuracy {accuracy(model, data[2], data[3]):.1%}")
axes[0].set(xlabel="update", ylabel="BCE loss", title="circle, lr 0.03, seed 0")
axes[0].legend()
for ax, (label, (model, data)) in zip(axes[1:], runs.items()):
    boundary(ax, model, data[0], data[1], f"{label} (training points)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Measured on 10 seeds: the linear model ends with **34% to 65%** test accuracy (median 57%), at best
# a little better than the 50% of a constant guess; the 4–2 ReLU network reaches **99.2% to 100%** test
# accuracy within 2000 updates on every seed. Its train and test curves lie on top of each other:
# the data has no noise and both sets come from the same distribution, so there is no gap to see.

# %% nbgrader={"grade_id": "hidden_circle_runs", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): with your make_mlp and fit on seeds 0-2: a linear model stays at or below 75% test accuracy on the circle; the 4-2 ReLU net (lr 0.03, 2000 updates) reaches at least 90%
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown] nbgrader={"grade_id": "q_separable", "task": true, "locked": true, "points": 3}
# **Question 1.** Prove that the noise-free circle data set is **not linearly separable**: no half-plane
# $\{x : w^\top x + b > 0\}$ contains all the points of one class and none of the other. Use convexity.
# Then say why a network with a hidden layer can separate it.
#
# *(3 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: a half-plane (and its complement) is **convex**, so if it contains a set of points it
#   contains their convex hull.
# - 1 point: the outer points surround the inner disc: the convex hull of the outer ring (with enough
#   points on the ring, or of the ring itself) contains the whole inner disc, so any half-plane that
#   contains every outer point also contains the inner points (and symmetrically, the complement of a
#   half-plane containing all inner points, being convex, cannot hold all the outer points since their
#   hull contains inner points). Hence no line separates the classes. (Any equivalent argument, e.g. the
#   midpoint of two diametrically opposite outer points is the centre, an inner point, earns the point.)
# - 1 point: hidden units compute several half-planes (or ridges) whose non-linear combination can
#   bound a closed region such as a polygon or a disc around the centre; the classes are separable in the
#   hidden layer's feature space, not in the input space.
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ### 3.2 Plateaus: the 4–2 tanh network at lr 0.03 and 0.003
#
# The tutorial says: rerun the default network a few times and you will sometimes see an almost **flat
# stretch** in the middle of the loss curve, brief with lr = 0.03 and much longer with lr = 0.003.
# Here is the same experiment on three seeds (3000 updates, about 120 Playground epochs of 250 points).

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
fig, axes = plt.subplots(1, 2, figsize=(13, 4), sharey=True)
plateau_runs = {}  # (lr, seed) -> history; section 3.3 reuses the lr 0.03 runs
for ax, lr in zip(axes, [0.03, 0.003]):
    for seed in tqdm(range(3), desc=f"tanh, lr {lr}"):
        model, data, history = playground("circle", seed, activation="tanh", lr=lr, steps=3000)
        plateau_runs[lr, seed] = history
        ax.plot(history["train_loss"], label=f"seed {seed}: test acc {accuracy(model, data[2], data[3]):.0%}")
    ax.set(title=f"4-2 tanh, lr {lr}", xlabel="update", ylabel="training loss")
    ax.legend()
plt.tight_layout()
plt.show()


# %% [markdown]
# Measured over 10 seeds with a correct implementation:
#
# * **lr = 0.03**: a run can stall on a plateau (the loss of a boundary that is not yet closed) before
#   its loss falls further, and *when* it gets going varies a lot from seed to seed. The training loss
#   first falls below 0.2 after **1077 updates** on the quickest seed and after 1478 at the median, so
#   on at least half of the seeds within 1478 updates; on at least one seed it is still above 0.2 after
#   all 3000 updates. After 3000 updates the test accuracy is **79% to 100%** (median 100%).
# * **lr = 0.003**: after 3000 updates the training loss is still **0.62 to 0.69** on every seed (a
#   50/50 guess scores 0.69), far above 0.2. So at lr = 0.003 the loss stays high for more than 3000
#   updates on every seed, where at lr = 0.03 at least half of the seeds were below 0.2 by update
#   1478. How much longer the slow phase lasts at lr = 0.003 these runs cannot say: none of them got
#   below 0.62 within its 3000 updates, let alone below 0.2.
#
# So "sometimes a plateau" is right, and how long it lasts is a property of the seed as much as of the
# learning rate. Never judge a configuration from one run.

# %% [markdown] nbgrader={"grade_id": "q_plateau", "task": true, "locked": true, "points": 2}
# **Question 2.** Look at your plateau curves (and, if you like, at the decision boundary of a run that is
# still on the plateau, with `boundary`). Why can a 4–2 network sit on a plateau before finding the
# circle, and why does the plateau last longer with lr = 0.003?
#
# *(2 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: on the plateau the network has found a sub-optimal boundary (e.g. one good hidden direction, a
#   band or open region rather than a closed one; several disconnected regions); to close the region it
#   must coordinate the units of the second layer, and the gradient along that direction is small, so the
#   loss barely changes for many updates (a saddle / flat region of the loss surface).
# - 1 point: the distance travelled per update is proportional to the learning rate, so crossing the same
#   flat region takes more updates with lr = 0.003 (about 10 times more if the gradients along the way
#   were the same; the measured runs at lr = 0.003 stay at a loss of 0.62 or more for all 3000 updates,
#   so the factor itself was not measured); the student also notes that the plateau length varies from seed to
#   seed (initialisation and minibatch order).
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ### 3.3 ReLU, tanh and sigmoid
#
# The tutorial claims that sigmoid units are "almost 100x slower to train than ReLU" on this problem,
# and that a larger learning rate (0.3) rescues them. We measure the number of updates until the
# training loss first falls below 0.2.

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
def steps_to(curve, level=0.2):
    return next((k for k, v in enumerate(curve) if v < level), None)

# (activation, lr, updates): the budgets of the table below (tanh gets 3000, as in section 3.2)
CONFIGS = [("relu", 0.03, 2000), ("tanh", 0.03, 3000), ("sigmoid", 0.03, 2000), ("relu", 0.3, 2000),
           ("sigmoid", 0.3, 2000)]
fig, axes = plt.subplots(1, len(CONFIGS), figsize=(18, 3.3), sharey=True)
for ax, (act, lr, steps) in zip(axes, CONFIGS):
    reached = []
    for seed in tqdm(range(2), desc=f"{act}, lr {lr}"):
        if (act, lr, steps) == ("tanh", 0.03, 3000):  # the run of section 3.2: same seed, data and updates
            history = plateau_runs[lr, seed]
        else:
            _, _, history = playground("circle", seed, activation=act, lr=lr, steps=steps)
        ax.plot(history["train_loss"])
        reached.append(steps_to(history["train_loss"]))
    ax.set(title=f"{act}, lr {lr}", xlabel="update")
    print(f"{act:8s} lr {lr:<5}: updates to loss < 0.2 on seeds 0-1: {reached}  (None = not within {steps})")
axes[0].set_ylabel("training loss")
plt.tight_layout()
plt.show()

# %% [markdown]
# Measured on 10 seeds (updates until the training loss is below 0.2; runs of 2000 updates, 3000 for tanh):
#
# | network 4–2 | lr | updates to loss < 0.2 | |
# |---|---|---|---|
# | ReLU | 0.03 | 465 – 1559 (median 839) | all 10 seeds |
# | tanh | 0.03 | 1077 – not within 3000 (median 1478) | varies by seed |
# | sigmoid | 0.03 | never: the loss is still 0.690 – 0.694 after 2000 updates | every seed |
# | ReLU | 0.3 | 50 – not within 2000 (median 108) | one unlucky seed can stall |
# | sigmoid | 0.3 | 1346 – not within 2000 (median 1820) | varies by seed |
#
# So at lr = 0.03 sigmoid does not get off the ground at all in 2000 updates, where ReLU gets below 0.2
# within 465 to 1559: on every seed the ratio is *at least* 2000/1559, and on this budget simply
# "infinite". At lr = 0.3 both are faster by their medians, and by the medians sigmoid is about
# **17 times** slower than ReLU (1820 vs 108 updates), not 100 times; on some seeds either of them does
# not get there within 2000 updates at all. The "100x" of the tutorial is not a constant: it depends on
# the learning rate, the budget and the seed.
#
# What holds on every seed at lr = 0.03: sigmoid is slower than ReLU. Against tanh the comparison is
# not as clean, because tanh ran on another budget (3000 updates, to reuse the runs of Section 3.2):
# by the medians tanh is far quicker (1478 updates against none within 2000), but on a seed where tanh
# needs more than 2000 updates, or does not get below 0.2 at all, these runs cannot say which of the
# two is slower. And raising sigmoid's learning rate is what makes it train: at lr = 0.3 it gets below
# 0.2 within 2000 updates on at least half of the seeds, at lr = 0.03 on none.
#
# *Not repeated here:* the original tutorial also turns the Playground's noise up to 15 (`noise=0.15`)
# and trains the ReLU, tanh and sigmoid networks at lr 0.3 and 0.01, reporting that at 0.3 the training
# curves of ReLU and tanh fluctuate while sigmoid's do not. We leave that experiment out to keep this
# notebook short to run and to grade: it would need more training runs, measurements and hidden tests of
# its own. You can try it with `playground("circle", seed, activation=..., lr=0.3, noise=0.15,
# steps=2000)`.

# %% [markdown] nbgrader={"grade_id": "q_activations", "task": true, "locked": true, "points": 3}
# **Question 3.** Why does the sigmoid network train so much more slowly than ReLU and tanh here, and why
# does a ten times larger learning rate help it? Give two reasons, in terms of the derivative of the
# sigmoid and of the values its outputs take.
#
# *(3 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: $\sigma'(z) = \sigma(z)(1 - \sigma(z)) \le 1/4$ (tanh' ≤ 1, ReLU' = 1 on the active side), so
#   every sigmoid layer shrinks the backpropagated gradient by at least 4x, and far more when units
#   saturate (the inputs here reach ±5, so pre-activations are large).
# - 1 point: sigmoid outputs are all positive (not zero-centred, mean ≈ 0.5), so the gradients of a
#   unit's incoming weights share one sign and updates zig-zag; tanh is a rescaled, zero-centred sigmoid.
# - 1 point: a larger learning rate compensates for the small gradients (the step is lr × gradient), so
#   the same distance in weight space is covered in fewer updates; it should be re-tuned after any change
#   of architecture.
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ### 3.4 Depth: four more hidden layers of two units
#
# The tutorial's next step: add four hidden layers of 2 units to the 4–2 network, six hidden layers in
# all (4–2–2–2–2–2), and train again. It says the deeper model is harder to train, although the 4–2
# networks are a subset of it. That is a claim to measure. First, what "subset" means here:
#
# * **ReLU: exactly.** Give the four extra layers the weight matrix $I$ and the bias 0. Their inputs are
#   outputs of a ReLU, so they are $\ge 0$, and $\text{ReLU}(I h + 0) = h$ for every $h \ge 0$: the deep
#   network then computes exactly the function of the 4–2 network (with the 4–2 network's output layer
#   on top). An identity layer would not pass a *negative* value through a ReLU, but none reaches it.
# * **tanh: only in the limit.** $\tanh(h) \ne h$, so no choice of weights makes an extra tanh layer the
#   identity. But $\tanh(z) \approx z$ for small $z$: with the weights $\varepsilon I$ in the first extra
#   layer, $I$ in the three others and the output weights divided by $\varepsilon$, the deep network comes
#   as close as you like to a given 4–2 tanh network as $\varepsilon \to 0$.
#
# And with the same seed, `playground` starts both networks from the same first two layers (PyTorch
# draws the layers' weights in order), on the same data and the same minibatches: only the four extra
# layers, random rather than the identity, and the output layer differ. Whatever goes wrong below is a
# matter of training, not of what the network can represent.
#
# (The first hidden layer keeps its 4 units for a reason. A network whose hidden layers are all at most
# as wide as its input, 2 here, cannot be positive at the centre and negative all along a circle around
# it, however deep it is (Johnson, 2019, "Deep, skinny neural networks are not universal
# approximators"): the region it labels "inside" is never surrounded by the region it labels "outside",
# so six layers of 2 units cannot represent the circle's rule at all, a limit of capacity, not of
# training.)

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
DEEP = (4, 2, 2, 2, 2, 2)  # the 4-2 network plus four hidden layers of 2 units

fig, axes = plt.subplots(1, 2, figsize=(13, 4), sharey=True)
for ax, act in zip(axes, ["relu", "tanh"]):
    for seed in tqdm(range(2), desc=f"4-2-2-2-2-2 {act}"):
        model, data, history = playground("circle", seed, hidden=DEEP, activation=act, lr=0.03, steps=2000)
        if act == "tanh":  # the 4-2 tanh run of section 3.2 (same seed): its first 2000 updates
            shallow = plateau_runs[0.03, seed]["train_loss"][:2001]
        else:
            shallow = playground("circle", seed, activation="relu", lr=0.03, steps=2000)[2]["train_loss"]
        line, = ax.plot(history["train_loss"], label=f"4-2-2-2-2-2, seed {seed}: test acc {accuracy(model, data[2], data[3]):.0%}")
        ax.plot(shallow, ":", color=line.get_color(), label=f"4-2, seed {seed}")
        print(f"{act:4s} seed {seed}: updates to loss < 0.2: 4-2-2-2-2-2 {steps_to(history['train_loss'])}, "
              f"4-2 {steps_to(shallow)}  (None = not within 2000)")
    ax.set(title=f"{act}, lr 0.03: 4-2-2-2-2-2 (solid) and 4-2 (dotted)", xlabel="update", ylabel="training loss")
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()


# %% [markdown]
# Measured on 10 seeds (0 to 9), 2000 updates at lr 0.03, against the 4–2 networks of Sections 3.1 to
# 3.3 on the same seeds:
#
# * **ReLU.** The 4–2 network gets its training loss below 0.2 on every seed, after 465 to 1559
#   updates, and ends at 99.2% to 100% test accuracy. The 4–2–2–2–2–2 network gets below 0.2 on **no**
#   seed: its lowest training loss is 0.397 on one seed (seed 1, which ends at 82.8% test accuracy), and
#   0.691 to 0.693, the loss of a 50/50 guess, on the other nine, which end at 46.8% to 50.8% (chance).
# * **tanh.** Within the same 2000 updates, the 4–2 tanh network gets below 0.2 on 7 of the 10 seeds
#   (after 1077 to 1556 updates). The 4–2–2–2–2–2 tanh network does on 1 seed (seed 5, after 1760
#   updates, where the 4–2 network took 1171) and ends there at 100% test accuracy; it ends at 60% to
#   68% on three seeds and at 46.8% to 50.8% on the other six.
#
# Within these 2000 updates the deeper network got below 0.2 first on no seed (on three tanh seeds
# neither did). Why, measured on the untrained networks: the
# gradient of the loss that reaches the first layer of the 4–2–2–2–2–2 network is at most 0.29 times
# that of the 4–2 network on the same seed with ReLU, and 0.0025 to 0.22 times (median 0.010) with
# tanh. With ReLU it is exactly 0 on 5 of the 10 seeds: there, one of the 2-unit layers outputs (0, 0)
# for every training point, so the network gives every point the same output, and no update can ever
# change that layer or any layer before it.
#
# So, on this budget, the tutorial's claim holds here: the deeper network trains much more slowly and
# far less reliably than the 4–2 network it contains (with ReLU, on half of the seeds it starts where
# SGD can never leave). Ten seeds at one budget are not a law: another learning rate or another
# initialisation may narrow the gap, but more updates cannot help a seed with a dead layer. This is
# the problem ResNets' identity shortcuts were designed for (He et al., 2016); Question 4 asks how
# they address it.

# %% [markdown] nbgrader={"grade_id": "q_depth", "task": true, "locked": true, "points": 2}
# **Question 4.** The 4–2–2–2–2–2 network can compute exactly what any 4–2 ReLU network computes, and
# come as close as you like to any 4–2 tanh network; with the same seed it even starts from the same
# first two layers. Why is it nevertheless so much harder to train here? Use the measurements above.
# Then explain how ResNet's identity shortcuts address exactly this problem.
#
# *(2 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: the argument needs the four extra layers to be (close to) the identity, but they start
#   at random weights, far from it, and the signal and the gradient must pass through four more layers
#   of 2 units. With ReLU a layer of 2 units can output (0, 0) for every training point: then the
#   output is the same for every point and the gradient of every layer up to that one is exactly 0, for
#   good (measured: on 5 of 10 seeds at initialisation). With tanh the gradient that reaches the first
#   layers is a product of more small Jacobians and arrives much smaller (measured: 0.0025 to 0.22 times
#   the 4–2 network's), so those layers take much smaller steps (vanishing gradients). Either mechanism,
#   tied to the measurements, earns the point; "it has more parameters" alone does not, and "it cannot
#   represent the circle" is wrong for this network (it is right for six layers of 2 units).
# - 1 point: a residual block computes $h + F(h)$. When its residual branch outputs 0 (for example with
#   its last layer initialised at zero) the block is exactly the identity, so the deep network starts
#   as the shallow one and has only to learn a correction; and the block's Jacobian is
#   $I + \partial F / \partial h$, so the gradient reaches the early layers through the shortcut without
#   being multiplied by the small Jacobians or stopped by a dead layer. This is He et al.'s argument: a
#   deeper model built from a shallower one plus identity layers should have no higher training error,
#   and the shortcuts make that construction the easy default. (Batch norm and He initialisation help
#   too, but He et al.'s plain networks had both and still trained worse when made deeper.)
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ### 3.5 Overfitting on a noisy spiral
#
# "Overfitting" is used in two ways, and it pays to say which one you mean.
#
# * The **generalisation gap** is how much worse the model does on new data than on its training
#   data: the test (validation) loss minus the training loss. A large gap is often called overfitting:
#   the model has fitted its training points better than the distribution they come from.
# * The original tutorial uses a stricter convention, which this section adopts: a run is overfitting
#   when its **validation loss goes up** while the training loss keeps going down. This is the moment
#   from which more training makes the model worse on new data (what early stopping looks for); a gap
#   that stays constant does not count.
#
# To make the second convention precise enough to automate, write
# `is_overfitting(val_losses, window=10, tolerance=0.05)`:
# with $v_0, \dots, v_{T-1}$ the validation losses and $w$ the window, return `True` if and only if
# $T > w$ and
#
# $$\frac{1}{w}\sum_{t=T-w}^{T-1} v_t \;>\; (1 + \text{tolerance}) \cdot \min_{t < T-w} v_t ,$$
#
# that is, the mean of the last $w$ values is more than `tolerance` (relatively) above the best value
# *before* that window. Averaging over a window ignores a single noisy spike; comparing with the minimum
# before the window means a curve that is still going down, or that stays flat, is not overfitting.

# %% nbgrader={"grade_id": "overfitting", "solution": true} tags=["module"]
def is_overfitting(val_losses, window=10, tolerance=0.05):
    """True iff len(val_losses) > window and
        mean(val_losses[-window:]) > (1 + tolerance) * min(val_losses[:-window]).

    Inputs:
    - val_losses: a sequence of floats (one validation loss per evaluation, oldest first).
    - window: the number w of most recent values that are averaged.
    - tolerance: the relative rise above the earlier minimum that counts as overfitting.

    Returns a Python bool.
    """
    ### BEGIN SOLUTION
    values = [float(v) for v in val_losses]
    if len(values) <= window:
        return False
    recent = sum(values[-window:]) / window
    return bool(recent > (1 + tolerance) * min(values[:-window]))
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_overfitting", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
assert is_overfitting([1.0] * 30) is False, "a flat curve is not overfitting"
assert is_overfitting([1.0 - 0.01 * k for k in range(30)]) is False, "a decreasing curve is not overfitting"
assert is_overfitting([1.0 - 0.02 * k for k in range(20)] + [0.8] * 10) is True, "a rise after the minimum is"
print("is_overfitting: OK")

# %% nbgrader={"grade_id": "hidden_is_overfitting", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): flat, noisy-flat, decreasing, rising-after-the-minimum and spiky sequences; the window and tolerance; real runs
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# Now the tutorial's recipe: the spiral, a network of 4 hidden layers of 6 ReLU units, noise 0.5 and
# only **10%** of the 500 points for training (50 points). We train with Adam (lr 0.01) for 1500 updates
# so that the effect shows quickly.

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
fig, axes = plt.subplots(1, 4, figsize=(18, 4))
for seed in tqdm(range(3), desc="noisy spiral"):
    model, data, history = playground("spiral", seed, hidden=(6, 6, 6, 6), activation="relu", optimizer="adam",
                                      lr=0.01, steps=1500, noise=0.5, train_fraction=0.1)
    line, = axes[0].plot(history["train_loss"], label=f"seed {seed}: train")
    axes[0].plot(history["test_loss"], "--", color=line.get_color(), label=f"seed {seed}: test")
    print(f"seed {seed}: train acc {accuracy(model, data[0], data[1]):.0%}, test acc {accuracy(model, data[2], data[3]):.0%}, "
          f"is_overfitting(test, window=100): {is_overfitting(history['test_loss'], window=100)}")
    if seed == 0:
        boundary(axes[1], model, data[0], data[1], "seed 0: training points")
        boundary(axes[2], model, data[2], data[3], "seed 0: test points")
axes[0].set(xlabel="update", ylabel="BCE loss", yscale="log", title="noisy spiral, 10% training data")
axes[0].legend(fontsize=7)
x, y = make_dataset("spiral", 500, 0.5, generator=torch.Generator().manual_seed(0))
scatter(axes[3], x, y, "all 500 points (noise 0.5)")
plt.tight_layout()
plt.show()


# %% [markdown]
# Measured on 10 seeds: the final test loss ends **0.48 to 5.07** above the final training loss (median
# 2.2), and the test loss over the last 100 updates averages **1.10 to 7.6 times** its earlier minimum
# (median 3.6): `is_overfitting(..., window=100)` says `True` on every seed. Seed 0 has the smallest gap
# (0.48). By contrast, the 4–2 ReLU run on the noise-free circle of Section 3.1 (lr 0.03, 2000 updates,
# half of the 500 points for training) ends with the mean of its last 100 test losses at **0.90 to
# 0.99** times its earlier minimum: no overfitting in this sense on any seed.
# The exact numbers vary a lot from seed to seed (which 50 points you train on matters); the rise does not.

# %% nbgrader={"grade_id": "hidden_spiral_overfit", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): with your make_mlp and fit on seeds 0-2: the noisy-spiral run ends with a test loss at least 0.3 above its training loss, and its test loss rises more than 5% above its earlier minimum
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown] nbgrader={"grade_id": "q_overfit", "task": true, "locked": true, "points": 2}
# **Question 5.** Explain, using your plots, why this set-up overfits (name the three ingredients), and
# name two things you could change to reduce the overfitting. Why is "the test loss is higher than the
# training loss" not by itself evidence of overfitting in the sense of `is_overfitting`?
#
# *(2 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: few training points (50) for a network with ~150 parameters, plus label/position noise that
#   the network can memorise; the boundary contorts around individual noisy training points, so the
#   training loss keeps falling while the test loss rises after its minimum.
# - 1 point: two sensible remedies (more data / larger training fraction, L2 or weight decay, dropout,
#   early stopping at the test-loss minimum, a smaller network, less noise); and: a gap can be constant
#   (e.g. ResNet-34's train/test gap, or irreducible noise): overfitting means the validation loss goes
#   *up*, not that it stays above the training loss.
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ## 4. Training curves from papers
#
# ### 4.1 Deep residual networks (He et al., 2016): step decay
#
# ResNets were trained with SGD at a learning rate of 0.1, **divided by 10** several times during
# training; each division shows up as a sudden drop of the error curve. On ImageNet the paper divided
# the rate "when the error plateaus"; on CIFAR-10 it divided it at fixed iterations, 32k and 48k (of
# 64k in all). The fixed version is the one you write here:
# `step_decay_lr(base_lr, step, milestones, gamma=0.1)`, the learning rate of update `step`:
#
# $$\text{lr}(k) = \text{base\_lr} \cdot \gamma^{\,\#\{m \in \text{milestones} \;:\; m \le k\}}$$
#
# `milestones` is an increasing list of update indices. This is exactly what
# `torch.optim.lr_scheduler.MultiStepLR` gives after `k` calls to `scheduler.step()`; the visible check
# compares the two. Compute it from the formula: a `step_decay_lr` that creates a scheduler scores 0.

# %% nbgrader={"grade_id": "step_decay", "solution": true} tags=["module"]
def step_decay_lr(base_lr, step, milestones, gamma=0.1):
    """Learning rate of update `step` (0-based): base_lr * gamma ** (number of milestones m <= step).

    Inputs:
    - base_lr: the initial learning rate (a float).
    - step: the update index k >= 0.
    - milestones: an increasing list of update indices at which the rate is multiplied by gamma.
    - gamma: the factor (0.1 in ResNet).

    Returns a float.
    """
    ### BEGIN SOLUTION
    passed = sum(1 for m in milestones if m <= step)
    return base_lr * gamma ** passed
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_step_decay", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
_sched = torch.optim.lr_scheduler.MultiStepLR(_opt, milestones=[3, 6], gamma=0.1)
for _k in range(8):
    assert math.isclose(step_decay_lr(0.1, _k, [3, 6]), _opt.param_groups[0]["lr"]), f"differs from MultiStepLR at step {_k}"
    _opt.step(); _sched.step()
print("step_decay_lr agrees with MultiStepLR:", [round(step_decay_lr(0.1, k, [3, 6]), 4) for k in range(8)])


# %% nbgrader={"grade_id": "hidden_step_decay", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): agreement with MultiStepLR over 120 steps for several milestone lists and gammas; the default gamma; computed from the formula, without a torch.optim.lr_scheduler scheduler
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# We try it on the spiral (noise 0.1, 4×6 ReLU, SGD at lr 0.3, divided by 10 at updates 1000 and 1500).

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
def decayed(k):
    return step_decay_lr(0.3, k, [1000, 1500])

fig, ax = plt.subplots(figsize=(8, 4))
for seed in tqdm(range(2), desc="step decay"):
    _, _, history = playground("spiral", seed, hidden=(6, 6, 6, 6), activation="relu", lr=decayed, steps=2000, noise=0.1)
    ax.plot(history["train_loss"], label=f"seed {seed}: train")
    ax.plot(history["test_loss"], "--", label=f"seed {seed}: test")
for m in (1000, 1500):
    ax.axvline(m, color="grey", lw=0.8)
ax.set(xlabel="update", ylabel="BCE loss", yscale="log", title="spiral, step decay x0.1 at 1000 and 1500")
ax.legend()
plt.show()

# %% [markdown]
# Measured on 10 seeds (mean training loss over the 50 updates after a decay, divided by the mean over
# the 50 before): at the first decay **0.944 to 1.003** (median 0.983; lower on 9 of 10 seeds), at the
# second **0.992 to 1.001** (median 0.999). On this small problem the drops are small, and the second
# one is within noise: the large, sudden drops of the ResNet curves come from a large network on
# ImageNet, whose loss at a high learning rate is dominated by the noise of the SGD steps. Honest
# measurement on a toy problem does not always reproduce a paper's picture.
#
# ### 4.2 Google's neural machine translation (Wu et al., 2016): Adam, then SGD
#
# GNMT trained with Adam first (fast, smooth progress early on) and then **switched to SGD** for the rest of
# training, to close the gap in final quality; right after the switch the loss went *up* for a while.
# Your `fit` can do this with `switch_at` and `switch_lr`.

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
fig, ax = plt.subplots(figsize=(8, 4))
for seed in tqdm(range(2), desc="Adam -> SGD"):
    _, _, history = playground("spiral", seed, hidden=(6, 6, 6, 6), activation="relu", optimizer="adam", lr=0.003,
                               steps=2000, noise=0.1, switch_at=1000, switch_lr=0.1)
    ax.plot(history["train_loss"], label=f"seed {seed}: train")
ax.axvline(1000, color="grey", lw=0.8)
ax.set(xlabel="update", ylabel="training loss", yscale="log", title="spiral: Adam (lr 0.003), then SGD (lr 0.1) from update 1000")
ax.legend()
plt.show()

# %% [markdown]
# Measured on 10 seeds (mean training loss over the 50 updates after the switch / the 50 before):
# **0.978 to 1.21**, median 1.023. On most seeds the loss rises for a while after the switch, as in the
# GNMT curve, but not on all: it depends on the seed and on the SGD learning rate chosen for the switch.

# %% [markdown] nbgrader={"grade_id": "q_papers", "task": true, "locked": true, "points": 3}
# **Question 6.** (a) Why does the loss drop right after the learning rate is divided by 10 in ResNet
# training, and why not simply use the small learning rate from the start? (b) Why can the loss go *up*
# right after GNMT's switch from Adam to SGD, and why switch at all? (c) ResNet-34 ends with a gap between
# its training and test error that stays constant. Is that overfitting in the sense of `is_overfitting`?
#
# *(3 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: (a) with a large learning rate SGD bounces around the bottom of a valley (the step noise sets a
#   loss floor); a smaller step settles further down, so the loss drops. A small rate from the start would
#   progress far more slowly early on (and tends to find sharper minima); large first, small later gives both.
# - 1 point: (b) Adam's per-parameter step sizes differ from SGD's; the new optimizer starts with no
#   momentum/statistics and a different effective step in every direction, so the first SGD steps may
#   overshoot. One switches because SGD often reaches a better final loss / generalises better (the gap
#   that AdamW later also addressed).
# - 1 point: (c) no: overfitting is when the validation loss goes up; a constant gap with a flat test
#   error is not overfitting (cf. `is_overfitting`).
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*
