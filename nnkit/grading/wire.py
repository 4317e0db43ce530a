"""The one channel between the probe (student code) and the checker (verdicts).

A message is a frame: 8 bytes of length, then a `torch.save` payload. The two
directions are not trusted alike:

* checker -> probe: the checker's own objects (tensors, models it built,
  optimizers), pickled in full; the probe trusts the checker.
* probe -> checker: **plain data only**, read with ``torch.load(weights_only=True)``,
  which builds nothing but tensors, numbers, strings, lists, tuples, dicts,
  sets, ``torch.Size``, dtypes and devices, and refuses every other type, a
  ``__reduce__`` payload or a tensor subclass included. `decode` then checks
  the result again (exact types, sizes, depth) and turns the kit's few tagged
  dicts back into values:

      {"__nnkit__": "ref", ...}        an object that stays in the probe (a model,
                                       a function, an iterator): a `RemoteRef`
      {"__nnkit__": "ndarray", ...}    a NumPy array, sent as a tensor
      {"__nnkit__": "npscalar", ...}   a NumPy number
      {"__nnkit__": "grad", ...}       a tensor with its ``.grad``

Nothing the probe sends can run code in the checker: the worst it can do is
send wrong numbers, which the checks then judge.
"""
from __future__ import annotations

import io
import os
import pickle
import re
import struct
import types
import warnings
from collections import OrderedDict

import numpy as np
import torch

HEADER = struct.Struct("<Q")
MAX_FRAME_BYTES = 1 << 30          # 1 GiB: the largest message the checker reads from a probe
MAX_ELEMENTS = 50_000_000           # tensor elements in one message (200 MB of float32)
MAX_ITEMS = 1_000_000               # list/dict/tuple entries in one message
MAX_DEPTH = 32
MAX_STRING = 1_000_000
TAG = "__nnkit__"
NUMPY_KINDS = "biufc"               # bool, int, uint, float, complex


class WireRefused(Exception):
    """What the probe sent is not plain data, or too large; the message says what."""


class ChannelClosed(Exception):
    """The other end closed the channel (the probe died)."""


