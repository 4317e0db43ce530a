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
