# %% [markdown]
# # Problem set 2: regularization and weight decay
#
# **Before you start.** You need Python 3 with `torch`, `torchvision`, `matplotlib` and `tqdm`
# (`pip install torch torchvision matplotlib tqdm`; this notebook was tested with torch 2.14.1,
# torchvision 0.29.1, matplotlib 3.11 and tqdm 4.70). On Google Colab all of them are already
# installed: open the notebook there and run it. No GPU is needed. The first run needs an internet
# connection to download MNIST (about 11 MB), unless you set the environment variable `MNIST_ROOT` to
# a folder that holds the four MNIST files (see `mnist_location` in the first code cell).
#
# **Run time.** Run the cells from top to bottom. With correct solutions, all the code cells of this
# notebook together took about 22 seconds in one measured run on a 2-core server, with MNIST already
# on disk, not counting the start of Python and the import of torch. Your laptop may be faster or a
# few times slower.

# %% [markdown]
# *Neural-network best practices.* Regularization fights overfitting, but too much of it makes a
# network **underfit**: it can no longer fit even its training set. A telltale sign of underfitting
# is training accuracy that does not climb towards 100%. In this notebook you will
#
# 1. load MNIST and write a small fully connected classifier,
# 2. write `run_epoch`, one pass of training or evaluation that reports the loss and accuracy,
# 3. sweep the weight decay of SGD over 10, 1 and 0.1 and watch the first two underfit completely,
# 4. write `l2_penalty` and `choose_weight_decay`, the "rule of thumb" for picking the strength of
#    L2 regularization, and try the value it suggests.
#
# **How you are graded.** Fill in every cell that says `YOUR CODE HERE` and every answer cell.
# The hidden tests grade the **solution cells** only, through what they define: `load_mnist`,
# `ClassificationModel`, `run_epoch`, `l2_penalty` and `choose_weight_decay`. They load those cells and
# the read-only given cells into a fresh module, outside this notebook, and run on several random
# seeds and on data you do not see; their verdict appears in your feedback. Cells you add yourself
# are **not loaded** by the hidden tests, except their top-level `import` statements: anything else a solution
# needs (a helper function, a constant) must be defined inside a solution cell. The *visible checks*
# below each exercise are quick sanity checks; passing them does not guarantee full marks. Written
# questions are marked by hand.
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
# **Implement it yourself.** In every problem set, a part that asks you to write something PyTorch
# already has scores 0 if it calls PyTorch's own version of it. Nothing in this notebook is such a
# part: use any PyTorch function you like.
#
# Do not rename the functions or delete cells.

# %% nbgrader={"grade_id": "imports", "locked": true} tags=["module"]
import gzip
import math
import os
import shutil

import torch
import torchvision
from torchvision import transforms

# Strong weight decay drives the weights towards zero. Once numbers fall below about 1e-38
# ("denormal" floats) many CPUs compute with them 10-100x more slowly. Flushing them to zero
# changes nothing that matters here and keeps the sweep fast.
torch.set_flush_denormal(True)

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