# ---------------------------------------------------------------- frames
def write_frame(fd: int, payload: bytes) -> None:
    data = HEADER.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ChannelClosed("the channel closed in the middle of a message" if chunks or left != size
                                else "the channel closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def dumps(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


# Modules whose classes the probe can import: anything else a grader sends (its reference
# model, say) travels as a torch.fx GraphModule, never as an import of the grader's code.
PROBE_IMPORTABLE = ("torch", "torchvision", "numpy", "builtins", "collections", "nnkit", "math", "functools")
REQUEST_NUMBER = struct.Struct("<Q")


class _PortablePickler(pickle.Pickler):
    """Pickles a grader's own `nn.Module` subclasses as the torch.fx graph of their forward,
    so the probe can rebuild them from torch classes alone."""

    def reducer_override(self, obj):
        if isinstance(obj, torch.nn.Module) and type(obj).__module__.split(".")[0] not in PROBE_IMPORTABLE:
            try:
                traced = torch.fx.symbolic_trace(obj)
            except Exception as problem:
                raise TypeError(f"a grader passed a {type(obj).__qualname__} to the student's code, and it cannot "
                                f"travel to the probe (torch.fx could not trace it: {problem})") from None
            traced.train(obj.training)
            return traced.__reduce__()
        named = _function_name(obj) if obj is not function_by_name else None
        if named is not None:
            return (function_by_name, named)
        if isinstance(obj, type) or callable(obj) and hasattr(obj, "__module__") and hasattr(obj, "__qualname__"):
            module = (getattr(obj, "__module__", None) or "").split(".")[0]
            if module and module not in PROBE_IMPORTABLE and not isinstance(obj, torch.nn.Module):
                raise TypeError(f"a grader passed {getattr(obj, '__qualname__', obj)!r} (from {module}) to the "
                                "student's code; the probe cannot import the graders' modules")
        return NotImplemented


def _function_name(obj) -> tuple[str, str] | None:
    """(module, qualname) of a module-level function of a module the probe can import, else None.

    Such functions cross by name, never by pickle's by-reference lookup, which insists that the
    name still lead to the very same object: ``import torch._dynamo`` (the warm-up, or an optimizer)
    replaces ``torch.manual_seed`` with a wrapper, and pickling the function then fails. A
    function's name does not change with what has been imported, so neither can a verdict."""
    if not isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return None
    owner = getattr(obj, "__self__", None)
    if owner is not None and not isinstance(owner, (types.ModuleType, type)):
        return None   # a bound method: it belongs to an object, not to a name
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if type(module) is not str or type(qualname) is not str or "<" in qualname:
        return None   # a lambda or a local function: no name leads to it
    if module.split(".")[0] not in PROBE_IMPORTABLE:
        return None
    for name in (qualname, obj.__name__):   # torch.rand's qualname is "_VariableFunctionsClass.rand"
        try:
            if callable(function_by_name(module, name)):
                return module, name
        except (ImportError, AttributeError, ValueError):
            continue
    return None


def function_by_name(module: str, qualname: str):
    """The function `module`.`qualname` (probe side, unpickling `_function_name`'s pair)."""
    import importlib

    if module.split(".")[0] not in PROBE_IMPORTABLE:
        raise ValueError(f"the probe does not import functions from {module}")
    found = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def dumps_request(number: int, obj) -> bytes:
    """Checker side: a request to the probe, numbered outside the pickle (so the probe can
    answer it even when unpickling fails)."""
    buffer = io.BytesIO()
    buffer.write(REQUEST_NUMBER.pack(number))
    torch.save(obj, buffer, pickle_module=_PICKLE_MODULE)
    return buffer.getvalue()


def loads_request(payload: bytes, pickle_module=pickle):
    """Probe side: `(number, message)` from the checker (full pickle: the checker is trusted).
    `pickle_module`: the probe server's, which reads the checker's references to kept objects."""
    number = REQUEST_NUMBER.unpack_from(payload)[0]
    try:
        return number, torch.load(io.BytesIO(payload[REQUEST_NUMBER.size:]), weights_only=False,
                                  pickle_module=pickle_module)
    except Exception as problem:
        raise RequestUnreadable(number, f"{type(problem).__name__}: {problem}") from None


class RequestUnreadable(Exception):
    def __init__(self, number: int, what: str):
        super().__init__(what)
        self.number = number


def loads_plain(payload: bytes):
    """Checker side: a message from the probe, plain data only (see the module docstring)."""
    try:
        with warnings.catch_warnings():  # torch warns about a pickle protocol it was not asked to read
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
    except Exception as problem:  # UnpicklingError, RuntimeError, EOFError ... whatever the bytes provoke
        text = str(problem)
        found = re.search(r"WeightsUnpickler error: ([^\n]*)", text)
        why = (found.group(1) if found else text.strip().splitlines()[-1] if text.strip() else type(problem).__name__)
        raise WireRefused(f"your code sent back something that is not plain data ({why[:200]})") from None


_PICKLE_MODULE = types.SimpleNamespace(Pickler=_PortablePickler, Unpickler=pickle.Unpickler, __name__="pickle")


# ---------------------------------------------------------------- probe side: values -> plain data
def encode(value, keep, depth: int = 0):
    """`value` as plain data for the checker. `keep(obj)` stores an object that cannot
    travel (a model, a function, an iterator) in the probe and returns its id."""
    kind = type(value)
    if value is None or kind in (bool, int, float, complex, str, torch.dtype, torch.device, torch.Size):
        return value
    if depth > MAX_DEPTH:
        raise WireRefused(f"a value nested more than {MAX_DEPTH} levels deep")
    if kind in (list, tuple):
        return kind(encode(item, keep, depth + 1) for item in value)
    if kind in (dict, OrderedDict) and all(type(k) in (str, int, float, bool) for k in value):
        return {k: encode(v, keep, depth + 1) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        with torch._C.DisableTorchFunction():
            plain = torch.Tensor.as_subclass(value, torch.Tensor).detach().clone()
            grad = value.grad if value.is_leaf else None
        if grad is not None:
            return {TAG: "grad", "data": plain, "grad": encode(grad, keep, depth + 1)}
        return plain
    if kind is np.ndarray and value.dtype.kind in NUMPY_KINDS:
        return {TAG: "ndarray", "data": torch.from_numpy(np.array(value, copy=True))}
    if isinstance(value, np.generic) and value.dtype.kind in NUMPY_KINDS:
        return {TAG: "npscalar", "dtype": value.dtype.str, "value": value.item()}
    return {TAG: "ref", "id": keep(value), "type": kind.__qualname__[:200],
            "module": isinstance(value, torch.nn.Module), "callable": callable(value)}


# ---------------------------------------------------------------- checker side: plain data -> values
class _Budget:
    def __init__(self):
        self.items = MAX_ITEMS
        self.elements = MAX_ELEMENTS

    def item(self):
        self.items -= 1
        if self.items < 0:
            raise WireRefused(f"more than {MAX_ITEMS} values in one answer")

    def tensor(self, t):
        self.elements -= t.numel()
        if self.elements < 0:
            raise WireRefused(f"more than {MAX_ELEMENTS} tensor elements in one answer")


def _plain_tensor(value) -> torch.Tensor:
    if type(value) is torch.nn.Parameter:
        value = value.detach()
    if type(value) is not torch.Tensor:
        raise WireRefused(f"a {type(value).__name__} where a plain tensor was expected")
    return value.detach()


def decode(value, make_ref, budget: _Budget | None = None, depth: int = 0):
    """The checker's view of a probe answer: exact plain types only, sizes capped, every tensor
    on the CPU (`loads_plain` maps them there), where the checker judges (`nnkit.grading.devices`).
    `make_ref(message)` builds the checker's handle on an object kept in the probe."""
    budget = budget or _Budget()
    budget.item()
    kind = type(value)
    if value is None or kind in (bool, int, float, complex, torch.dtype, torch.device, torch.Size):
        return value
    if kind is str:
        if len(value) > MAX_STRING:
            raise WireRefused(f"a string of more than {MAX_STRING} characters")
        return value
    if depth > MAX_DEPTH:
        raise WireRefused(f"a value nested more than {MAX_DEPTH} levels deep")
    if kind in (torch.Tensor, torch.nn.Parameter):
        tensor = _plain_tensor(value)
        budget.tensor(tensor)
        return tensor
    if kind in (list, tuple, set):
        return kind(decode(item, make_ref, budget, depth + 1) for item in value)
    if kind in (dict, OrderedDict):
        if value.get(TAG) is not None and type(value.get(TAG)) is str:
            return _tagged(value, make_ref, budget, depth)
        return {k: decode(v, make_ref, budget, depth + 1) for k, v in value.items()
                if type(k) in (str, int, float, bool)}
    raise WireRefused(f"a {kind.__name__}, which is not plain data")


def _tagged(value: dict, make_ref, budget, depth):
    tag = value[TAG]
    if tag == "ref":
        if type(value.get("id")) is not int:
            raise WireRefused("a malformed object reference")
        return make_ref(value)
    if tag == "ndarray":
        tensor = _plain_tensor(value.get("data"))
        budget.tensor(tensor)
        return tensor.numpy().copy()
    if tag == "npscalar":
        try:
            dtype = np.dtype(str(value.get("dtype")))
        except (TypeError, ValueError):   # the name came from the probe: anything may be in it
            raise WireRefused("a NumPy number of an unknown type") from None
        if dtype.kind not in NUMPY_KINDS or type(value.get("value")) not in (bool, int, float, complex):
            raise WireRefused("a malformed NumPy number")
        return dtype.type(value["value"])
    if tag == "grad":
        data = decode(value.get("data"), make_ref, budget, depth + 1)
        grad = decode(value.get("grad"), make_ref, budget, depth + 1)
        if type(data) is not torch.Tensor or type(grad) is not torch.Tensor or grad.shape != data.shape:
            raise WireRefused("a malformed tensor gradient")
        if data.is_floating_point() or data.is_complex():
            data.requires_grad_(True)
            data.grad = grad.to(data.dtype)
        return data
    raise WireRefused(f"an unknown tagged value '{str(tag)[:40]}'")
