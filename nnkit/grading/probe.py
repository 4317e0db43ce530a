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
student's code loaded), ``torch_functions`` (the torch functions it called) and
``backward`` (back-propagate this gradient through the result). After a call,
every tensor, model and optimizer the checker passed in is sent back as it is
now (values, gradients, buffers, modes, optimizer state), so the checker sees
the same side effects as if it had run the call itself.

Every answer goes through `nnkit.grading.wire.encode`: plain data, or a
reference to an object that stays here. The probe decides nothing: whatever it
sends, the checker judges. The student's prints go to the probe's log, never to
the channel.
"""
from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import os
import re
import signal
import sys
import traceback
import types
from pathlib import Path
from typing import Callable

SUBMISSION_FILE = "submission.py"
PROBE_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}   # set by whoever starts one
MODULE_REF = 0


# ---------------------------------------------------------------- what the checker shows the student
def describe_exception(error: BaseException) -> str:
    """`Type: message`, plus the last line of the student's own code it came from."""
    try:
        text = f"{type(error).__name__}: {error}"
    except Exception:  # a student's exception whose __str__ raises
        text = type(error).__name__
    if len(text) > 400:
        text = text[:400] + " …"
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith(SUBMISSION_FILE):
            text += f" (in your code: `{(frame.line or '').strip()[:120]}`)"
            break
    return text


def missing_name_message(name: str, load_errors: list) -> str:
    if load_errors:
        where = "; ".join(f"{origin} raised {describe_exception(error)}" for origin, error in load_errors[:3])
        return f"`{name}` is not defined because running your notebook's code failed: {where}"
    return f"Your notebook does not define `{name}`. Did you delete or rename its cell?"


# ---------------------------------------------------------------- loading the student's module
# `nnkit.grading.notebook.assemble_module_source` starts each cell with this line.
CELL_HEADER = re.compile(r"^# ---- (.+) ----$", re.M)


class GradingProcessCrashed(Exception):
    """Stands in for a cell that was left out because running it killed the grading process."""


def load_module(source: str, where: Path, name: str = "submission", *, left_out: dict[str, str] | None = None,
                before_cell: Callable[[str], None] | None = None) -> types.ModuleType:
    """Execute `source` as a fresh module, one cell at a time.

    The source is written to `where` so tracebacks show its lines. A cell that
    raises does not stop the others: its names stay undefined and the exception
    is kept in `module.__load_errors__` as `(origin, exception)`, so one broken
    cell costs only the points of what depends on it.

    A cell that kills the process (a segfault, `os._exit`) cannot be caught here:
    `before_cell(origin)` lets the caller note which cell was running, and a new
    process passes `left_out={origin: how it died}` to run the others without it.
    """
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__load_errors__ = []
    sys.modules[name] = module
    headers = list(CELL_HEADER.finditer(source)) or [None]
    for index, header in enumerate(headers):
        start = header.start() if header else 0
        end = headers[index + 1].start() if index + 1 < len(headers) else len(source)
        origin = header.group(1) if header else name
        if origin in (left_out or {}):
            module.__load_errors__.append((origin, GradingProcessCrashed(
                f"the grading process crashed while running this cell ({left_out[origin]}), so it was left out")))
            continue
        if before_cell:
            before_cell(origin)
        line_offset = source.count("\n", 0, start)
        code = compile("\n" * line_offset + source[start:end], str(path), "exec")
        try:
            exec(code, module.__dict__)
        except BaseException as error:  # SystemExit and KeyboardInterrupt from student code too
            module.__load_errors__.append((origin, error))
    return module


# ---------------------------------------------------------------- objects held for the checker
_TABLE: dict[int, object] = {}
_IDS: dict[int, int] = {}          # id(obj) -> ref, so one object always has one ref
_RESOLVED: set[int] = set()        # id(obj) of the refs in the request being decoded


def _kept(ref: int):
    """Unpickling a `RemoteRef` (checker side) gives the object it stands for."""
    obj = _TABLE[ref]
    _RESOLVED.add(id(obj))
    return obj


