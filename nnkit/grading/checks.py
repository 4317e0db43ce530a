"""What hidden graders use to judge a submission and to explain a failure.

A grader never shows its own source: a failed check raises `GraderFailure`
whose message is written for the student ("lr=1 did not diverge in 200 steps
on seed 3"). What the student's code raised arrives from the probe as
`nnkit.grading.failure.StudentRaised`, itself a `GraderFailure`. Graders import all of
this from `nnkit.grading.api`.

These helpers run in the checker, which never runs student code; they still
refuse look-alikes (a tensor subclass, a rigged `__bool__`), which cannot cross
the wire anyway, so the same checks hold when a grader is run on trusted code.
"""
from __future__ import annotations


import numpy as np
import torch

from nnkit.grading.failure import GraderFailure
from nnkit.grading.proxy import type_name

# Captured at import (a habit from when student code shared this process; still harmless).
_Tensor = torch.Tensor
_isfinite = torch.isfinite
_allclose = torch.allclose
_equal = torch.equal
_float_types = (float, int)


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
        raise GraderFailure(f"{what} should be a torch.Tensor, got {type_name(value)}.")
    return value.detach()


def real_float(value, what: str) -> float:
    """Return `value` as a float if it is a Python/numpy number or a one-element tensor."""
    if type(value) is _Tensor:
        if value.numel() != 1:
            raise GraderFailure(f"{what} should be a single number, got a tensor of shape {tuple(value.shape)}.")
        return float(value.detach().cpu().item())
    if type(value) in _float_types or isinstance(value, (np.floating, np.integer)):
        return float(value)
    raise GraderFailure(f"{what} should be a number, got {type_name(value)}.")


def close(a: torch.Tensor, b: torch.Tensor, *, rtol=1e-5, atol=1e-6) -> bool:
    """`torch.allclose` on the CPU (the checker judges there: `nnkit.grading.devices`), shapes checked."""
    return tuple(a.shape) == tuple(b.shape) and bool(_allclose(a.double().cpu(), b.double().cpu(), rtol=rtol, atol=atol))


def identical(a: torch.Tensor, b: torch.Tensor) -> bool:
    """`torch.equal` on the CPU (the checker judges there: `nnkit.grading.devices`)."""
    return bool(_equal(a.cpu(), b.cpu()))


def all_finite(t: torch.Tensor) -> bool:
    return bool(_isfinite(t).all())