# %% [markdown]
# ## 1. Data and model
#
# ### 1.1 Loading MNIST
#
# Rule of thumb: **always normalise your inputs**, $x \mapsto (x - \mu)/\sigma$. For MNIST the
# pixel mean and standard deviation over the training set (after scaling pixels to $[0, 1]$) are
# $\mu = 0.1307$ and $\sigma = 0.3081$.
#
# The original tutorial normalised with torchvision's transforms,
# `transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])`, which the
# `DataLoader` applies to one image at a time, every time the image is drawn: 60,000 conversions of
# the same, unchanging images in every epoch. That is most of the time an epoch takes: for the
# network of section 3, on one CPU thread of our machine, a training epoch took 6.2 to 6.4 s that
# way, against 0.84 to 0.87 s with the images normalised once and batched as described below (about
# 7 times as long; the fastest of three epochs, in two runs). Hence a second rule of thumb: **do
# fixed preprocessing once**, and keep data that fits in memory as tensors. `ToTensor()` turns a
# 28 × 28 `uint8` image into a `float32` tensor of shape (1, 28, 28) with values in $[0, 1]$ (it
# divides by 255 and adds the channel dimension), and `Normalize` computes $(x - \mu)/\sigma$. For all the images of `mnist =
# torchvision.datasets.MNIST(...)` (created without a `transform`: `mnist.data` holds the raw pixels,
# of shape (N, 28, 28), and `mnist.targets` the labels) at once, that is
#
# ```python
# images = ((mnist.data.float() / 255 - 0.1307) / 0.3081).unsqueeze(1)   # (N, 1, 28, 28), float32
# ```
#
# Write `load_mnist(batch_size, root=None)`:
#
# * find the data with the given helper: `location, download = mnist_location(root)`, and pass
#   `root=location, download=download` to `torchvision.datasets.MNIST` (never download yourself);
# * normalise the images of **both** the training and the test set once, as above, and wrap each set
#   in a `torch.utils.data.TensorDataset(images, labels)`;
# * build a `torch.utils.data.DataLoader` for each that yields batches of `batch_size` samples: the
#   training loader **shuffles** (a new order every epoch), the test loader does **not** (so
#   evaluations are reproducible); keep every sample (no `drop_last`: the last batch may be smaller).
#   `DataLoader(dataset, batch_size=batch_size, shuffle=True)` would do, but it fetches `dataset[i]`
#   one sample at a time and stacks them, which for tensors already in memory made every training
#   epoch slower in the same measurement: 0.96 to 1.04 s against 0.84 to 0.87 s, a tenth to a
#   quarter longer.
#   Let a `BatchSampler` hand over a whole batch of indices instead, which a `TensorDataset` indexes
#   in one call (`batch_size=None` tells the loader that what it fetches is already a batch):
#
#   ```python
#   order = torch.utils.data.RandomSampler(dataset)     # SequentialSampler(dataset) for the test set
#   batches = torch.utils.data.BatchSampler(order, batch_size, drop_last=False)
#   loader = torch.utils.data.DataLoader(dataset, sampler=batches, batch_size=None)
#   ```
# * return the tuple `(data_loaders, dataset_sizes, height, width, channels, classes)`, where
#   `data_loaders = {"train": ..., "test": ...}`, `dataset_sizes` holds the number of **samples**
#   of each set (`{"train": 60000, "test": 10000}`), and `height`, `width`, `channels`, `classes`
#   are Python `int`s (28, 28, 1, 10). Read `height` and `width` from the data set's `.data`
#   tensor (the original tutorial used `.test_data`, which torchvision has deprecated).

# %% nbgrader={"grade_id": "load_mnist", "solution": true} tags=["module"]
def load_mnist(batch_size, root=None):
    """MNIST loaders with inputs normalised by the training-set mean 0.1307 and std 0.3081.

    Inputs:
    - batch_size: samples per batch, for both loaders
    - root: a folder holding the four MNIST files, or None for $MNIST_ROOT or a download (see mnist_location)

    Returns a tuple (data_loaders, dataset_sizes, height, width, channels, classes):
    - data_loaders: {"train": shuffled DataLoader, "test": unshuffled DataLoader}; each yields
      (x, y) with x of shape (n, 1, 28, 28), float32, and y of shape (n,), int64
    - dataset_sizes: {"train": 60000, "test": 10000}, numbers of samples
    - height, width, channels, classes: ints 28, 28, 1, 10
    """
    ### BEGIN SOLUTION
    location, download = mnist_location(root)
    data_loaders, dataset_sizes = {}, {}
    for phase in ("train", "test"):
        mnist = torchvision.datasets.MNIST(root=location, train=(phase == "train"), download=download)
        images = ((mnist.data.float() / 255 - 0.1307) / 0.3081).unsqueeze(1)  # once, not every epoch
        dataset = torch.utils.data.TensorDataset(images, mnist.targets)
        order = (torch.utils.data.RandomSampler(dataset) if phase == "train"
                 else torch.utils.data.SequentialSampler(dataset))
        batches = torch.utils.data.BatchSampler(order, batch_size, drop_last=False)
        data_loaders[phase] = torch.utils.data.DataLoader(dataset, sampler=batches, batch_size=None)
        dataset_sizes[phase] = len(dataset)
    height, width = mnist.data.shape[1:]
    channels, classes = 1, 10
    return data_loaders, dataset_sizes, int(height), int(width), channels, classes
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_load_mnist", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_loaders, _sizes, _h, _w, _c, _k = load_mnist(100)
_x, _y = next(iter(_loaders["test"]))
assert _sizes == {"train": 60000, "test": 10000}, f"dataset_sizes: {_sizes}"
assert (_h, _w, _c, _k) == (28, 28, 1, 10), f"height, width, channels, classes: {(_h, _w, _c, _k)}"
assert tuple(_x.shape) == (100, 1, 28, 28) and tuple(_y.shape) == (100,), f"batch shapes {tuple(_x.shape)}, {tuple(_y.shape)}"
print(f"first test batch: mean {_x.mean():.3f}, std {_x.std():.3f} (about 0 and 1 once normalised)")


