"""ipykernel, started with torch already loaded and frozen out of the garbage collector's walks.

``python -m nnkit.sandbox.warm_kernel -f CONNECTION_FILE``: what `nnkit.sandbox.kernel` runs
inside the sandbox in place of ``python -m ipykernel_launcher`` (the same steps, and the same
arguments, after one more import).

Every notebook of the course imports torch in its first cell. Imported there, with the collector
on, torch's several hundred thousand objects cost the kernel of one ps1 hand-in 7 full
collections, 0.94 s of its 8.4 s of CPU. Here torch and ipykernel load with the collector paused
and are frozen (`nnkit.gc_policy`) before the kernel starts; the student's ``import torch`` then
finds the module loaded. The student's own objects are collected as usual. Nothing runs between
the import and the student's first cell, so torch's state (its random generator, its thread count
from ``OMP_NUM_THREADS``) is the one a fresh import gives.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # As ipykernel_launcher: the cwd (the student's folder) leaves sys.path while the kernel loads;
    # InteractiveShellApp.init_path() puts it back for the student's imports.
    if sys.path[0] == "" or Path(sys.path[0]) == Path.cwd():
        del sys.path[0]

    from nnkit.gc_policy import freeze_loaded, pause_collection

    pause_collection()
    try:
        import torch  # noqa: F401
    except Exception:
        # Not installed, or over the sandbox's memory limit (a failed load keeps address space, and
        # the kernel itself would then fail to start): start afresh as plain ipykernel, where the
        # student's own import cell reports the error.
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[1:]])
    from ipykernel import kernelapp

    freeze_loaded()
    kernelapp.launch_new_instance()
