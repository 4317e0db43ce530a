"""Find MNIST on disk and lay it out the way torchvision expects.

Course machines are often offline, so `torchvision.datasets.MNIST(download=True)`
cannot be relied on. Instead, point the kit at a folder that holds the four IDX
files (gzip-compressed or raw) with the `MNIST_ROOT` environment variable or a
`--mnist-root` flag. `mnist_root()` checks each file against the well-known MD5
of the *uncompressed* original and fills `<cache>/MNIST/raw/`, so that
`torchvision.datasets.MNIST(root=<cache>, download=False)` just works.

With no folder given, torchvision's own download is used.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from pathlib import Path

ENV_VAR = "MNIST_ROOT"
CACHE_ENV_VAR = "NNKIT_DATA_CACHE"

# MD5 of the original, uncompressed IDX files (torchvision lists the same values).
RAW_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


class MnistNotFound(RuntimeError):
    """MNIST could not be found or verified; the message says how to fix it."""


def _md5(path: Path, opener=open) -> str:
    digest = hashlib.md5()
    with opener(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _default_cache() -> Path:
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "nnkit")


def fill_torchvision_layout(source: Path, cache: Path | None = None) -> Path:
    """Copy (decompressing if needed) the verified IDX files from `source`
    into `<cache>/MNIST/raw/` and return `cache`, the torchvision root."""
    source = Path(source).expanduser()
    if not source.is_dir():
        raise MnistNotFound(
            f"MNIST folder {source} does not exist. Set {ENV_VAR} (or pass --mnist-root) "
            "to a folder holding the four MNIST IDX files, gzipped or raw.")
    cache = Path(cache or _default_cache()).expanduser()
    raw_dir = cache / "MNIST" / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    for name, expected in RAW_MD5.items():
        target = raw_dir / name
        if target.exists() and _md5(target) == expected:
            continue
        raw, packed = source / name, source / f"{name}.gz"
        if raw.exists():
            found, opener = raw, open
        elif packed.exists():
            found, opener = packed, gzip.open
        else:
            raise MnistNotFound(
                f"{name}(.gz) is missing from the MNIST folder {source}. It needs "
                f"{', '.join(RAW_MD5)} (each raw or .gz).")
        actual = _md5(found, opener)
        if actual != expected:
            raise MnistNotFound(
                f"{found} is corrupt: its uncompressed MD5 is {actual}, expected {expected}. "
                "Replace it with a fresh copy of MNIST.")
        partial = target.with_suffix(".partial")
        with opener(found, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        partial.replace(target)
    return cache


def mnist_root(folder: str | os.PathLike | None = None, cache: str | os.PathLike | None = None) -> tuple[Path, bool]:
    """Resolve MNIST: return `(torchvision_root, download)`.

    `folder` (or `$MNIST_ROOT`) names a folder of IDX files; it is verified and
    copied into torchvision's layout, and `download` is False. With neither,
    torchvision downloads into `cache` and `download` is True.
    """
    folder = folder or os.environ.get(ENV_VAR)
    if folder:
        return fill_torchvision_layout(Path(folder), Path(cache) if cache else None), False
    return Path(cache or _default_cache()).expanduser(), True


def load_mnist_datasets(folder=None, transform=None):
    """(train_set, test_set) as torchvision datasets, resolved with `mnist_root`."""
    import torchvision

    root, download = mnist_root(folder)
    try:
        train = torchvision.datasets.MNIST(root=root, train=True, download=download, transform=transform)
        test = torchvision.datasets.MNIST(root=root, train=False, download=download, transform=transform)
    except (RuntimeError, OSError) as error:
        raise MnistNotFound(
            f"Could not download MNIST into {root} ({error}). If this machine is offline, "
            f"set {ENV_VAR}=/path/to/mnist (a folder with the four IDX files) "
            "or pass --mnist-root.") from error
    return train, test
