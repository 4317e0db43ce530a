"""How many CPU threads the kit's own torch work uses: one number, set here.

The assignments' models are tiny. On a shared machine one thread per process is
several times faster than threads fighting over the cores, and many grading
processes run side by side (kernels, grader processes, batch workers). Every
process the kit starts inherits `OMP_NUM_THREADS`/`MKL_NUM_THREADS`; the kit's
own processes also call `torch.set_num_threads` once torch is imported.
"""
from __future__ import annotations

import os
import sys

GRADING_THREADS = 1
_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def thread_environment(env: dict | None = None, threads: int = GRADING_THREADS) -> dict:
    """`env` (default: this process's environment) with the thread variables set where unset."""
    env = dict(os.environ if env is None else env)
    for name in _VARIABLES:
        env.setdefault(name, str(threads))
    return env


def use_grading_threads(threads: int = GRADING_THREADS) -> None:
    """Limit this process, and the processes it starts, to `threads` CPU threads."""
    for name in _VARIABLES:
        os.environ.setdefault(name, str(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
