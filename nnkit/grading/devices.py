"""Where the graders compute: the grading device, and the one rule for where tensors live.

**Where tensors live** (every grader follows it; `tests/test_device_rule.py` enforces it on the CPU):

1. The *grading device* (`device` fixture: CUDA when asked for or present, else the CPU) is where
   the student's code runs. A grader puts on it, with ``.to(device)`` or ``device=device``, only
   the inputs it hands to the student's code.
2. Whatever the probe sends back arrives on the **CPU** (`nnkit.grading.wire.decode`), whatever the
   student's code computed it on. The values copied back into a grader's own tensors and models
   after a call (their side effects) are copied into them where they are: those keep their device.
3. The checker **judges on the CPU**: a reference computation that mirrors a student's run may
   happen on the grading device, but its result is brought to the CPU (``.cpu()``) before it
   meets anything the probe returned; `checks.close` and `checks.identical` compare on the CPU.

With no GPU at hand, ``--grader-device emulated-cuda`` (`EMULATED`) runs the checker as if the
grading device were CUDA: `nnkit.grading.device_emulation` tags every tensor put "on CUDA" and
raises, as CUDA would, where a grader mixes it with a CPU tensor. The kit's tests grade the
reference solutions and the mutant bank that way, so a grader that breaks rule 2 or 3 fails on
the CPU as it would on a GPU runner.

**No CUDA before a fork.** A process that asks CUDA anything, ``torch.cuda.is_available()``
included, poisons every process it later forks: the child raises "Cannot re-initialize CUDA in
forked subprocess" at its first CUDA call (torch registers that at its first device query, even
on a machine with no GPU). The checkers' forkserver (`nnkit.grading.forked_checker`) and the probe
zygote (`nnkit.grading.probe_zygote`) fork many children, so nothing they import asks CUDA at
import: the question is asked lazily, here, by the children. Each child checks on start that its
parent asked nothing (`refuse_poisoned_fork`), and `tests/test_fork_safety.py` checks the real
forkserver and zygote on the CPU.
"""
from __future__ import annotations

from nnkit.grading.course import DeviceUnavailable

EMULATED = "emulated-cuda"      # a grading device for the kit's own tests: CUDA's rules, the CPU's arithmetic
DEVICE_CHOICES = ("auto", "cpu", "cuda", EMULATED)


class PoisonedFork(RuntimeError):
    """A forking parent asked CUDA before it forked: a bug of the kit, never of a submission."""


def cuda_available() -> bool:
    """Ask torch whether CUDA is usable. Never call this in a process that forks afterwards."""
    import torch

    return torch.cuda.is_available()


def pick_device(requested: str = "auto"):
    """The grading device: CUDA when present (``auto``) or asked for, else the CPU; a clear error
    when CUDA is asked for but absent. ``emulated-cuda`` gives ``cuda:0`` as a name only: the
    checker that asks for it computes on the CPU under `nnkit.grading.device_emulation`."""
    import torch

    if requested == EMULATED:
        return torch.device("cuda", 0)
    if requested == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    if requested.startswith("cuda") and not cuda_available():
        raise DeviceUnavailable(
            f"the graders were asked to run on '{requested}', but no CUDA GPU is visible on this machine. "
            "Grade on 'cpu' or 'auto' (pytest --grader-device, nnkit --device, or c.RunHiddenGraders.device "
            "in nbgrader_config.py).")
    return torch.device(requested)


def probe_device(requested: str) -> str:
    """Where the probe may use a GPU: ``cuda`` when the graders run on CUDA (or may: ``auto``),
    ``cpu`` otherwise (the emulation included: the student's code then runs on the CPU)."""
    return "cuda" if requested == "auto" or requested.startswith("cuda") else "cpu"


def refuse_poisoned_fork(where: str) -> None:
    """In a freshly forked child: raise `PoisonedFork` if the parent asked CUDA before forking.

    Only torch's own flag is read (set in the child by the fork handler that torch installs at the
    parent's first CUDA query); nothing here asks CUDA, so the check itself is safe anywhere."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda._is_in_bad_fork():
        raise PoisonedFork(
            f"{where} was forked from a process that had already asked CUDA (torch.cuda.is_available() or "
            "any CUDA call); CUDA cannot start in this process. This is a bug of the grading kit: a module "
            "that the forking process imports asks CUDA at import (see nnkit/grading/devices.py).")