# %% nbgrader={"grade_id": "hidden_load_mnist", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): the tuple, sizes and types; batch sizes; the exact normalised images; train shuffled and test in order; `root` is used
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ### 1.2 The classifier
#
# Write `ClassificationModel(height, width, channels, n_classes)`: a fully connected network that
# flattens each image to a vector of `height * width * channels` numbers, then applies
# `Linear(height * width * channels, 200)`, ReLU, `Linear(200, 100)`, ReLU, `Linear(100, n_classes)`.
# Name the layers `fc1`, `fc2`, `fc3`. The output is the raw scores (**logits**), with no softmax:
# `torch.nn.CrossEntropyLoss` applies log-softmax itself.

# %% nbgrader={"grade_id": "model", "solution": true} tags=["module"]
class ClassificationModel(torch.nn.Module):
    """(height * width * channels) -> 200 -> 100 -> n_classes, ReLU after the two hidden layers.

    Input:  x of shape (N, channels, height, width)
    Output: logits of shape (N, n_classes)
    """

    def __init__(self, height, width, channels, n_classes):
        super().__init__()
        ### BEGIN SOLUTION
        self.fc1 = torch.nn.Linear(height * width * channels, 200)
        self.fc2 = torch.nn.Linear(200, 100)
        self.fc3 = torch.nn.Linear(100, n_classes)
        self.relu = torch.nn.ReLU()
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = x.reshape(x.shape[0], -1)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)
        ### END SOLUTION


# %% nbgrader={"grade_id": "check_model", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_out = ClassificationModel(28, 28, 1, 10)(torch.randn(4, 1, 28, 28))
assert tuple(_out.shape) == (4, 10), f"expected logits of shape (4, 10), got {tuple(_out.shape)}"
print("ClassificationModel: output shape OK")


# %% nbgrader={"grade_id": "hidden_model", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): layer sizes for MNIST and for other image sizes, flattening, ReLU, raw logits
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ## 2. One epoch of training or evaluation
#
# The original tutorial trained with one long loop. Write it as a reusable function,
# `run_epoch(model, loader, criterion, optimizer=None, device="cpu")`, that makes one pass over
# `loader` and returns `(mean_loss, accuracy)`:
#
# * **training** (an `optimizer` is given): call `model.train()`; for each batch, move `x` and `y` to
#   `device`, compute the outputs and the loss, then `optimizer.zero_grad()`, `loss.backward()`,
#   `optimizer.step()`. Forgetting `zero_grad` makes PyTorch *add* each new gradient to the old ones.
# * **evaluation** (`optimizer=None`): call `model.eval()` (dropout and batch norm behave differently
#   at test time) and run every batch inside `with torch.no_grad():`, so that no gradient is computed
#   and nothing changes.
#
# Both numbers are averages over **samples**, not over batches: the last batch may be smaller than
# the others (here 60000 and 10000 are multiples of 100, but your function must not rely on it).
# `criterion` returns the *mean* loss of a batch, so weight it by the batch size. A batch's loss and
# predictions are those of its forward pass (in training, before the update), exactly as the
# original tutorial computed them.

