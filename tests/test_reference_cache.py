"""Reference runs computed once and read afterwards (nnkit/grading/reference_cache.py)."""
import importlib
import sys

import pytest
import torch

from nnkit.grading.reference_cache import CACHE_ENV, cache_folder

pytestmark = pytest.mark.check

GRADER = '''
from nnkit.grading.api import cached_reference
import torch

CALLS = []


@cached_reference
def reference_losses(seed, lr, device="cpu"):
    CALLS.append((seed, lr))
    g = torch.Generator().manual_seed(seed)
    return [float(v) * lr for v in torch.randn(5, generator=g)]


@cached_reference
def takes_a_tensor(x):
    return x
'''


@pytest.fixture
def grader(tmp_path, monkeypatch):
    """A grader folder of its own (its text is part of the key), imported fresh."""
    folder = tmp_path / "grader_tests" / "psX"
    folder.mkdir(parents=True)
    (folder / "psx_reference.py").write_text(GRADER)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(folder))

    def load():
        sys.modules.pop("psx_reference", None)
        return importlib.import_module("psx_reference")
    yield folder, load
    sys.modules.pop("psx_reference", None)


def test_a_result_is_computed_once_and_read_back_identical(grader, tmp_path):
    folder, load = grader
    first = load()
    expected = first.reference_losses(3, 0.5)
    again = load()                                  # another grader process, as far as the cache knows
    assert again.reference_losses(3, 0.5) == expected
    assert first.CALLS == [(3, 0.5)] and again.CALLS == []
    again.reference_losses(4, 0.5)
    again.reference_losses(3, 0.5, device=torch.device("cpu"))   # other arguments, another result
    assert again.CALLS == [(4, 0.5), (3, 0.5)]


def test_a_changed_grader_never_reads_an_old_result(grader):
    folder, load = grader
    load().reference_losses(3, 0.5)
    (folder / "claims.py").write_text("THRESHOLD = 0.2\n")    # any file of the grader's folder
    changed = load()
    changed.reference_losses(3, 0.5)
    assert changed.CALLS == [(3, 0.5)]


def test_an_unreadable_entry_is_computed_again(grader, tmp_path):
    _, load = grader
    expected = load().reference_losses(1, 1.0)
    for entry in (tmp_path / "cache").iterdir():
        entry.write_bytes(b"not a torch file")
    module = load()
    assert module.reference_losses(1, 1.0) == expected and module.CALLS == [(1, 1.0)]


def test_a_tensor_argument_is_refused(grader):
    _, load = grader
    with pytest.raises(TypeError, match="plain arguments"):
        load().takes_a_tensor(torch.zeros(2))


def test_off_computes_every_time_and_an_unwritable_folder_costs_no_verdict(grader, tmp_path, monkeypatch):
    _, load = grader
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_folder() is None
    module = load()
    module.reference_losses(2, 1.0)
    module.reference_losses(2, 1.0)
    assert module.CALLS == [(2, 1.0), (2, 1.0)]
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocked / "cache"))
    assert load().reference_losses(2, 1.0) == module.reference_losses(2, 1.0)
