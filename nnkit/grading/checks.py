"""What hidden graders use to judge a submission and to explain a failure.

A grader never shows its own source: a failed check raises `GraderFailure`
whose message is written for the student ("lr=1 did not diverge in 200 steps
on seed 3"). Anything else a test raises came from the student's code and is
reported as such.

References are captured at import time, before any student code runs, so a
submission that monkeypatches `torch.isfinite` or `math.isclose` cannot fool
a check that uses the captured copy.
"""
from __future__ import annotations

import random
import sys

import numpy as np
import torch

from nnkit.grading.course import DeviceUnavailable

# Captured before the submission is imported (this module is imported by the pytest plugin).
_Tensor = torch.Tensor
_isfinite = torch.isfinite
_allclose = torch.allclose
_manual_seed = torch.manual_seed
_equal = torch.equal
_cuda_available = torch.cuda.is_available()
_float_types = (float, int)
_setprofile, _getprofile = sys.setprofile, sys.getprofile


class GraderFailure(AssertionError):
    """A check failed; `str(self)` is the student-facing message."""


def expect(condition, message: str) -> None:
    """Fail the current test with `message` unless `condition` is literally True.

    `condition` must be a real bool (or numpy/torch bool scalar): an object
    with a rigged `__bool__` or `__eq__` is refused rather than trusted.
    """
    if isinstance(condition, (np.bool_,)):
        condition = bool(condition)
    elif type(condition) is _Tensor and condition.numel() == 1 and condition.dtype == torch.bool:
        condition = bool(condition.item())
    if condition is not True:
        raise GraderFailure(message)


def real_tensor(value, what: str) -> torch.Tensor:
    """Return `value` if it is a genuine `torch.Tensor` (not a subclass or look-alike)."""
    if type(value) is not _Tensor and not (isinstance(value, torch.nn.Parameter)):
        raise GraderFailure(f"{what} should be a torch.Tensor, got {type(value).__name__}.")
    return value.detach()


def real_float(value, what: str) -> float:
    """Return `value` as a float if it is a Python/numpy number or a one-element tensor."""
    if type(value) is _Tensor:
        if value.numel() != 1:
            raise GraderFailure(f"{what} should be a single number, got a tensor of shape {tuple(value.shape)}.")
        return float(value.detach().cpu().item())
    if type(value) in _float_types or isinstance(value, (np.floating, np.integer)):
        return float(value)
    raise GraderFailure(f"{what} should be a number, got {type(value).__name__}.")


def close(a: torch.Tensor, b: torch.Tensor, *, rtol=1e-5, atol=1e-6) -> bool:
    """`torch.allclose` taken before the submission was loaded, with shapes checked."""
    return tuple(a.shape) == tuple(b.shape) and bool(_allclose(a.double().cpu(), b.double().cpu(), rtol=rtol, atol=atol))


def identical(a: torch.Tensor, b: torch.Tensor) -> bool:
    """`torch.equal`, taken before the submission was loaded."""
    return bool(_equal(a, b))


def all_finite(t: torch.Tensor) -> bool:
    return bool(_isfinite(t).all())


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, torch and every CUDA device."""
    random.seed(seed)
    np.random.seed(seed)
    _manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA when it is there (or asked for), else the CPU; a clear error if CUDA is asked for but absent."""
    if requested == "auto":
        return torch.device("cuda" if _cuda_available else "cpu")
    if requested.startswith("cuda") and not _cuda_available:
        raise DeviceUnavailable(
            f"the graders were asked to run on '{requested}', but no CUDA GPU is visible on this machine. "
            "Grade on 'cpu' or 'auto' (pytest --grader-device, nnkit --device, or c.RunHiddenGraders.device "
            "in nbgrader_config.py).")
    return torch.device(requested)


def library_calls(fn, watched: dict) -> tuple[object, list[str]]:
    """`(fn(), sorted names of the watched functions that ran during fn())`.

    `watched` maps a function's code object to the name to report ("torch.nn.init.kaiming_normal_").
    The kit's "implement it yourself" policy: a part that calls PyTorch's own version of what
    it implements scores 0. A profile hook sees the code run however the submission reached
    it (an alias, `getattr`, a copy of the module); hooks were captured before student code loads.
    """
    used = set()

    def watch(frame, event, arg):
        if event == "call" and frame.f_code in watched:
            used.add(watched[frame.f_code])

    previous = _getprofile()
    _setprofile(watch)
    try:
        result = fn()
    finally:
        _setprofile(previous)
    return result, sorted(used)