# %% nbgrader={"grade_id": "run_epoch", "solution": true} tags=["module"]
def run_epoch(model, loader, criterion, optimizer=None, device="cpu"):
    """One pass over `loader`: a training epoch if `optimizer` is given, else an evaluation.

    With batches j = 1..m of n_j samples, N = n_1 + ... + n_m, l_j the criterion's value on
    batch j (a mean over its samples) and z_i the model's output (logits) for sample i:

        mean_loss = (1 / N) * sum_j n_j * l_j
        accuracy  = (1 / N) * #{i : argmax_c z_ic == y_i}

    Training: model.train(), then per batch zero_grad, backward, step; l_j and z_i come from
    the forward pass before the step. Evaluation: model.eval() and torch.no_grad(); no gradient
    is computed and no parameter changes.

    Inputs:
    - model: a torch.nn.Module on `device` that maps x to logits of shape (n, C)
    - loader: an iterable of batches (x, y), y of shape (n,) holding class indices
    - criterion: a loss returning the mean over the batch, e.g. torch.nn.CrossEntropyLoss()
    - optimizer: a torch.optim optimizer over model's parameters, or None to evaluate
    - device: where to move every batch

    Returns a tuple (mean_loss, accuracy) of Python floats.
    """
    ### BEGIN SOLUTION
    training = optimizer is not None
    model.train(training)
    total_loss, correct, count = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            outputs = model(x)
            loss = criterion(outputs, y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total_loss += loss.item() * x.shape[0]
            correct += (outputs.argmax(dim=1) == y).sum().item()
            count += x.shape[0]
    return total_loss / count, correct / count
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_run_epoch", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
torch.manual_seed(0)
_data = torch.utils.data.TensorDataset(torch.randn(10, 1, 2, 2), torch.randint(0, 3, (10,)))
_loader = torch.utils.data.DataLoader(_data, batch_size=4)  # batches of 4, 4 and 2 samples
_net = ClassificationModel(2, 2, 1, 3)
_before = [p.detach().clone() for p in _net.parameters()]
_loss, _acc = run_epoch(_net, _loader, torch.nn.CrossEntropyLoss())
assert isinstance(_loss, float) and isinstance(_acc, float), "run_epoch should return two Python floats"
assert abs(_acc * 10 - round(_acc * 10)) < 1e-9, "accuracy over 10 samples should be a multiple of 0.1"
assert all(torch.equal(b, p) for b, p in zip(_before, _net.parameters())), "evaluation changed the parameters"
run_epoch(_net, _loader, torch.nn.CrossEntropyLoss(), torch.optim.SGD(_net.parameters(), lr=0.1))
assert any(not torch.equal(b, p) for b, p in zip(_before, _net.parameters())), "training did not change the parameters"
print(f"run_epoch: evaluation loss {_loss:.3f}, accuracy {_acc:.1f}")

# %% nbgrader={"grade_id": "hidden_run_epoch_metrics", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): mean loss and accuracy over samples (uneven last batch), with the given criterion
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_run_epoch_eval", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): evaluation: eval mode, no gradients, parameters unchanged
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% nbgrader={"grade_id": "hidden_run_epoch_train", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): training: train mode and the same updates and numbers as SGD with zero_grad, step by step
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ## 3. Too much weight decay
#
# `torch.optim.SGD(..., weight_decay=wd)` adds $\mathrm{wd}\cdot\theta$ to the gradient of every
# parameter $\theta$ (weights **and** biases), so each step also shrinks every parameter by the
# factor $(1 - \mathrm{lr}\cdot\mathrm{wd})$. That is plain gradient descent on the regularised loss
#
# $$\mathcal{L} = \mathcal{L}_{\text{class}} + \frac{\mathrm{wd}}{2}\,\mathcal{L}_2, \qquad
# \mathcal{L}_2 = \sum_{\theta} \theta^2 ,$$
#
# since the gradient of $\frac{\mathrm{wd}}{2}\theta^2$ is $\mathrm{wd}\cdot\theta$.
# Large `wd` puts so much weight on small parameters that the network stops fitting the data:
# more regularization means less capacity.
#
# The next cell trains a fresh model (the same initial weights every time) for 3 epochs on all of
# MNIST with SGD (lr 0.01, no momentum, batches of 100) for each weight decay in 10, 1 and 0.1,
# and, as a baseline, with no weight decay at all. It is the notebook's longest cell: about 15 seconds
# of the 22 in the measured run described at the top.

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
import matplotlib.pyplot as plt
from tqdm.auto import tqdm

device = "cuda" if torch.cuda.is_available() else "cpu"
# set_flush_denormal (see the first cell) only applies to this thread; with one CPU thread the
# strongly decayed runs stay fast. This small network gains little from more threads anyway.
torch.set_num_threads(1)
batch_size, lr, epochs = 100, 0.01, 3
data_loaders, dataset_sizes, height, width, channels, classes = load_mnist(batch_size)
criterion = torch.nn.CrossEntropyLoss()


def train_with_weight_decay(wd, epochs=epochs, seed=0):
    # Returns (history, model); history[phase] is a list of (mean loss, accuracy), one per epoch.
    torch.manual_seed(seed)
    model = ClassificationModel(height, width, channels, classes).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0, weight_decay=wd)
    history = {"train": [], "test": []}
    for epoch in tqdm(range(epochs), desc=f"weight decay {wd}", leave=False):
        history["train"].append(run_epoch(model, data_loaders["train"], criterion, optimizer, device))
        history["test"].append(run_epoch(model, data_loaders["test"], criterion, device=device))
        print(f"wd={wd:<6} epoch {epoch + 1}: " + "  ".join(
            f"{phase} loss {history[phase][-1][0]:.4f} acc {history[phase][-1][1]:.4f}" for phase in history))
    return history, model


