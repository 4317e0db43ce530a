# %% [markdown]
# # Problem set 1: learning rates and initialisation
#
# **Before you start.** You need Python 3 with `torch`, `matplotlib` and `tqdm`
# (`pip install torch matplotlib tqdm`; this notebook was tested with torch 2.14.1, matplotlib 3.11
# and tqdm 4.70). On Google Colab all three are already installed: open the notebook there and run it.
# No GPU and no internet connection are needed.
#
# **Run time.** Run the cells from top to bottom. With correct solutions, all the code cells of this
# notebook together took about 9 seconds in one measured run on a 2-core server, not counting the
# start of Python and the import of torch. Your laptop may be faster or a few times slower.

# %% [markdown]
# *Neural-network best practices.* In this notebook you will
#
# 1. build a small sigmoid network and a regression data set (fixing a bug in the original tutorial),
# 2. write a full-batch SGD loop and sweep the learning rate from 100 down to 0.001,
# 3. write `diagnose`, which tells a diverging run from a rising, a stuck and a learning one,
# 4. write the He and Glorot initialisers from the "rules of thumb".
#
# **How you are graded.** Fill in every cell that says `YOUR CODE HERE` and every answer cell.
# The hidden tests grade the **solution cells** only, through what they define: `Model`,
# `create_dataset`, `SEED_TARGET_SHAPE` and `FIXED_TARGET_SHAPE`, `train`, `diagnose`, and
# `he_normal_` and `glorot_normal_` (their cell also defines the helper `_fans`). They load those cells and the read-only given
# cells into a fresh module, outside this notebook, and run on several random seeds; their verdict
# appears in your feedback. Cells you add yourself are **not loaded** by the hidden tests, except their
# top-level `import` statements: anything else a solution needs (a helper function, a constant)
# must be defined inside a solution cell. The *visible checks* below each exercise are quick sanity
# checks that run in seconds on a CPU; passing them does not guarantee full marks. Written questions
# are marked by hand.
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
#
# **Implement it yourself.** Where an exercise asks you to write something PyTorch already has, write
# it with tensor operations: a part that calls PyTorch's own version of what it implements scores 0,
# with a message that names the call. In this notebook that means `he_normal_` and `glorot_normal_`
# must not call `torch.nn.init`'s `kaiming_*` or `xavier_*` functions (drawing the numbers with
# `tensor.normal_` is the point). Everything else in PyTorch (layers, losses, optimisers) is yours to use.
#
# Do not rename the functions or delete cells.

# %% nbgrader={"grade_id": "imports", "locked": true} tags=["module"]
import math
import warnings

import torch

# Thresholds for diagnose(), set from measurements over 10 seeds (the numbers are in section 1.6).
DIVERGE_FACTOR = 2.0   # "diverged": a non-finite loss, or a final loss above 2x the first
STUCK_DECREASE = 0.05  # "stuck": the final loss is not above the first, and less than 5% below it


# %% [markdown]
# ## 1. Learning rates
#
# There are two kinds of hyperparameters. *Optimisation* hyperparameters (the **learning rate**,
# the batch size, the number of epochs) change how we search; *architecture* hyperparameters
# (activation functions, neurons per layer, number of layers) change what we search over.
#
# The learning rate sets how far each step trusts the local linear approximation of the loss.
# Too large, and that approximation is useless: steps overshoot and the loss blows up. Too small,
# and progress is guaranteed but slow. You will see both in practice, so that you can recognise
# them when you debug your own networks.
#
# ### 1.1 The model
#
# Write `Model`, a network 100 → 50 → 20 → 1 with a **sigmoid** after each of the two hidden
# layers and no activation on the output (this is regression). Name the layers `fc1`, `fc2`, `fc3`.

