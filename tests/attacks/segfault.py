"""Writes a fake "graded" .nnkit-status.json, then segfaults through ctypes (in the kernel and in the grader process)."""
# plain: not probed (a dead kernel loses the submission in plain nbgrader)
# lost: -
# status: crashed
# feedback: kernel died | crashed the grading process (signal SIGSEGV)
# %% diagnose +
import ctypes as _ctypes
import json as _json
try:
    with open(".nnkit-status.json", "w") as _handle:
        _json.dump({"status": "graded", "execution": {"status": "ok"}, "graders": {"status": "ok"}}, _handle)
except OSError:
    pass
_ctypes.string_at(0)
