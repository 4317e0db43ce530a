"""Reference results that every hand-in's graders would compute again: computed once, then read.

Some graders judge the student's code on runs of the reference solution: "label these three
training curves" (ps1's `diagnose`, ps4's `is_overfitting`). Those runs are the same for every
student, so a class of 300 paid for them 300 times (ps4's were 7.7 s of its 20 s of graders).

    @cached_reference
    def reference_history(dataset, seed, **protocol): ...

The first call computes and stores the result; later calls, in any grader process of any course on
this machine, read it. A result is found again only under the same key, a SHA-256 of

* the function's module and name, and the `repr` of its arguments (they must be plain values:
  numbers, strings, tuples, a device; a tensor or model argument is refused, since its `repr` does
  not say all of it);
* the text of every `.py` file in the grader's folder (the reference, the claims, the tests): a
  changed grader never reads an old result;
* torch's version, the thread count and the default dtype, which can change the last bits, and
  whether CUDA is emulated on the CPU (`nnkit.grading.device_emulation`), where "cuda:0" computes
  on the CPU.

Where: `$NNKIT_REFERENCE_CACHE`, else `$XDG_CACHE_HOME/nnkit/references` (`~/.cache/...`);
`NNKIT_REFERENCE_CACHE=off` computes every time. The checker writes there; student code never runs
in the checker, and its sandboxes (kernel and probe) cannot write outside their own temporary
folders. Results are read with `torch.load(weights_only=True)` (plain containers, numbers and
tensors only) and written whole (a temporary file renamed), so several graders can share the folder;
one that cannot be read is computed again.
"""
from __future__ import annotations

import functools
import hashlib
import os
import sys
import tempfile
from pathlib import Path

CACHE_ENV = "NNKIT_REFERENCE_CACHE"


def cache_folder() -> Path | None:
    """Where results are kept, or None when the cache is off."""
    chosen = os.environ.get(CACHE_ENV, "")
    if chosen.lower() in ("off", "0", "no", "false"):
        return None
    if chosen:
        return Path(chosen)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nnkit" / "references"


def _folder_fingerprint(folder: str) -> str:
    """Read at every call (a few small files, against seconds of training): a grader edited while a
    process runs is seen."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


_PLAIN = (int, float, str, bool, type(None))


def _plain(value) -> bool:
    import torch
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return isinstance(value, _PLAIN + (torch.device,))


def _emulating_cuda() -> bool:
    import torch
    from nnkit.grading.device_emulation import SecondDevice
    return any(isinstance(mode, SecondDevice) for mode in torch.overrides._get_current_function_mode_stack())


def cache_key(fn, args: tuple, kwargs: dict) -> str:
    import torch
    if not (_plain(args) and _plain(kwargs)):
        raise TypeError(f"{fn.__qualname__}: a cached reference takes plain arguments (numbers, strings, tuples, "
                        "a device), so that they name the result exactly")
    module = sys.modules[fn.__module__]
    parts = [fn.__module__, fn.__qualname__, repr(args), repr(sorted(kwargs.items())),
             _folder_fingerprint(str(Path(module.__file__).resolve().parent)),
             torch.__version__, str(torch.get_num_threads()), str(torch.get_default_dtype()), str(_emulating_cuda())]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _store(result, path: Path) -> None:
    import torch
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            temporary = handle.name
            torch.save(result, handle)
        os.replace(temporary, path)
    except OSError:  # a read-only or full disk costs time, never a verdict
        if temporary:
            Path(temporary).unlink(missing_ok=True)


def cached_reference(fn):
    """`fn`, whose results are kept in `cache_folder()` under `cache_key` (see the module's docstring)."""
    @functools.wraps(fn)
    def cached(*args, **kwargs):
        folder = cache_folder()
        if folder is None:
            return fn(*args, **kwargs)
        import torch
        path = folder / f"{fn.__qualname__}-{cache_key(fn, args, kwargs)[:40]}.pt"
        try:
            return torch.load(path, weights_only=True)
        except Exception:  # noqa: BLE001 - missing, half-written by an old version, or unreadable: compute it
            pass
        result = fn(*args, **kwargs)
        _store(result, path)
        return result
    return cached