WEIGHT_DECAYS = [10, 1, 0.1, 0]
histories, models = {}, {}
for wd in WEIGHT_DECAYS:
    histories[wd], models[wd] = train_with_weight_decay(wd)

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
# The best accuracy a model can get while ignoring its input: always predict the most common class.
test_labels = torch.cat([y for _, y in data_loaders["test"]])
majority = torch.bincount(test_labels).max().item() / dataset_sizes["test"]


def plot_histories(histories):
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
    for wd, history in histories.items():
        for col, phase in enumerate(["train", "test"]):
            steps = range(1, len(history[phase]) + 1)
            axes[0, col].plot(steps, [loss for loss, _ in history[phase]], "o-", label=f"wd = {wd}")
            axes[1, col].plot(steps, [acc for _, acc in history[phase]], "o-", label=f"wd = {wd}")
    for col, phase in enumerate(["train", "test"]):
        axes[0, col].set(title=f"{phase} loss", ylabel="cross-entropy")
        axes[1, col].set(title=f"{phase} accuracy", ylabel="accuracy", xlabel="epoch", ylim=(0, 1))
        axes[1, col].axhline(majority, color="grey", ls="--", lw=1, label="majority class")
    axes[1, 1].legend(loc="center right")
    plt.tight_layout()
    plt.show()


plot_histories(histories)


# %% nbgrader={"grade_id": "hidden_wd_regimes", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): with your run_epoch (on a subset of MNIST, 2 epochs, several seeds): weight decay 10 and 1 end at chance level, 0.1 learns
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# **Measured over 10 seeds** (0 to 9) with a correct implementation of this notebook's functions and
# the protocol of the cell above: full MNIST, 3 epochs, SGD with lr 0.01 and no momentum, batches of
# 100, on a CPU. Those runs shuffled the training images in a different order from your `load_mnist`,
# so your seed-0 run is not one of the ten, and its numbers can differ slightly from all of them.
# "Train" accuracy is the running value `run_epoch` reports *during* the epoch; "test" is measured
# after it. Chance level here is the majority class: 11.2% of the training and 11.35% of the test images.
#
# * **wd = 10** underfits from the first steps: in every epoch the train accuracy is at most 10.9% and
#   the test accuracy at most 11.35%, and the loss stays at $\ln 10 \approx 2.30$. With lr 0.01 every
#   step multiplies all parameters by $1 - 0.01 \cdot 10 = 0.9$, so within a few dozen steps the
#   network outputs (almost) the same scores for every image.
# * **wd = 1** learns a little at first (epoch-1 train accuracy 12.1–18.4%, depending on the seed)
#   and then collapses too: the test accuracy is at most 11.35% after every epoch, and the train
#   accuracy is 11.2% in epochs 2 and 3.
# * **wd = 0.1** learns: after epoch 1, 67.7–74.4% train and 84.5–86.6% test accuracy; after epoch 3,
#   87.3–87.6% train and 87.8–88.3% test accuracy. The original tutorial's single run (76.7% train and
#   86.0% test accuracy after one epoch, 87.1% / 87.6% after three) is close to these ranges: its
#   epoch-1 test accuracy lies inside them, its epoch-1 train accuracy a little above, and both of
#   its epoch-3 accuracies a little below.
# * **wd = 0** (no regularization) reaches 91.2–91.5% train and 91.9–92.4% test accuracy after
#   3 epochs: on every seed it fits the training set better than wd = 0.1 does (by 3.7–4.0 points), so
#   wd = 0.1 already costs capacity, a first hint of underfitting. Whether wd = 0.1 would still reach
#   ~100% training accuracy given many more epochs, these 3 epochs cannot tell.
#
# Your own numbers will differ slightly; the regimes will not.