def _keep(obj) -> int:
    ref = _IDS.get(id(obj))
    if ref is not None and _TABLE.get(ref) is obj:
        return ref
    ref = len(_TABLE) + 1
    while ref in _TABLE:
        ref += 1
    _TABLE[ref] = obj
    _IDS[id(obj)] = ref
    return ref


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


# ---------------------------------------------------------------- watching a call
def _library_code():
    """Code objects of PyTorch's own initialisers and schedulers, captured before the
    student's code loads: however the submission reaches them, this code runs."""
    import torch
    from torch.optim import lr_scheduler

    watched = {f.__code__: f"torch.nn.init.{f.__name__}" for f in vars(torch.nn.init).values()
               if isinstance(f, types.FunctionType) and f.__module__ == "torch.nn.init"}
    watched[lr_scheduler.LRScheduler.__init__.__code__] = "torch.optim.lr_scheduler"
    return watched


class _Watch:
    def __init__(self, library: bool, torch_functions: bool):
        self.library, self.torch_functions = library, torch_functions
        self.library_seen: set[str] = set()
        self.recorder = None

    def __enter__(self):
        if self.library:
            watched, seen = _WATCHED, self.library_seen

            def hook(frame, event, arg):
                if event == "call" and frame.f_code in watched:
                    seen.add(watched[frame.f_code])
            self._previous = _getprofile()
            _setprofile(hook)
        if self.torch_functions:
            self.recorder = _TorchFunctionRecorder()
            self.recorder.__enter__()
        return self

    def __exit__(self, *exc):
        if self.recorder is not None:
            self.recorder.__exit__(*exc)
        if self.library:
            _setprofile(self._previous)
        return False


def _recorder_class():
    from torch.overrides import TorchFunctionMode

    class TorchFunctionRecorder(TorchFunctionMode):
        """Records the torch functions a call makes (and calls from torchvision's DropBlock)."""

        def __init__(self):
            super().__init__()
            self.names = set()

        def __torch_function__(self, func, types_, args=(), kwargs=None):
            self.names.add(getattr(func, "__name__", ""))
            frame, depth = _getframe(1), 0
            while frame is not None and depth < 12:
                filename = frame.f_code.co_filename
                if "torchvision" in filename and "drop_block" in filename:
                    self.names.add("torchvision.ops.drop_block2d")
                frame, depth = frame.f_back, depth + 1
            return func(*args, **(kwargs or {}))
    return TorchFunctionRecorder


# ---------------------------------------------------------------- side effects sent back
def _state_of(value):
    """What the checker needs to replay a call's side effects on an object it passed in."""
    import torch

    if isinstance(value, torch.nn.Module):
        return {"params": {name: encode(p, _keep) for name, p in value.named_parameters()},
                "buffers": {name: encode(b, _keep) for name, b in value.named_buffers()},
                "training": {name: m.training for name, m in value.named_modules()}}
    if isinstance(value, torch.optim.Optimizer):
        return {"optimizer": encode(value.state_dict(), _keep)}
    if isinstance(value, torch.Tensor):
        return {"tensor": encode(value, _keep)}
    return None


def _tensor_snapshots(args, kwargs) -> dict:
    """The values and gradients of the tensors the checker passed in, before a call: a tensor the
    call left as it was is not sent back (a 200,000-element input would cross the pipe twice)."""
    import torch

    snapshots = {}
    for key, value in [*enumerate(args), *kwargs.items()]:
        if type(value) in (torch.Tensor, torch.nn.Parameter) and id(value) not in _RESOLVED and value.is_leaf:
            grad = value.grad
            snapshots[key] = (value.detach().clone(), None if grad is None else grad.detach().clone())
    return snapshots


def _unchanged(value, snapshot) -> bool:
    """Values and gradient exactly as before (compared by value: `p.data` writes bump no version),
    with the `torch.equal` taken before the student's code loaded (which may replace it)."""
    data, grad = snapshot
    now = value.grad if value.is_leaf else None

    def same(a, b):
        return a.dtype == b.dtype and a.shape == b.shape and _equal(a.detach(), b)
    return same(value, data) and (grad is None and now is None or grad is not None and now is not None and same(now, grad))


