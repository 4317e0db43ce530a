"""The probe: the only process that imports a student's code during grading.

    python -m nnkit.grading.probe WORKDIR

It runs sandboxed (`nnkit.sandbox`), started by the checker (`nnkit.grading.remote`)
with a pipe on its stdin and stdout; WORKDIR holds ``submission.py`` (the graded
module: given cells plus the student's solution cells, see
`nnkit.grading.notebook.assemble_module_source`) and ``probe.json`` (threads, cells
to leave out, modules to warm up); its GPU, if any, and that GPU's memory cap come from the
sandbox (`nnkit.sandbox.gpu_cap`). It loads the module cell by cell, then answers
the checker's requests, one at a time:

    ("getattr", ref, name)                   a module-level name, or an attribute
    ("call", ref, args, kwargs, options)     call a function, a class, a model ...
    ("method", ref, name, args, kwargs, options)
    ("iter", ref) / ("next", ref, count) / ("len", ref) / ("getitem", ref, key)
    ("keep", obj)                            hold a checker object (a data loader) for later calls
    ("deepcopy", ref) / ("release", [refs])

`options` may ask to watch the call: ``library`` (which of PyTorch's own
initialisers and schedulers ran, seen by a profile hook installed before the
student's code loaded), ``torch_functions`` (the torch functions it called, and with
``calls_from`` the library layers they came from) and ``backward`` (back-propagate this
gradient through the result). After a call,
every tensor, model and optimizer the checker passed in is sent back as it is
now (values, gradients, buffers, modes, optimizer state), so the checker sees
the same side effects as if it had run the call itself.

Every answer goes through `nnkit.grading.wire.encode`: plain data, or a
reference to an object that stays here. The probe decides nothing: whatever it
sends, the checker judges. The student's prints go to the probe's log, never to
the channel.

One `ProbeServer` per process holds the objects kept for the checker; loading the student's
module is `nnkit.grading.student_module`, watching a call `nnkit.grading.probe_watch`.
"""
from __future__ import annotations

import importlib
import json
import os
import signal
import sys
from pathlib import Path

from nnkit.grading.student_module import SUBMISSION_FILE, describe_exception, load_module

PROBE_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}   # set by whoever starts one


# ---------------------------------------------------------------- functions the checker runs here by name
# (`remote.Probe.modules_of_type`, `.attributes`, `.call_at`: one request instead of several)
def modules_of_exact_type(model, cls) -> list:
    """The submodules of `model` whose type is exactly `cls`, in `modules()` order (run in the
    probe, where the classes live: a subclass, or a student's own class of the same name, is not one)."""
    return [m for m in model.modules() if type(m) is cls]


def _at_path(obj, path: str):
    for name in path.split("."):
        obj = getattr(obj, name)
    return obj


def attributes(obj, paths: list, default=None) -> list:
    """`[obj.<path> for path in paths]` for dotted paths ("running_mean.requires_grad"), `default`
    where an attribute is missing: several reads of a student's object in one request."""
    found = []
    for path in paths:
        try:
            found.append(_at_path(obj, path))
        except AttributeError:
            found.append(default)
    return found


def call_at(obj, path: str, *args, **kwargs):
    """`obj.<path>(*args, **kwargs)`, e.g. ("weight.data.copy_", value): a method of a tensor the
    student's object holds, called on that tensor itself (a copy sent to the checker would not do)."""
    return _at_path(obj, path)(*args, **kwargs)


# ---------------------------------------------------------------- the process
def _send(channel: int, reply: dict) -> None:
    from nnkit.grading import wire

    try:
        payload = wire.dumps(reply)
    except Exception as problem:
        payload = wire.dumps({"id": reply.get("id"), "raised": "the answer could not be sent: "
                              + describe_exception(problem), "type": type(problem).__name__})
    wire.write_frame(channel, payload)


def main(workdir: str) -> None:
    # The channel is the stdin/stdout the checker gave us; the student's prints go to stderr (a log).
    requests, channel = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a flood of output fails a write, it does not kill us

    folder = Path(workdir)
    settings = json.loads((folder / "probe.json").read_text())
    from nnkit.gc_policy import freeze_loaded, pause_collection
    from nnkit.threads import use_grading_threads

    pause_collection()   # until the student's code loads (nnkit.gc_policy)
    import torch
    from nnkit.grading import wire
    from nnkit.grading.precision import use_ieee_float32
    from nnkit.grading.probe_server import ProbeServer
    from nnkit.grading.probe_watch import Watcher

    use_grading_threads(settings.get("threads", 1))
    use_ieee_float32()   # as the checker computes the reference (nnkit.grading.precision)
    from nnkit.sandbox import gpu_cap

    gpu_cap.apply_cap()  # before the student's code: this process's share of a shared GPU (nnkit.sandbox.gpu_cap)
    reapply_gpu_cap, over_gpu_cap = gpu_cap.reapply, gpu_cap.over_cap   # taken before the student's code loads
    for name in settings.get("warm_up", []):   # before the student's code (see remote.warm_up_modules)
        if name.split(".")[0] == "torch":
            importlib.import_module(name)
    # What judges the student's answers is taken now, before the student's code can replace it.
    trusted = dict(encode=wire.encode, equal=torch.equal, ieee_float32=use_ieee_float32, watcher=Watcher())
    read_frame, loads_request = wire.read_exact, wire.loads_request
    freeze_loaded()

    def loading(origin):
        _send(channel, {"loading": origin})

    module = load_module((folder / SUBMISSION_FILE).read_text(), folder / "module",
                         left_out=settings.get("left_out") or {}, before_cell=loading)
    load_errors = list(getattr(module, "__load_errors__", []))
    server = ProbeServer(module, load_errors, **trusted)
    _send(channel, {"ready": [[origin, describe_exception(error)] for origin, error in load_errors]})

    while True:
        try:
            payload = read_frame(requests, wire.HEADER.unpack(read_frame(requests, wire.HEADER.size))[0])
        except wire.ChannelClosed:
            return
        _send(channel, server.serve(payload, loads_request, reapply_gpu_cap, over_gpu_cap))


if __name__ == "__main__":
    main(sys.argv[1])