# %% [markdown] nbgrader={"grade_id": "q_underfit", "task": true, "locked": true, "points": 3}
# **Question 1.** Use your plots. (a) Why do wd = 10 and wd = 1 end at chance level on *both* the
# training and the test set, and what is the network predicting by then? (b) Why is this
# underfitting and not overfitting? (c) The original tutorial said that 0.1 "might still be too high"
# if after many epochs it has not passed 90% training accuracy. What would you look at to decide?
#
# *(3 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: each SGD step multiplies every parameter by (1 - lr·wd) = 0.9 (wd = 10) or 0.99 (wd = 1)
#   on top of the gradient step; the decay wins over the data gradient, the weights (and biases)
#   collapse to ~0, so the outputs barely depend on the input: the network predicts (nearly) the
#   same class for every image, and the accuracy is the frequency of that class (~10-11%).
# - 1 point: underfitting: the *training* accuracy is at chance too (no gap between train and test);
#   overfitting would show high training accuracy with a lower test accuracy. The model's effective
#   capacity is too small.
# - 1 point: compare training accuracy/loss with an unregularised run (here wd = 0 fits the training
#   set better after 3 epochs) and keep training: if the training accuracy plateaus well below ~100%
#   while the unregularised model keeps climbing, wd = 0.1 is too strong; reduce it.
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*

# %% [markdown]
# ## 4. Choosing the strength of L2 regularization
#
# Rules of thumb from the original tutorial:
#
# 1. Use **no regularization to begin with**: first make sure your model can fit the training data,
#    then worry about generalization.
# 2. Always normalise your inputs (you did, in `load_mnist`).
#
# If you do need L2 regularization, with a total loss $\mathcal{L}_{\text{class}} + \lambda\,\mathcal{L}_2$:
#
# 1. look at the range of the loss without regularization: find a bound $k$ with
#    $\mathcal{L}_{\text{class}} < k$ after a few epochs;
# 2. look at the size of $\mathcal{L}_2$ and choose $\lambda$ so that $\lambda\,\mathcal{L}_2 < k$.
#
# This makes sure the optimiser does not care more about small weights than about the task. It is a
# starting point, not an optimum: to squeeze out the last bit of performance, tune $\lambda$.
#
# **Be precise about what PyTorch does.** As section 3 showed, `SGD(weight_decay=wd)` minimises
# $\mathcal{L}_{\text{class}} + \frac{\mathrm{wd}}{2}\mathcal{L}_2$ with $\mathcal{L}_2$ summed over
# *all* parameters, biases included. So the tutorial's $\lambda$ is $\mathrm{wd}/2$, and the rule reads
#
# $$\frac{\mathrm{wd}}{2}\,\mathcal{L}_2 < k .$$
#
# **With Adam it is different: AdamW.** For SGD, `weight_decay=wd` and the penalty
# $\frac{\mathrm{wd}}{2}\mathcal{L}_2$ are one and the same. For Adam they are not: Adam divides each
# parameter's gradient, the penalty's share included, by a running estimate of that gradient's size, so
# parameters with large gradients are decayed less than the others. Loshchilov and Hutter ("Decoupled
# weight decay regularization", ICLR 2019), whom the original tutorial cites, shrink the weights directly
# instead, outside Adam's scaled step: $\theta \leftarrow \theta - \mathrm{lr}\cdot\mathrm{wd}\cdot\theta$;
# in PyTorch that is `torch.optim.AdamW`. This problem set stays with SGD, where the two coincide, and
# runs no AdamW experiment: it would need hidden tests and measurements of its own and make the notebook
# longer to run and to grade, for a point this paragraph already makes.
#
# ### 4.1 The L2 term
#
# Write `l2_penalty(model)`, which returns $\mathcal{L}_2 = \sum_\theta \theta^2$, the sum of the
# squares of every entry of every parameter in `model.parameters()` (weights and biases; buffers
# such as batch norm's running statistics are not parameters). Return a 0-dim tensor that stays in
# the autograd graph, so that `loss + wd / 2 * l2_penalty(model)` can be backpropagated: its
# gradient then adds exactly `wd * θ` to every parameter's gradient, as `weight_decay=wd` does.