def _writeback(args, kwargs, snapshots: dict) -> list:
    changed = []
    for key, value in [*enumerate(args), *kwargs.items()]:
        if id(value) in _RESOLVED:
            continue  # an object of the probe's own, not a copy of the checker's
        if key in snapshots and _unchanged(value, snapshots[key]):
            continue
        state = _state_of(value)
        if state is not None:
            changed.append([key, state])
    return changed


# ---------------------------------------------------------------- serving
def _backward(value, gradient) -> None:
    """`value.backward(gradient)`, as the sum of value * gradient: the same vector-Jacobian product
    (the product's backward hands `gradient` on exactly), without torch's check of an explicit
    gradient, which imports sympy (half a second in a fresh process, once per probe)."""
    import torch

    if not isinstance(gradient, torch.Tensor):
        return value.backward(gradient)
    if gradient.shape != value.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {tuple(gradient.shape)} and "
                           f"output[0] has a shape of {tuple(value.shape)}.")
    (value * gradient.to(value.device, value.dtype)).sum().backward()


def _call(fn, args, kwargs, options):
    import torch

    snapshots = _tensor_snapshots(args, kwargs)
    _ieee_float32()   # again: the student's own cells may have switched TF32 back on
    watch = _Watch(bool(options.get("library")), bool(options.get("torch_functions")))
    with watch:
        value = fn(*args, **kwargs)
    reply = {}
    gradient = options.get("backward")
    if gradient is not None:
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"the graders expected a tensor to back-propagate through, got {type(value).__name__}")
        _backward(value, gradient)
    if watch.library:
        reply["library"] = sorted(watch.library_seen)
    if watch.recorder is not None:
        reply["torch_functions"] = sorted(watch.recorder.names)
    reply["value"] = encode(value, _keep)
    for key, given in [*enumerate(args), *kwargs.items()]:
        if value is given and id(given) not in _RESOLVED:
            reply["same_as_arg"] = key   # an in-place function returned what it was given
            break
    reply["writeback"] = _writeback(args, kwargs, snapshots)
    return reply


READ_AHEAD_ELEMENTS = 4_000_000   # tensor elements per answer when reading ahead (one item at least)
_PENDING: dict[int, BaseException] = {}   # iterator ref -> what it raised after items already sent


def _elements(value, depth: int = 0) -> int:
    import torch

    if isinstance(value, torch.Tensor):
        return value.numel()
    if type(value) in (list, tuple) and depth < 4:
        return sum(_elements(v, depth + 1) for v in value)
    if type(value) is dict and depth < 4:
        return sum(_elements(v, depth + 1) for v in value.values())
    return 0


def _next_items(ref: int, count: int) -> dict:
    """Up to `count` items of an iterator in one answer (fewer when they are large), and whether it
    ended. What it raises after some items were taken is raised at the next request, in its place."""
    if ref in _PENDING:
        raise _PENDING.pop(ref)
    iterator, items, elements = _TABLE[ref], [], 0
    while len(items) < max(1, int(count)) and elements < READ_AHEAD_ELEMENTS:
        try:
            item = next(iterator)
        except StopIteration:
            return {"value": items, "stop": True}
        except BaseException as error:
            if not items:
                raise
            _PENDING[ref] = error
            break
        items.append(encode(item, _keep))
        elements += _elements(item)
    return {"value": items}


