"""How the graders compute in float32 on a GPU: as on the CPU. One setting, set here.

The graders' tolerances and the calibrated claims were measured on the CPU, in IEEE float32.
On NVIDIA GPUs since Ampere (a GPU runner's H200 among them), PyTorch by default runs cuDNN's
float32 convolutions and RNNs on TF32 tensor cores, which keep 10 of float32's 23 mantissa
bits: a relative error near 1e-3, a hundred times the 1e-5 within which several graders compare
a student's result with the reference. And where `cudnn.benchmark` is set (a student's code may
set it), cuDNN autotunes and may pick another algorithm, with another order of sums, from one run
to the next. So the checker, the probe and
`nnkit calibrate` call `use_ieee_float32()` once torch is loaded (and the probe again before each
call the graders make, since the student's own cells may switch TF32 back on):

* cuBLAS matmuls and cuDNN convolutions and RNNs in IEEE float32 (TF32 off);
* cuDNN restricted to deterministic algorithms, without autotuning.

These are torch's `allow_tf32` switches, not the newer `fp32_precision` ones: with torch 2.14,
setting cuDNN's `fp32_precision` makes any later read of `torch.backends.cudnn.allow_tf32`
raise a RuntimeError (a mix of the legacy and new APIs), and a student's code may read it.

What still differs on CUDA:

* random numbers drawn on the GPU come from its own generator (Philox), so a seed gives other
  draws than on the CPU; data that must be the same on every device is drawn on the CPU and
  moved (ps1's `problem`);
* sums in reductions, and in the backward pass of kernels that add with atomics, run in another
  order: differences near float32's rounding (about 1e-7 relative per operation), well inside
  the graders' tolerances.

On the CPU these switches change nothing, and setting them does not start CUDA.
"""
from __future__ import annotations


def use_ieee_float32() -> None:
    """Make this process's float32 CUDA work IEEE float32 and deterministic in cuDNN (see above)."""
    import torch

    backends = torch.backends
    backends.cuda.matmul.allow_tf32 = False
    backends.cudnn.allow_tf32 = False
    backends.cudnn.deterministic = True
    backends.cudnn.benchmark = False
