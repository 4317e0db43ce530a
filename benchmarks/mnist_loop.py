"""Seconds per MNIST training epoch: the seed tutorial's loop, the minimal preloaded loop, and the kit's paths.

    python benchmarks/mnist_loop.py [--repeats 3] [--threads 1]

Every path trains the seed's network (784-200-100-10 with ReLU, SGD lr 0.01, no momentum) for one
epoch over the 60,000 training images in shuffled batches of 100; only where the batches come from
differs:

* seed:     torchvision's MNIST with `transforms.Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])`
            through `DataLoader(batch_size=100, shuffle=True)`, as the seed tutorial wrote it: every image
            is converted and normalised again in every epoch, one at a time;
* minimal:  the images normalised once into one tensor; each epoch a `randperm`, and every batch one
            indexing call. The floor that the issue measures the others against;
* plain:    the same normalised tensors in a `TensorDataset`, through `DataLoader(batch_size=100,
            shuffle=True)`: the DataLoader fetches one sample at a time and stacks them;
* notebook: the loaders returned by ps2's reference `load_mnist` (read from the source notebook), which
            the notebook's weight-decay sweep trains with;
* graders:  `tensor_loader` of ps2's hidden graders (`grader_tests/ps2_regularization/ps2_reference.py`).

The paths run in turn, `--repeats` times; the table gives each one's fastest epoch and its ratio to the
minimal loop. Everything runs in this one process on one thread (as the notebooks and the graders run;
the DataLoaders have no worker processes), so the process's CPU time is what an epoch costs, and it
is far less disturbed than wall time when other work shares the machine: the ratios use CPU time, and
wall time is shown beside it. Target: notebook and graders <= 1.3x the minimal loop.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "source" / "ps2_regularization" / "regularization.ipynb"
GRADERS = ROOT / "grader_tests" / "ps2_regularization"
BATCH, LR, MEAN, STD = 100, 0.01, 0.1307, 0.3081
TARGET = 1.3


def make_model():
    import torch

    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 200), torch.nn.ReLU(),
                               torch.nn.Linear(200, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))


def train_epoch(batches) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one training epoch over `batches`, data loading included."""
    import torch

    torch.manual_seed(0)
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.0)
    start, cpu_start = time.perf_counter(), time.process_time()
    seen = 0
    for x, y in batches:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(y)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if seen != 60_000:
        raise SystemExit(f"an epoch saw {seen} images instead of 60000: the benchmark compares unequal work.")
    return cpu, wall


def seed_loader():
    import torch
    import torchvision
    from torchvision import transforms

    from nnkit.data import mnist_root

    root, download = mnist_root()
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    train_set = torchvision.datasets.MNIST(root=root, train=True, download=download, transform=transform)
    return torch.utils.data.DataLoader(train_set, batch_size=BATCH, shuffle=True)


def minimal_batches():
    """A fresh epoch of the minimal loop each time it is iterated."""
    import torch
    import torchvision

    from nnkit.data import mnist_root

    root, download = mnist_root()
    raw = torchvision.datasets.MNIST(root=root, train=True, download=download)
    x = ((raw.data.float() / 255 - MEAN) / STD).unsqueeze(1)
    y = raw.targets

    class Epoch:
        def __init__(self):
            self.x, self.y = x, y

        def __iter__(self):
            order = torch.randperm(len(y))
            for start in range(0, len(y), BATCH):
                index = order[start:start + BATCH]
                yield x[index], y[index]
    return Epoch()


def plain_loader():
    import torch

    epoch = minimal_batches()
    dataset = torch.utils.data.TensorDataset(epoch.x, epoch.y)
    return torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True)


def notebook_loader():
    """ps2's reference `load_mnist`, with the given cells it needs, executed from the source notebook."""
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace: dict = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in ("imports", "load_mnist"):
            exec(compile(cell.source, f"{NOTEBOOK.name}:{grade_id}", "exec"), namespace)
    if "load_mnist" not in namespace:
        raise SystemExit(f"{NOTEBOOK} has no `load_mnist` cell (grade_id load_mnist): the benchmark reads it from there.")
    data_loaders = namespace["load_mnist"](BATCH)[0]
    return data_loaders["train"]


def grader_loader():
    sys.path.insert(0, str(GRADERS))
    from ps2_reference import mnist_tensors, tensor_loader

    train_x, train_y, _, _ = mnist_tensors(60_000, 10_000)
    return tensor_loader(train_x, train_y, batch_size=BATCH, shuffle=True)


PATHS = {"seed": seed_loader, "minimal": minimal_batches, "plain": plain_loader, "notebook": notebook_loader,
         "graders": grader_loader}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="epochs per path (the fastest counts)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the notebooks and graders use 1)")
    parser.add_argument("--skip-seed", action="store_true", help="leave out the slow seed loop (about 10x the others)")
    args = parser.parse_args()
    if not os.environ.get("MNIST_ROOT"):
        raise SystemExit("Set MNIST_ROOT to a folder with the four MNIST IDX files.")
    import torch
    from tqdm.auto import tqdm

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    names = [n for n in PATHS if not (args.skip_seed and n == "seed")]
    loaders = {name: PATHS[name]() for name in names}
    seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    with tqdm(total=args.repeats * len(names), desc="epochs", unit="epoch") as progress:
        for _ in range(args.repeats):
            for name in names:  # interleaved, so that a busy spell on the machine hits every path
                seconds[name].append(train_epoch(loaders[name]))
                progress.update()
    floor = min(cpu for cpu, _ in seconds["minimal"])
    print(f"\nOne epoch (60,000 images, batch {BATCH}, 784-200-100-10, SGD) on {args.threads} thread(s), "
          f"fastest of {args.repeats}:")
    print(f"{'path':<10}{'CPU s':>8}{'x minimal':>11}{'wall s':>9}   all runs, CPU s")
    worst = 0.0
    for name in names:
        best = min(cpu for cpu, _ in seconds[name])
        ratio = best / floor
        if name in ("notebook", "graders"):
            worst = max(worst, ratio)
        print(f"{name:<10}{best:>8.3f}{ratio:>10.2f}x{min(w for _, w in seconds[name]):>9.2f}   "
              + ", ".join(f"{cpu:.2f}" for cpu, _ in seconds[name]))
    verdict = "OK" if worst <= TARGET else "TOO SLOW"
    print(f"kit paths / minimal: at most {worst:.2f}x (target <= {TARGET}x): {verdict}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