def _serve_one(message, module, load_errors):
    op = message[0]
    if op == "getattr":
        _, ref, name = message
        target = _TABLE[ref]
        if ref == MODULE_REF and name not in vars(module):
            return {"missing": missing_name_message(name, load_errors)}
        return {"value": encode(getattr(target, name), _keep)}
    if op == "call":
        _, ref, args, kwargs, options = message
        return _call(_TABLE[ref], args, kwargs, options)
    if op == "method":
        _, ref, name, args, kwargs, options = message
        return _call(getattr(_TABLE[ref], name), args, kwargs, options)
    if op == "iter":
        return {"value": {"__nnkit__": "ref", "id": _keep(iter(_TABLE[message[1]])), "type": "iterator",
                          "module": False, "callable": False}}
    if op == "next":
        return _next_items(message[1], message[2])
    if op == "len":
        return {"value": encode(len(_TABLE[message[1]]), _keep)}
    if op == "getitem":
        return {"value": encode(_TABLE[message[1]][message[2]], _keep)}
    if op == "keep":
        return {"value": {"__nnkit__": "ref", "id": _keep(message[1]), "type": type(message[1]).__qualname__,
                          "module": False, "callable": callable(message[1])}}
    if op == "deepcopy":
        return {"value": encode(copy.deepcopy(_TABLE[message[1]]), _keep)}
    if op == "release":
        for ref in message[1]:
            obj = _TABLE.pop(ref, None)
            _PENDING.pop(ref, None)
            if obj is not None:
                _IDS.pop(id(obj), None)
        return {"value": None}
    raise ValueError(f"unknown request {op!r}")


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
    import torch  # noqa: F401
    from nnkit.grading import wire
    from nnkit.grading.precision import use_ieee_float32

    use_grading_threads(settings.get("threads", 1))
    use_ieee_float32()   # as the checker computes the reference (nnkit.grading.precision)
    from nnkit.sandbox import gpu_cap

    gpu_cap.apply_cap()  # before the student's code: this process's share of a shared GPU (nnkit.sandbox.gpu_cap)
    reapply_gpu_cap, over_gpu_cap = gpu_cap.reapply, gpu_cap.over_cap   # taken before the student's code loads
    for name in settings.get("warm_up", []):   # before the student's code (see remote.warm_up_modules)
        if name.split(".")[0] == "torch":
            importlib.import_module(name)
    global _WATCHED, _TorchFunctionRecorder, encode, _equal, _ieee_float32
    _equal = torch.equal
    _ieee_float32 = use_ieee_float32
    _WATCHED = _library_code()
    _TorchFunctionRecorder = _recorder_class()
    encode = wire.encode
    freeze_loaded()

    def loading(origin):
        _send(channel, {"loading": origin})

    module = load_module((folder / SUBMISSION_FILE).read_text(), folder / "module",
                         left_out=settings.get("left_out") or {}, before_cell=loading)
    load_errors = list(getattr(module, "__load_errors__", []))
    _TABLE[MODULE_REF] = module
    _send(channel, {"ready": [[origin, describe_exception(error)] for origin, error in load_errors]})

    while True:
        try:
            payload = wire.read_exact(requests, wire.HEADER.unpack(wire.read_exact(requests, wire.HEADER.size))[0])
        except wire.ChannelClosed:
            return
        _RESOLVED.clear()
        number = None
        try:
            number, message = wire.loads_request(payload)
            reapply_gpu_cap()
            reply = _serve_one(message, module, load_errors)
            too_much = over_gpu_cap()
            if too_much:
                reply = {"raised": f"GPUMemoryLimit: {too_much}", "type": "GPUMemoryLimit"}
        except wire.RequestUnreadable as problem:
            number, reply = problem.number, {"unreadable": str(problem)[:500]}
        except BaseException as error:  # the student's code raised (SystemExit and KeyboardInterrupt too)
            reply = {"raised": describe_exception(error), "type": type(error).__name__}
        reply["id"] = number
        _send(channel, reply)


# Captured at import, before any student code runs in this process.
_setprofile, _getprofile, _getframe = sys.setprofile, sys.getprofile, sys._getframe
_WATCHED: dict = {}
_TorchFunctionRecorder = None
encode = None
_equal = None
_ieee_float32 = None

if __name__ == "__main__":
    # Run the imported module, not __main__: the checker's references unpickle as nnkit.grading.probe._kept.
    from nnkit.grading import probe as _probe

    _probe.main(sys.argv[1])
