"""MNIST resolution: a data folder fills torchvision's layout; problems say what to do."""
import gzip
import shutil

import pytest

from nnkit.data import RAW_MD5, MnistNotFound, fill_torchvision_layout, load_mnist_datasets, mnist_root


def test_gz_folder_fills_torchvision_layout(mnist_folder, tmp_path):
    root = fill_torchvision_layout(mnist_folder, tmp_path / "cache")
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(RAW_MD5)


def test_torchvision_loads_the_filled_layout(mnist_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_ROOT", str(mnist_folder))
    monkeypatch.setenv("NNKIT_DATA_CACHE", str(tmp_path / "cache"))
    train, test = load_mnist_datasets()
    assert (len(train), len(test)) == (60000, 10000)
    image, label = train[0]
    assert image.size == (28, 28) and label == 5  # MNIST's first training digit is a 5


def test_raw_files_work_too(mnist_folder, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in RAW_MD5:
        with gzip.open(mnist_folder / f"{name}.gz") as src, open(raw / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    root, download = mnist_root(raw, tmp_path / "cache")
    assert not download and (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()


def test_a_corrupt_file_is_named(mnist_folder, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(mnist_folder, bad)
    with gzip.open(bad / "t10k-labels-idx1-ubyte.gz", "wb") as handle:
        handle.write(b"not mnist")
    with pytest.raises(MnistNotFound, match="t10k-labels-idx1-ubyte.gz is corrupt"):
        fill_torchvision_layout(bad, tmp_path / "cache")


def test_missing_folder_and_missing_file_say_how_to_fix(tmp_path):
    with pytest.raises(MnistNotFound, match="MNIST_ROOT"):
        fill_torchvision_layout(tmp_path / "nowhere", tmp_path / "cache")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MnistNotFound, match="train-images-idx3-ubyte.*missing"):
        fill_torchvision_layout(tmp_path / "empty", tmp_path / "cache")


def test_no_folder_means_download(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_ROOT", raising=False)
    root, download = mnist_root(None, tmp_path)
    assert download and root == tmp_path


def test_offline_download_failure_explains_mnist_root(monkeypatch, tmp_path):
    import torchvision

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")
    monkeypatch.delenv("MNIST_ROOT", raising=False)
    monkeypatch.setenv("NNKIT_DATA_CACHE", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(MnistNotFound, match="MNIST_ROOT"):
        load_mnist_datasets()


def _write_idx(folder, name, array, packed=True):
    """An IDX file (big-endian header: 0, 0, dtype 0x08 = uint8, number of dimensions, sizes)."""
    import struct

    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype("uint8").tobytes()
    if packed:
        with gzip.open(folder / f"{name}.gz", "wb") as handle:
            handle.write(data)
    else:
        (folder / name).write_bytes(data)


def _fake_mnist(folder):
    """Four small, well-formed IDX files that are not MNIST: 8 training and 4 test images."""
    import numpy as np

    folder.mkdir()
    rng = np.random.default_rng(0)
    _write_idx(folder, "train-images-idx3-ubyte", rng.integers(0, 256, (8, 28, 28)))
    _write_idx(folder, "train-labels-idx1-ubyte", rng.integers(0, 10, (8,)))
    _write_idx(folder, "t10k-images-idx3-ubyte", rng.integers(0, 256, (4, 28, 28)))
    _write_idx(folder, "t10k-labels-idx1-ubyte", rng.integers(0, 10, (4,)))
    return folder


def test_a_cached_folder_never_answers_for_another_folder(mnist_folder, tmp_path, monkeypatch):
    """Issue 10e: once the cache held real MNIST, a folder of four small IDX files got the real 60,000
    images back. The cache is keyed by content: the other folder is verified, and refused by name."""
    cache = tmp_path / "cache"
    root, _ = mnist_root(mnist_folder, cache)
    assert (root / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()
    fake = _fake_mnist(tmp_path / "fake")
    with pytest.raises(MnistNotFound, match=f"{fake}.*must hold the original files"):
        mnist_root(fake, cache)
    monkeypatch.setenv("MNIST_ROOT", str(fake))
    monkeypatch.setenv("NNKIT_DATA_CACHE", str(cache))
    with pytest.raises(MnistNotFound, match=str(fake)):
        load_mnist_datasets()
    assert mnist_root(mnist_folder, cache) == (cache, False)  # the real folder still resolves


def test_a_file_changed_in_place_is_verified_again(mnist_folder, tmp_path):
    """The remembered MD5s are keyed by each file's stat signature, so rewriting a file re-checks it."""
    folder = tmp_path / "copy"
    shutil.copytree(mnist_folder, folder)
    fill_torchvision_layout(folder, tmp_path / "cache")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz", "wb") as handle:
        handle.write(b"\0\0\x08\x01\0\0\0\x01\x07")
    with pytest.raises(MnistNotFound, match="t10k-labels-idx1-ubyte.gz is corrupt"):
        fill_torchvision_layout(folder, tmp_path / "cache")