# %% nbgrader={"grade_id": "model", "solution": true} tags=["module"]
class Model(torch.nn.Module):
    """100 -> 50 -> 20 -> 1 with sigmoid activations on the hidden layers.

    Input:  x of shape (N, 100)
    Output: predictions of shape (N, 1)
    """

    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.fc1 = torch.nn.Linear(100, 50)
        self.fc2 = torch.nn.Linear(50, 20)
        self.fc3 = torch.nn.Linear(20, 1)
        self.sigmoid = torch.nn.Sigmoid()
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = self.sigmoid(self.fc1(x))
        x = self.sigmoid(self.fc2(x))
        return self.fc3(x)
        ### END SOLUTION


# %% nbgrader={"grade_id": "check_model", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_out = Model()(torch.randn(4, 100))
assert _out.shape == (4, 1), f"expected output shape (4, 1), got {tuple(_out.shape)}"
print("Model: output shape OK")


# %% nbgrader={"grade_id": "hidden_model", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): layer sizes 100→50→20→1 and sigmoid activations, on several batch sizes
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ### 1.2 The data
#
# Each sample is $x \in \mathbb{R}^{d}$ with $x \sim \mathcal{N}(0, I)$. Let
# $s = \sum_{j < \lfloor d/2 \rfloor} x_j / 10$ be the scaled sum of the *first half* of the
# features of **that sample**. The target is $y = s^2 + s$.
#
# Write `create_dataset(n_samples, n_features, generator=None)`. Draw `x` with
# `torch.randn(n_samples, n_features, generator=generator)` and return `x` of shape
# `(n_samples, n_features)` and `y` of shape `(n_samples, 1)`.