# %% nbgrader={"grade_id": "l2_penalty", "solution": true} tags=["module"]
def l2_penalty(model):
    """L2 = sum over every parameter tensor P of model.parameters() of sum(P ** 2).

    Weights and biases count; buffers do not. Note: this is the squared norm, not the norm.
    The gradient of (wd / 2) * L2 with respect to a parameter theta is wd * theta, which is
    what torch.optim.SGD(weight_decay=wd) adds to theta's gradient.

    Returns a 0-dim tensor, differentiable with respect to the parameters.
    """
    ### BEGIN SOLUTION
    return sum((p ** 2).sum() for p in model.parameters())
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_l2_penalty", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
_layer = torch.nn.Linear(3, 2)
with torch.no_grad():
    _layer.weight.fill_(1.0)
    _layer.bias.fill_(-2.0)
_l2 = l2_penalty(_layer)
assert torch.is_tensor(_l2) and _l2.dim() == 0, "l2_penalty should return a 0-dim tensor"
assert abs(_l2.item() - 14.0) < 1e-6, f"Linear(3, 2) with weights 1 and biases -2: L2 = 6 * 1 + 2 * 4 = 14, got {_l2.item()}"
print("l2_penalty: OK")


# %% nbgrader={"grade_id": "hidden_l2_penalty", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): the value on models with several layers, biases and buffers; differentiable, with the gradient of weight decay
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# ### 4.2 The rule of thumb
#
# Write `choose_weight_decay(loss_bound, l2)`: given $k$ = `loss_bound` $> 0$ and
# $\mathcal{L}_2$ = `l2` $> 0$ (a float or a one-element tensor), return the **largest power of
# ten** $\mathrm{wd} = 10^n$ ($n$ an integer, possibly negative) with
#
# $$\frac{\mathrm{wd}}{2}\,\mathcal{L}_2 < k \qquad\text{(strictly)}.$$
#
# For example, $k = 5$ and $\mathcal{L}_2 = 1$ give $\mathrm{wd} = 1$: $10 \cdot 1/2 = 5$ is not
# below 5. Return a Python float. Mind floating point: $\log_{10}$ of an exact power of ten can come
# out a hair off, so check the inequality itself. Any way of writing it is right
# (`wd / 2 * l2 < k`, `wd * l2 / 2 < k`, `wd * l2 < 2 * k`, ..., with `l2` as a float or as the
# tensor you were given): where the hidden tests put $k$ exactly on the boundary, as in the example
# above, they use numbers for which every such form computes exactly, so the forms cannot disagree.

# %% nbgrader={"grade_id": "choose_weight_decay", "solution": true} tags=["module"]
def choose_weight_decay(loss_bound, l2):
    """The largest power of ten wd = 10**n (n an integer) with (wd / 2) * l2 < loss_bound.

    Inputs:
    - loss_bound: k > 0, a bound on the classification loss after a few epochs
    - l2: L2 > 0, the sum of squared parameters (a float or a one-element tensor)

    Returns wd as a Python float.
    """
    ### BEGIN SOLUTION
    k, l2 = float(loss_bound), float(l2)
    n = math.floor(math.log10(2.0 * k / l2))
    while 10.0 ** n * l2 / 2.0 >= k:
        n -= 1
    while 10.0 ** (n + 1) * l2 / 2.0 < k:
        n += 1
    return 10.0 ** n
    ### END SOLUTION


# %% nbgrader={"grade_id": "check_choose_weight_decay", "grade": true, "locked": true, "points": 0} tags=["visible-check"]
assert choose_weight_decay(5.0, 1.0) == 1.0, "k = 5, L2 = 1: wd = 10 gives exactly 5, which is not below 5"
assert abs(choose_weight_decay(0.3, 124.7) - 0.001) < 1e-12
print("choose_weight_decay: OK")

