"""ps2 and ps3 find MNIST with one given helper, `mnist_location`, under one rule (issue 22): a folder
(`root`, else $MNIST_ROOT) must hold the four files and is never downloaded into; with no folder,
torchvision downloads. The helper is copied into both notebooks; these tests keep the copies identical
and run the branch a student's laptop takes (no nnkit) as well as the one grading takes (nnkit)."""
import gzip
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [ROOT / "authoring/ps2_regularization/regularization.py", ROOT / "authoring/ps3_normalization/normalization.py"]
BEGIN, END = "# ---- MNIST on disk: this block is the same in problem sets 2 and 3 ----", "# ---- end of the MNIST block ----"
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _block(path: Path) -> str:
    text = path.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1, f"{path}: the MNIST block's markers are missing or doubled"
    return text[text.index(BEGIN):text.index(END)]


def test_ps2_and_ps3_carry_the_same_helper():
    first, second = (_block(path) for path in NOTEBOOKS)
    assert first == second, "the MNIST block differs between ps2 and ps3: copy one over the other"


def _helper(monkeypatch, with_nnkit: bool):
    """mnist_location as the notebook defines it; without nnkit, as on a student's laptop."""
    if not with_nnkit:
        monkeypatch.setitem(sys.modules, "nnkit.data", None)  # `from nnkit.data import ...` raises ImportError
    namespace = {}
    exec("import gzip, os, shutil\n" + _block(NOTEBOOKS[0]), namespace)
    return namespace["mnist_location"]


def _fake_folder(folder: Path, gzipped=True, leave_out=()):
    folder.mkdir()
    for name in FILES:
        if name in leave_out:
            continue
        if gzipped:
            with gzip.open(folder / f"{name}.gz", "wb") as handle:
                handle.write(name.encode())
        else:
            (folder / name).write_bytes(name.encode())
    return folder


@pytest.mark.parametrize("gzipped", [True, False])
def test_without_nnkit_a_folder_is_copied_uncompressed_and_never_downloaded(tmp_path, monkeypatch, gzipped):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MNIST_ROOT", raising=False)
    location = _helper(monkeypatch, with_nnkit=False)
    assert location(str(_fake_folder(tmp_path / "mnist", gzipped))) == ("data", False)
    assert all((tmp_path / "data/MNIST/raw" / name).read_bytes() == name.encode() for name in FILES)


def test_without_nnkit_mnist_root_is_honoured_and_no_folder_means_download(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    location = _helper(monkeypatch, with_nnkit=False)
    monkeypatch.delenv("MNIST_ROOT", raising=False)
    assert location() == ("data", True)
    monkeypatch.setenv("MNIST_ROOT", str(_fake_folder(tmp_path / "mnist")))
    assert location() == ("data", False)
    assert (tmp_path / "data/MNIST/raw/t10k-labels-idx1-ubyte").is_file()


def test_without_nnkit_a_missing_file_or_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    location = _helper(monkeypatch, with_nnkit=False)
    with pytest.raises(FileNotFoundError, match="has no t10k-images-idx3-ubyte"):
        location(str(_fake_folder(tmp_path / "partial", leave_out={"t10k-images-idx3-ubyte"})))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        location(str(tmp_path / "nowhere"))
    assert not (tmp_path / "data").exists(), "nothing may be copied from a folder that is not complete"


def test_a_changed_file_is_copied_again(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    location = _helper(monkeypatch, with_nnkit=False)
    folder = _fake_folder(tmp_path / "mnist", gzipped=False)
    location(str(folder))
    (folder / FILES[0]).write_bytes(b"newer")
    later = (tmp_path / "data/MNIST/raw" / FILES[0]).stat().st_mtime + 10
    os.utime(folder / FILES[0], (later, later))
    location(str(folder))
    assert (tmp_path / "data/MNIST/raw" / FILES[0]).read_bytes() == b"newer"


def test_the_laptop_branch_loads_real_mnist_with_torchvision(mnist_folder, tmp_path, monkeypatch):
    import torchvision

    monkeypatch.chdir(tmp_path)
    location = _helper(monkeypatch, with_nnkit=False)
    where, download = location(str(mnist_folder))
    test = torchvision.datasets.MNIST(where, train=False, download=download)
    assert len(test) == 10000 and not download


def test_the_grading_branch_follows_the_same_rule(mnist_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("NNKIT_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MNIST_ROOT", str(mnist_folder))
    location = _helper(monkeypatch, with_nnkit=True)
    where, download = location()
    assert not download and (Path(where) / "MNIST/raw/t10k-labels-idx1-ubyte").is_file()
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match="train-images-idx3-ubyte.*is missing"):
        location(str(tmp_path / "empty"))
