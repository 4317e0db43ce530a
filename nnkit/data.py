"""Find MNIST on disk and lay it out the way torchvision expects.

Course machines are often offline, so `torchvision.datasets.MNIST(download=True)`
cannot be relied on. Instead, point the kit at a folder that holds the four IDX
files (gzip-compressed or raw) with the `MNIST_ROOT` environment variable or a
`--mnist-root` flag. `mnist_root()` checks each file against the well-known MD5
of the *uncompressed* original and fills `<cache>/MNIST/raw/`, so that
`torchvision.datasets.MNIST(root=<cache>, download=False)` just works.

The cache only ever holds the files with those MD5s, so it is keyed by content: the
folder given is verified on *every* call (a folder that is not MNIST is refused,
never answered from an earlier folder's cache). Hashing ~55 MB takes about half a
second, so a verified file's stat signature (path, size, mtime, inode) is remembered,
in the process and in `<cache>/MNIST/.verified.json`; a file that changes or
moves is hashed again.

With no folder given, torchvision's own download is used. The ps2 and ps3 notebooks' given helper
`mnist_location` calls `mnist_root` where nnkit is installed (grading) and applies the same rule
itself elsewhere (a student's laptop, Colab), without the MD5 check.
"""
from __future__ import annotations

import gzip
import hashlib
import json
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


VERIFIED_RECORD = ".verified.json"


class MnistNotFound(RuntimeError):
    """MNIST could not be found or verified; the message says how to fix it."""


def _md5(path: Path, opener=open) -> str:
    digest = hashlib.md5()
    with opener(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class VerifiedFiles:
    """Uncompressed MD5s of files, remembered by stat signature so that each file is hashed once.

    The signature is (resolved path, size, mtime in ns, inode): rewriting or replacing a file
    changes it, and a different folder never shares it, so a remembered MD5 is always the MD5
    of the file as it is now. `record` (a JSON file, optional) carries them across processes;
    it is read if present and written when it can be (a sandboxed reader cannot, and need not).
    """

    def __init__(self):
        self.known: dict[str, str] = {}
        self.loaded: set[Path] = set()

    @staticmethod
    def signature(path: Path) -> str:
        stat = path.stat()
        return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"

    def load(self, record: Path) -> None:
        if record in self.loaded:
            return
        self.loaded.add(record)
        try:
            self.known.update({k: v for k, v in json.loads(record.read_text()).items() if isinstance(v, str)})
        except (OSError, ValueError, AttributeError):
            pass  # no record yet, or an unreadable one: hash again

    def md5(self, path: Path, opener=open) -> str:
        key = self.signature(path) + ("|gunzip" if opener is not open else "")
        if key not in self.known:
            self.known[key] = _md5(path, opener)
        return self.known[key]

    def save(self, record: Path) -> None:
        try:
            partial = record.with_suffix(f".{os.getpid()}.partial")
            partial.write_text(json.dumps(self.known, indent=0))
            partial.replace(record)
        except OSError:
            pass  # a read-only cache (the sandbox): the next process hashes again


_VERIFIED = VerifiedFiles()


def _default_cache() -> Path:
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "nnkit")


def fill_torchvision_layout(source: Path, cache: Path | None = None) -> Path:
    """Verify the IDX files in `source`, copy them (decompressing if needed) into
    `<cache>/MNIST/raw/` unless the cache already holds them, and return `cache`, the
    torchvision root.

    `source` is verified on every call, before the cache is looked at: the cache holds only
    files with the MD5s of `RAW_MD5`, so it can stand in for `source` only once `source` is
    known to hold the same content.
    """
    source = Path(source).expanduser()
    if not source.is_dir():
        raise MnistNotFound(
            f"MNIST folder {source} does not exist. Set {ENV_VAR} (or pass --mnist-root) "
            "to a folder holding the four MNIST IDX files, gzipped or raw.")
    cache = Path(cache or _default_cache()).expanduser()
    raw_dir = cache / "MNIST" / "raw"
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MnistNotFound(f"Cannot create the MNIST cache folder {raw_dir} ({error}). Set {CACHE_ENV_VAR} "
                            "to a writable folder.") from None
    record = raw_dir.parent / VERIFIED_RECORD  # beside raw/, which torchvision lists
    _VERIFIED.load(record)
    found = {name: _verified_source(source, name, expected) for name, expected in RAW_MD5.items()}
    for name, expected in RAW_MD5.items():
        target = raw_dir / name
        if target.exists() and _VERIFIED.md5(target) == expected:
            continue
        path, opener = found[name]
        # One partial file per process: parallel graders (nnkit batch, pytest -n) may fill the cache at once.
        partial = target.with_suffix(f".partial-{os.getpid()}")
        with opener(path, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        partial.replace(target)
        if _VERIFIED.md5(target) != expected:  # the source changed while it was being copied
            raise MnistNotFound(f"{path} changed while it was copied into {raw_dir}; run again.")
    _VERIFIED.save(record)
    return cache


def _verified_source(source: Path, name: str, expected: str):
    """(path, opener) of `name` in `source`, raw or gzipped, after checking its uncompressed MD5."""
    raw, packed = source / name, source / f"{name}.gz"
    if raw.exists():
        found, opener = raw, open
    elif packed.exists():
        found, opener = packed, gzip.open
    else:
        raise MnistNotFound(
            f"{name}(.gz) is missing from the MNIST folder {source}. It needs "
            f"{', '.join(RAW_MD5)} (each raw or .gz).")
    try:
        actual = _VERIFIED.md5(found, opener)
    except (OSError, EOFError) as error:  # unreadable, or a truncated / non-gzip .gz
        actual = f"unreadable ({type(error).__name__})"
    if actual != expected:
        raise MnistNotFound(
            f"{found} is corrupt or not the original MNIST file: its uncompressed MD5 is {actual}, expected "
            f"{expected}. The MNIST folder {source} must hold the original files; replace it with a fresh copy.")
    return found, opener


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