# %% nbgrader={"grade_id": "hidden_choose_weight_decay", "grade": true, "locked": true, "points": 2} tags=["hidden-grader"]
# Hidden tests (2 points): powers of ten above and below 1, the strict inequality at exact boundaries, the factor 1/2, tensor input
# They run outside this notebook when your work is graded; their verdict appears here in your feedback.

# %% [markdown]
# Now apply the rule to our network. As $k$ take the unregularised run's mean training loss in its
# last epoch (its loss keeps falling, so this bounds it from then on), and as $\mathcal{L}_2$ that
# run's final sum of squares. The cell also prints the penalty $\frac{\mathrm{wd}}{2}\mathcal{L}_2$
# that each swept weight decay puts on the *initial* weights, then trains with the weight decay the
# rule picks.

# %% tags=["experiment"]
# Experiment: not run again at grading; your feedback shows the output you hand in.
k = histories[0]["train"][-1][0]
l2_trained = l2_penalty(models[0]).item()
torch.manual_seed(0)
l2_init = l2_penalty(ClassificationModel(height, width, channels, classes)).item()
print(f"k = {k:.3f} (wd=0, last-epoch train loss); L2 = {l2_init:.1f} at initialisation, {l2_trained:.1f} after training")
for wd in [10, 1, 0.1]:
    print(f"wd = {wd:<4}: penalty wd/2 * L2 at initialisation = {wd / 2 * l2_init:8.2f}  (k = {k:.3f}; the loss at initialisation is ln 10 = 2.30)")
wd_rule = choose_weight_decay(k, l2_trained)
print(f"the rule picks wd = {wd_rule:g}")

histories[wd_rule], models[wd_rule] = train_with_weight_decay(wd_rule)
plot_histories({wd: histories[wd] for wd in [0.1, wd_rule, 0]})

# %% [markdown]
# **Measured** over the same 10 seeds, with the same protocol: $k$, the unregularised last-epoch training
# loss, is 0.294–0.303; $\mathcal{L}_2$ is 124.4–125.4 after training and 103.2–104.1 at initialisation.
# The rule picks **wd = 0.001 on every seed**, 100 times less than the smallest value of the sweep,
# and with it the test accuracy after 3 epochs is within 0.07 points of the unregularised run's (0 to
# −0.07 points): at this scale and in 3 epochs, the rule's weight decay neither helps nor hurts. Even
# wd = 0.1 starts with a penalty of about 5, more than twice the whole classification loss at
# initialisation ($\ln 10 \approx 2.30$).

# %% [markdown] nbgrader={"grade_id": "q_rule", "task": true, "locked": true, "points": 3}
# **Question 2.** (a) Use the printed penalties to explain the sweep in the light of the rule of thumb.
# (b) Why does the rule make sense, and why is it only a starting point? (c) Our $\mathcal{L}_2$ counts
# the biases because `weight_decay` decays them. Give one reason why many people exclude biases (and
# batch-norm parameters) from weight decay.
#
# *(3 points, graded by hand. Answer in the cell below.)*
#
# === BEGIN MARK SCHEME ===
#
# - 1 point: the penalties at initialisation (~520 for wd = 10, ~52 for wd = 1, ~5 for wd = 0.1) all
#   exceed the classification loss (~2.3 at the start, k ≈ 0.3 later), so the optimiser gains more by
#   shrinking the weights than by classifying: wd = 10 and 1 collapse, wd = 0.1 still learns but
#   underfits relative to wd = 0; the rule instead suggests 0.001.
# - 1 point: keeping λ·L2 below the loss scale means the regulariser cannot dominate the task; but
#   k and L2 change during training, and the best λ for generalisation has to be found by tuning it
#   on validation data (hyperparameter search around the suggested value).
# - 1 point: biases (and BN scale/shift) have few parameters, do not control the model's sensitivity
#   to its input (they shift, not scale), so penalising them reduces capacity without reducing
#   overfitting; decaying them can even hurt (e.g. forcing BN scales towards 0).
#
# === END MARK SCHEME ===

# %% [markdown]
# *Write your answer here.*