# %% nbgrader={"grade_id": "create_dataset", "solution": true} tags=["module"]
def create_dataset(n_samples, n_features, generator=None):
    """Return (x, y): x ~ N(0, 1) of shape (n_samples, n_features) and y = s**2 + s of
    shape (n_samples, 1), with s the per-sample sum of the first n_features // 2
    features divided by 10."""
    ### BEGIN SOLUTION
    x = torch.randn(n_samples, n_features, generator=generator)
    s = torch.sum(x[:, : n_features // 2] / 10, dim=1, keepdim=True)
    y = s ** 2 + s
    ### END SOLUTION
    return x, y


# %% nbgrader={"grade_id": "check_dataset", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_x, _y = create_dataset(8, 6, generator=torch.Generator().manual_seed(0))
assert _x.shape == (8, 6) and _y.shape == (8, 1), f"shapes: x {tuple(_x.shape)}, y {tuple(_y.shape)}"
assert not torch.allclose(_y, _y[0].expand_as(_y)), "every sample has the same target: is the sum per sample?"
print("create_dataset: shapes OK")


# %% nbgrader={"grade_id": "hidden_dataset", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): shapes, the per-sample target formula for odd and even feature counts, and the generator
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ### 1.3 A bug in the original tutorial
#
# The tutorial this course grew from wrote the data set like this:

# %% nbgrader={"grade_id": "seed_dataset", "locked": true} tags=["module"]
def create_dataset_seed(n_samples, n_features):
    # The original tutorial's version, kept here so you can find its bug.
    x = torch.randn(n_samples, n_features)
    y = torch.sum(x[:, :n_features // 2] / 10) ** 2 + torch.sum(x[:, :n_features // 2] / 10)
    return x, y


x_seed, y_seed = create_dataset_seed(1000, 100)


# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    torch.nn.MSELoss()(Model()(x_seed), y_seed)
print("y from the seed's create_dataset has shape", tuple(y_seed.shape))
for w in caught:
    print("MSELoss warned:", w.message)

# %% [markdown]
# Run the cell above and read the warning. Then record what you found: set `SEED_TARGET_SHAPE`
# to the shape of `y_seed`, the `y` that `create_dataset_seed(1000, 100)` returned in the read-only
# cell further up, and `FIXED_TARGET_SHAPE` to the shape of `y` from *your*
# `create_dataset(1000, 100)`. Give each as a tuple, e.g. `(3, 1)`, or a `torch.Size`. You may write
# the tuple out or compute it, e.g. `tuple(y_seed.shape)`: the hidden tests load that read-only cell
# too, so `x_seed` and `y_seed` exist when your answer is graded (the cell that prints the warning is
# not among the cells they load).

# %% nbgrader={"grade_id": "broadcast", "solution": true} tags=["module"]
### BEGIN SOLUTION
SEED_TARGET_SHAPE = ()
FIXED_TARGET_SHAPE = (1000, 1)
### END SOLUTION

# %% nbgrader={"grade_id": "hidden_broadcast", "grade": true, "locked": true, "points": 1} tags=["hidden-grader"]
# Hidden tests (1 points): the two target shapes
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown] nbgrader={"grade_id": "q_broadcast", "task": true, "locked": true, "points": 2}
# **Question 1.** Explain the bug. Why does `torch.sum` without `dim` give one number, what does
# `MSELoss` do when the target is a scalar and the prediction has shape `(1000, 1)`, and what does
# the best possible model learn to predict on that data set?
#
# *(2 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: `torch.sum` without `dim` reduces over the whole batch *and* the features, so `y` is a
#   single scalar shared by all 1000 samples. MSELoss broadcasts it against the `(1000, 1)`
#   predictions (and warns that the target size differs from the input size).
# - 1 point: every sample has the same target, so the best model ignores `x` and outputs that one
#   constant; the task no longer depends on the input (nothing to learn about `x`).
# - Model answer: the sum runs over all samples, the target is one number broadcast to every
#   prediction, so the loss is minimised by a constant output; the fixed version sums over `dim=1`.
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ### 1.4 Training loop
#
# Write `train(model, x, y, lr, steps=200, momentum=0.0)`: **full-batch** SGD
# (`torch.optim.SGD` with the given `lr` and `momentum`) on the mean squared error. At each step
# compute the loss of the whole data set, record it, then take one optimiser step. Return the list
# of the `steps` recorded losses as Python floats (`loss.item()`); the first entry is the loss of
# the untrained model.

# %% nbgrader={"grade_id": "train", "solution": true} tags=["module"]
def train(model, x, y, lr, steps=200, momentum=0.0):
    """Full-batch SGD on MSELoss. Returns a list of `steps` floats, the loss before each update."""
    ### BEGIN SOLUTION
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    criterion = torch.nn.MSELoss()
    losses = []
    for _ in range(steps):
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_train", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
torch.manual_seed(0)
_x, _y = create_dataset(64, 100)
_losses = train(Model(), _x, _y, lr=0.1, steps=20)
assert len(_losses) == 20 and all(isinstance(v, float) for v in _losses), "train should return 20 floats"
assert _losses[-1] < _losses[0], "with lr=0.1 the loss should go down"
print(f"train: loss {_losses[0]:.3f} -> {_losses[-1]:.3f}")

# %% nbgrader={"grade_id": "hidden_train", "grade": true, "locked": true, "points": 3} tags=["hidden-grader"]
# Hidden tests (3 points): your losses match full-batch SGD step by step, with and without momentum
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ### 1.5 The learning-rate sweep
#
# The next cell trains a fresh model for 200 steps with each learning rate in 100, 10, 1, 0.2 and
# 0.001, on three seeds (0, 1 and 2), and plots the loss curves (log scale, each panel with its own axis; a curve that stops has hit `nan`).

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
import matplotlib.pyplot as plt
from tqdm.auto import tqdm

LEARNING_RATES = [100, 10, 1, 0.2, 0.001]
SEEDS = range(3)
curves = {}
for lr in tqdm(LEARNING_RATES, desc="learning rates"):
    for seed in SEEDS:
        torch.manual_seed(seed)
        x, y = create_dataset(1000, 100, generator=torch.Generator().manual_seed(seed))
        curves[lr, seed] = train(Model(), x, y, lr)

fig, axes = plt.subplots(1, len(LEARNING_RATES), figsize=(18, 3.2))
for ax, lr in zip(axes, LEARNING_RATES):
    for seed in SEEDS:
        ax.plot(curves[lr, seed], alpha=0.8)
    ax.set(title=f"lr = {lr}", xlabel="step", yscale="log")
axes[0].set_ylabel("MSE (log scale)")
plt.tight_layout()
plt.show()

for lr in LEARNING_RATES:
    finals = [curves[lr, s][-1] for s in SEEDS]
    print(f"lr={lr:<6} final losses: " + ", ".join(f"{v:.3g}" for v in finals))


# %% nbgrader={"grade_id": "hidden_lr_regimes", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): with your train: lr = 100, 10 and 1 diverge on every seed; 0.2 stays finite; 0.001 lowers the loss without ever raising it
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# Measured over 10 seeds (0 to 9) with a correct implementation of `Model`, `create_dataset` and
# `train`, 200 steps per run, on one CPU thread:
#
# * **lr = 100 and lr = 10** overflow: the loss is `nan` from the first few steps on (186–194 of
#   the 200 steps are `nan`) and never recovers.
# * **lr = 1** never reaches `nan` but diverges all the same: the final loss is 58 to 211 times the
#   first one on every seed.
# * **lr = 0.2** gives the lowest final loss of the sweep on most seeds (median 0.33, from a first
#   loss of 0.93–1.82), after a spike in the first steps. Its path is chaotic, though: the exact
#   numbers change with the seed, with the order in which an implementation draws its random
#   numbers, and even with the number of CPU threads. On nine of the ten seeds it ended at
#   0.21–0.48; on seed 2 it ended at 2.30, 1.27 times its first loss. That one run is **seed- and
#   implementation-dependent**: run on two CPU threads, the same seed ended at 1.03 times its first
#   loss, and a correct implementation that draws its numbers in another order ended it at 0.20
#   times. Your seed 2 may well end below where it started. When a run does end *above* where it
#   started, even without blowing up, that is the mark of a learning rate too large for that run.
#   The original tutorial claimed that 0.2 "converges to a very bad loss"; on this data that is not
#   what usually happens.
# * **lr = 0.001** never raises the loss, but it is slow: after 200 steps the loss is 0.52 to 0.999
#   times its first value (final losses 0.78–1.38). On some seeds it has barely moved.
#
# Your own curves can differ in detail from seed to seed; the regimes do not.

# %% [markdown] nbgrader={"grade_id": "q_sweep", "task": true, "locked": true, "points": 3}
# **Question 2.** Using your plot, describe each regime (100 and 10; 1; 0.2; 0.001). Why can a
# learning rate that is too large make the loss *grow* rather than merely converge slowly? Which
# learning rate would you pick here, and what would you try next to do better?
#
# *(3 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: 100 and 10 blow up to nan/inf quickly; 1 diverges (loss grows by orders of magnitude)
#   without nan; 0.2 reaches the lowest loss; 0.001 decreases steadily but slowly.
# - 1 point: a too-large step overshoots the minimum along high-curvature directions, so each
#   update lands where the loss is higher; the error is amplified step after step (the linear
#   approximation of the loss is no longer valid at that distance).
# - 1 point: picks 0.2 (or a value near it) and proposes a sensible next step: a finer sweep between
#   0.01 and 0.5, a learning-rate schedule, momentum or Adam, or more steps.
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ### 1.6 Diagnosing a run
#
# When a run goes wrong you need to say *how*. Write `diagnose(losses)`, which returns one of
# four strings, decided in this order from the first and the final loss:
#
# * `"diverged"`: some loss is `nan` or infinite, or the final loss is more than
#   `DIVERGE_FACTOR` times the first;
# * `"rising"`: otherwise, if the final loss is above the first (`final > first`). The loss went *up*
#   without blowing up: with full-batch gradient descent that is as sure a sign of a too-large
#   learning rate as divergence, not a sign of a run that is merely slow;
# * `"stuck"`: otherwise, if the final loss is less than `STUCK_DECREASE` (5%) below the first,
#   i.e. `final > (1 - STUCK_DECREASE) * first`;
# * `"learning"`: otherwise.
#
# The constants are defined at the top of the notebook. They come from measurements over 10 seeds
# with a correct implementation: every run with lr = 1 ended at least 58× above its first loss
# ("diverged"); every run with lr = 0.1 ended at most 0.86× its first loss ("learning"); every run
# with lr = 1e-5 ended between 0.979× and 0.9999× its first loss ("stuck": it moved, but barely). At
# lr = 0.2 most seeds are "learning". In the measured runs of Section 1.5, seed 2 ended 1.27× above
# its first loss, which makes it "rising", not "stuck": its learning rate is too large rather than
# too small. That example depends on the seed and on the implementation (on two CPU threads the same
# run ended at 1.03×, still "rising"; with another correct implementation at 0.20×, "learning"), so
# do not expect to reproduce it. What is graded is the rule as stated in the list above, checked on
# loss sequences the hidden tests choose; your own lr = 0.2 runs are not among them. A run at
# lr = 0.001 sits between "learning" and "stuck": after 200 steps it is "learning" on most seeds and
# "stuck" on some (final/first up to 0.999), which is exactly why a learning rate that small is a
# poor choice.

# %% nbgrader={"grade_id": "diagnose", "solution": true} tags=["module"]
def diagnose(losses):
    """Label a sequence of losses as "diverged", "rising", "stuck" or "learning" (see above)."""
    ### BEGIN SOLUTION
    values = [float(v) for v in losses]
    first, final = values[0], values[-1]
    if any(not math.isfinite(v) for v in values) or final > DIVERGE_FACTOR * first:
        return "diverged"
    if final > first:
        return "rising"
    if final > (1 - STUCK_DECREASE) * first:
        return "stuck"
    return "learning"
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_diagnose", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
assert diagnose([1.0, float("nan")]) == "diverged"
assert diagnose([1.0, 1.9]) == "rising", "a loss that went up, but not past 2x the first, is 'rising'"
assert diagnose([1.0, 0.999]) == "stuck"
assert diagnose([1.0, 0.5]) == "learning"
# Three real runs (seed 0, as in the sweep), made here so that this check does not need the sweep.
_x, _y = create_dataset(1000, 100, generator=torch.Generator().manual_seed(0))
_labels = {}
for _lr in (10, 0.1, 1e-5):
    torch.manual_seed(0)
    _labels[_lr] = diagnose(train(Model(), _x, _y, _lr))
print(_labels, "(measured over 10 seeds with correct code: 'diverged', 'learning' and 'stuck' on every seed)")


# %% nbgrader={"grade_id": "hidden_diagnose", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): labels of clear-cut loss sequences (all four labels) and of real runs at lr = 10, 1, 0.1 and 1e-5
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ## 2. Rules of thumb
#
# 1. Start with Adam at a learning rate of 0.001.
# 2. Use **He normal** initialisation for ReLU units and **Glorot normal** for tanh units.
#
# Let $n$ be the *fan-in* (inputs to a unit) and $m$ the *fan-out*. For a `Linear` weight of shape
# `(out_features, in_features)`, $n$ = `in_features` and $m$ = `out_features`. For a `Conv2d`
# weight of shape `(out_channels, in_channels, kH, kW)`, each unit sees a whole kernel window:
# $n$ = `in_channels * kH * kW` and $m$ = `out_channels * kH * kW`.
#
# * He: $w \sim \mathcal{N}\left(0, \sigma^2\right)$ with $\sigma = \sqrt{2/n}$.
# * Glorot: $w \sim \mathcal{N}\left(0, \sigma^2\right)$ with $\sigma = \sqrt{2/(n + m)}$.
#
# (The formulas give the **standard deviation**.) Write `he_normal_(tensor, generator=None)` and
# `glorot_normal_(tensor, generator=None)`. Like PyTorch's `torch.nn.init` functions they fill
# `tensor` **in place** and return it; draw with `generator` so results are reproducible.
# Draw the numbers yourself (for example with `tensor.normal_(mean, std, generator=generator)`):
# an initialiser that calls `torch.nn.init.kaiming_normal_`, `xavier_normal_` or another of their
# `kaiming_*` / `xavier_*` functions scores 0.
# A bad initialisation causes the same symptoms as a bad learning rate, and is much harder to spot.
#
# **What the hidden tests check**, on `Linear` weights of shapes (20, 2000) and (2000, 20) and a
# `Conv2d` weight of shape (8, 16, 5, 5): that the values you write have the formula's standard
# deviation and mean 0 (each to within about 6 standard errors of its estimate) and are normally
# distributed (the share within one standard deviation is 0.683, to within about 6 standard errors);
# a correct initialiser fails these with a probability below one in a million. Then, that the tensor
# you are given is filled in place and returned; and that the same `generator` seed gives the same
# values whatever state PyTorch's global random generator is in. They do **not** compare your values
# with one particular draw, so any normal draw made with `generator` is right: `tensor.normal_`,
# `torch.randn(..., generator=generator)` scaled and copied in, or `torch.nn.init.normal_(tensor,
# 0, std, generator=generator)` (a plain normal draw, not He or Glorot, so it is allowed). So is
# `torch.nn.init._calculate_fan_in_and_fan_out` for the fans. `_fans` is a helper for your two
# initialisers and is not graded on its own: a wrong fan shows up as a wrong standard deviation.

# %% nbgrader={"grade_id": "initialisers", "solution": true} tags=["module"]
def _fans(tensor):
    """(fan_in, fan_out) of a Linear (out, in) or Conv (out, in, *kernel) weight."""
    ### BEGIN SOLUTION
    receptive_field = tensor[0][0].numel() if tensor.dim() > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field
    ### END SOLUTION


def he_normal_(tensor, generator=None):
    """Fill `tensor` in place with N(0, 2 / fan_in) samples and return it."""
    ### BEGIN SOLUTION
    fan_in, _ = _fans(tensor)
    with torch.no_grad():
        return tensor.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
    ### END SOLUTION


def glorot_normal_(tensor, generator=None):
    """Fill `tensor` in place with N(0, 2 / (fan_in + fan_out)) samples and return it."""
    ### BEGIN SOLUTION
    fan_in, fan_out = _fans(tensor)
    with torch.no_grad():
        return tensor.normal_(0.0, math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_initialisers", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_w = torch.empty(256, 512)
assert he_normal_(_w) is _w, "he_normal_ should return the tensor it filled"
print(f"He on Linear(512->256): std {_w.std():.4f} (formula {math.sqrt(2 / 512):.4f})")
_w = torch.empty(256, 512)
glorot_normal_(_w)
print(f"Glorot on Linear(512->256): std {_w.std():.4f} (formula {math.sqrt(2 / 768):.4f})")

# %% nbgrader={"grade_id": "hidden_he", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): He: std, mean and normality on Linear and Conv weights, in place, with the generator, without torch.nn.init's kaiming_* / xavier_*
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_glorot", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): Glorot: std, mean and normality on Linear and Conv weights, in place, with the generator, without torch.nn.init's kaiming_* / xavier_*
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown] nbgrader={"grade_id": "q_init", "task": true, "locked": true, "points": 2}
# **Question 3.** Why does He initialisation use $2/n$ while Glorot uses $2/(n+m)$? Say what each
# keeps constant from layer to layer, and what goes wrong in a deep ReLU network whose weights are
# drawn with a standard deviation far larger or far smaller than these.
#
# *(2 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: He keeps the variance of the activations (forward signal) constant through ReLU layers;
#   ReLU zeroes half of its inputs, halving the second moment, so the variance needs the factor 2
#   over fan-in. Glorot balances forward (fan-in) and backward (fan-out) variance for symmetric
#   activations such as tanh, hence the average of n and m.
# - 1 point: too large → activations and gradients explode layer after layer (or tanh/sigmoid
#   saturate and gradients vanish); too small → activations and gradients shrink to zero, training
#   stalls, just like a bad learning rate.
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*
