"""Watching a call in the probe: which of PyTorch's own initialisers and schedulers ran (``library``),
and which torch functions it called (``torch_functions``), for `nnkit.grading.proxy.watched`.

``calls_from`` ({name: fragments of a file path}) names a library's own layer: a torch function
called from a file whose path holds every fragment is also recorded as that name. The assignment
that needs it says so in its request (ps3's graders watch for torchvision's DropBlock this way,
`grader_tests/ps3_normalization/ps3_reference.py`); the probe knows no assignment.

`Watcher` is built before the student's code loads (the profile hooks and torch's classes it
holds cannot then have been replaced by the submission).
"""
from __future__ import annotations

import sys
import types

# Captured at import, before any student code runs in this process.
_setprofile, _getprofile, _getframe = sys.setprofile, sys.getprofile, sys._getframe
CALLER_FRAMES = 12   # how far up the stack a torch function's caller is looked for (calls_from)


def library_code() -> dict:
    """Code objects of PyTorch's own initialisers and schedulers, captured before the
    student's code loads: however the submission reaches them, this code runs."""
    import torch
    from torch.optim import lr_scheduler

    watched = {f.__code__: f"torch.nn.init.{f.__name__}" for f in vars(torch.nn.init).values()
               if isinstance(f, types.FunctionType) and f.__module__ == "torch.nn.init"}
    watched[lr_scheduler.LRScheduler.__init__.__code__] = "torch.optim.lr_scheduler"
    return watched


def _recorder_class():
    from torch.overrides import TorchFunctionMode

    class TorchFunctionRecorder(TorchFunctionMode):
        """Records the torch functions a call makes, and the library layers (`calls_from`) they came from."""

        def __init__(self, calls_from: dict):
            super().__init__()
            self.names = set()
            self.calls_from = calls_from

        def __torch_function__(self, func, types_, args=(), kwargs=None):
            self.names.add(getattr(func, "__name__", ""))
            if self.calls_from:
                frame, depth = _getframe(1), 0
                while frame is not None and depth < CALLER_FRAMES:
                    filename = frame.f_code.co_filename
                    for name, fragments in self.calls_from.items():
                        if all(fragment in filename for fragment in fragments):
                            self.names.add(name)
                    frame, depth = frame.f_back, depth + 1
            return func(*args, **(kwargs or {}))
    return TorchFunctionRecorder


def plain_calls_from(option) -> dict:
    """The request's ``calls_from`` as {str: tuple of str}; anything else in it is ignored."""
    if type(option) is not dict:
        return {}
    return {name: tuple(fragments) for name, fragments in option.items()
            if type(name) is str and type(fragments) in (list, tuple) and fragments
            and all(type(f) is str for f in fragments)}


class Watcher:
    """What the probe needs to watch calls, taken before the student's code loads."""

    def __init__(self):
        self.library = library_code()
        self.recorder_class = _recorder_class()

    def watch(self, options: dict) -> "Watch":
        return Watch(self, bool(options.get("library")), bool(options.get("torch_functions")),
                     plain_calls_from(options.get("calls_from")))


class Watch:
    """One watched call: `with watcher.watch(options) as watch: ...`, then `library_seen` and
    `recorder.names` say what ran."""

    def __init__(self, watcher: Watcher, library: bool, torch_functions: bool, calls_from: dict):
        self.watcher, self.library, self.torch_functions = watcher, library, torch_functions
        self.calls_from = calls_from
        self.library_seen: set[str] = set()
        self.recorder = None

    def __enter__(self):
        if self.library:
            watched, seen = self.watcher.library, self.library_seen

            def hook(frame, event, arg):
                if event == "call" and frame.f_code in watched:
                    seen.add(watched[frame.f_code])
            self._previous = _getprofile()
            _setprofile(hook)
        if self.torch_functions:
            self.recorder = self.watcher.recorder_class(self.calls_from)
            self.recorder.__enter__()
        return self

    def __exit__(self, *exc):
        if self.recorder is not None:
            self.recorder.__exit__(*exc)
        if self.library:
            _setprofile(self._previous)
        return False
