"""Python's cyclic garbage collector while one of the kit's processes loads torch.

Importing torch (and torch._dynamo) creates several hundred thousand container objects. CPython
3.11 starts a full (generation 2) collection each time the long-lived objects grow by a quarter,
and a full collection walks every tracked object: the checker of one ps1 hand-in ran 9 of them
(1.13 s of collection in all, of its 5.4 s of CPU), the notebook kernel 7 (0.94 s of 8.4 s).
Imports make almost no cyclic garbage, so the checker (`pytest_plugin`), the sandboxed probe
(`probe.main`) and the sandboxed notebook kernel (`nnkit.sandbox.warm_kernel`) load torch with the
collector paused, then `gc.freeze()` what they loaded. The collector then runs as usual, and its
collections walk only the objects made afterwards: the checks', and the student's code's.
"""
from __future__ import annotations

import gc


def pause_collection() -> None:
    """Pause the collector while modules load; `freeze_loaded` must follow."""
    gc.disable()


def freeze_loaded() -> None:
    """Move every object alive now out of the collector's reach (kept alive for good, never
    walked again: modules, classes, functions) and start collecting again."""
    gc.freeze()
    gc.enable()
