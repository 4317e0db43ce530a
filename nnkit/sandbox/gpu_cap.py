"""One student's GPU use costs only that student: which sandboxed process sees a GPU, and how much.

On a GPU node `nnkit batch` grades many hand-ins side by side on one GPU. A process that
allocates all of its memory, or never frees it, would fail every other student's grading
with "CUDA out of memory". So:

* **Only a probe that grades on CUDA sees a GPU.** `nnkit.sandbox.sandbox_argv` binds the
  ``/dev/nvidia*`` device nodes into the sandbox only when ``Limits.gpu`` is set; the probe
  sets it when the graders run on CUDA (`nnkit.grading.devices.probe_device`). The notebook
  kernel never gets them: the notebooks are written for a CPU laptop, and what their cells
  print is shown, never graded. Without the device nodes no code can reach the GPU, whatever
  it sets in its environment.
* **A probe that sees one is capped** at ``Limits.gpu_memory_bytes`` (default 4 GiB: the
  reference solutions' graders stay far below it, and 16 probes side by side, one per core of
  the GPU runner, fit in an 80 GiB card). `apply_cap`, called by the probe before the
  student's module loads (and again before each of the graders' requests, as the float32
  switches are), creates the CUDA context and sets torch's per-process memory fraction, so an
  allocation past the cap fails in the student's own process with "CUDA out of memory".
  Where the node runs the CUDA MPS server, the same cap is also given to MPS
  (``CUDA_MPS_PINNED_DEVICE_MEM_LIMIT``, read when the context is created, which happens
  here, before any student code: the student cannot raise it afterwards).
* **Checked after each request** (`over_cap`): a student's code can call
  ``set_per_process_memory_fraction`` itself; the probe then reports the peak it reached, the
  graders fail that check, and the probe is restarted for the next (`nnkit.grading.probe`).

``NNKIT_GPU_MEMORY_BYTES`` carries the cap into the sandbox (`nnkit.sandbox.run.gpu_env`: given
to bwrap by `sandbox_argv`, or set by the launcher itself where bubblewrap is not usable).
"""
from __future__ import annotations

import os

from nnkit.sandbox.run import CAP_ENV  # noqa: E402  (one name for the launcher and this module)
DEFAULT_CAP_BYTES = 4 << 30

APPLIED: dict = {}    # what `apply_cap` did in this process: {"cap": bytes, "devices": n} (tests read it)


def apply_cap() -> dict:
    """Cap this process's GPU memory at ``$NNKIT_GPU_MEMORY_BYTES`` (see the module docstring).
    No cap set, or no GPU visible: nothing to do, and CUDA is not started."""
    cap = int(os.environ.get(CAP_ENV) or 0)
    APPLIED.clear()
    APPLIED.update({"cap": cap, "devices": 0})
    if cap <= 0 or not any(name.startswith("nvidia") for name in _dev_names()):
        return APPLIED
    import torch

    if not torch.cuda.is_available():
        return APPLIED
    fractions = [min(1.0, cap / torch.cuda.get_device_properties(i).total_memory)
                 for i in range(torch.cuda.device_count())]
    APPLIED.update({"devices": len(fractions), "fractions": fractions})
    reapply()
    return APPLIED


def reapply() -> None:
    """Set the cap again (the student's code may have changed it); cheap, and a no-op without a GPU."""
    fractions = APPLIED.get("fractions") or []
    if fractions:
        import torch

        for index, fraction in enumerate(fractions):
            torch.cuda.set_per_process_memory_fraction(fraction, index)


def over_cap() -> str | None:
    """A sentence for the student if this process's GPU memory went past the cap, else None."""
    cap, devices = APPLIED.get("cap", 0), APPLIED.get("devices", 0)
    if not cap or not devices:
        return None
    import torch

    peak = max(torch.cuda.max_memory_reserved(i) for i in range(devices))
    if peak <= cap:
        return None
    for index in range(devices):   # once reported, the next request starts counting afresh
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(index)
    return (f"your code used {peak / 2**30:.1f} GiB of GPU memory; each student's grading may use "
            f"{cap / 2**30:.1f} GiB (the GPU is shared by the whole class).")


def _dev_names() -> list[str]:
    try:
        return os.listdir("/dev")
    except OSError:
        return []
