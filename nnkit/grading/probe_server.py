"""The probe's side of the channel: `ProbeServer` holds the objects kept for the checker and answers
its requests (see `nnkit.grading.probe` for the requests and the process around them).

The checker names a kept object by a number (a `nnkit.grading.proxy.RemoteRef`); a RemoteRef it
sends back pickles as `KeptObject(ref)`, which this server's unpickler reads as the object itself.
After a call, what the call changed of the checker's own objects is sent back (`_writeback`).
"""
from __future__ import annotations

import copy
import pickle
import types

from nnkit.grading.probe_watch import Watcher
from nnkit.grading.student_module import describe_exception, missing_name_message

MODULE_REF = 0                    # the student's module
READ_AHEAD_ELEMENTS = 4_000_000   # tensor elements per answer when reading ahead (one item at least)


class KeptObject:
    """What a `RemoteRef` pickles as. Only a `ProbeServer`'s unpickler reads it, as the object that
    server keeps under that number; anywhere else it is an error."""

    def __new__(cls, ref):
        raise RuntimeError("a reference to an object in the probe was read outside the probe's request")


class ProbeServer:
    """The objects one probe process keeps for the checker, and the answers to its requests.

    Built after torch is loaded and before the student's code is: `equal`, `ieee_float32`, the
    `Watcher` and `encode` are taken then, so the submission cannot replace what judges it."""

    def __init__(self, module, load_errors: list, *, encode, equal, ieee_float32, watcher: Watcher):
        self.module, self.load_errors = module, load_errors
        self.encode, self.equal, self.ieee_float32, self.watcher = encode, equal, ieee_float32, watcher
        self.table: dict[int, object] = {MODULE_REF: module}
        self.refs: dict[int, int] = {}            # id(obj) -> ref, so one object always has one ref
        self.resolved: set[int] = set()            # id(obj) of the refs in the request being read
        self.pending: dict[int, BaseException] = {}   # iterator ref -> what it raised after items already sent
        self.pickle_module = self._request_pickle_module()

    # ------------------------------------------------------------ objects held for the checker
    def keep(self, obj) -> int:
        ref = self.refs.get(id(obj))
        if ref is not None and self.table.get(ref) is obj:
            return ref
        ref = len(self.table) + 1
        while ref in self.table:
            ref += 1
        self.table[ref] = obj
        self.refs[id(obj)] = ref
        return ref

    def kept(self, ref: int):
        """The object a `KeptObject(ref)` in a request stands for."""
        obj = self.table[ref]
        self.resolved.add(id(obj))
        return obj

    def _request_pickle_module(self):
        """`pickle`, for `torch.load`, with `KeptObject` read as `self.kept`."""
        server = self

        class RequestUnpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if module == KeptObject.__module__ and name == KeptObject.__qualname__:
                    return server.kept
                return super().find_class(module, name)
        return types.SimpleNamespace(__name__="pickle", Unpickler=RequestUnpickler, load=pickle.load)

    def _encode(self, value):
        return self.encode(value, self.keep)

    # ------------------------------------------------------------ side effects sent back
    def _state_of(self, value):
        """What the checker needs to replay a call's side effects on an object it passed in."""
        import torch

        if isinstance(value, torch.nn.Module):
            return {"params": {name: self._encode(p) for name, p in value.named_parameters()},
                    "buffers": {name: self._encode(b) for name, b in value.named_buffers()},
                    "training": {name: m.training for name, m in value.named_modules()}}
        if isinstance(value, torch.optim.Optimizer):
            return {"optimizer": self._encode(value.state_dict())}
        if isinstance(value, torch.Tensor):
            return {"tensor": self._encode(value)}
        return None

    def _tensor_snapshots(self, args, kwargs) -> dict:
        """The values and gradients of the tensors the checker passed in, before a call: a tensor the
        call left as it was is not sent back (a 200,000-element input would cross the pipe twice)."""
        import torch

        snapshots = {}
        for key, value in [*enumerate(args), *kwargs.items()]:
            if type(value) in (torch.Tensor, torch.nn.Parameter) and id(value) not in self.resolved and value.is_leaf:
                grad = value.grad
                snapshots[key] = (value.detach().clone(), None if grad is None else grad.detach().clone())
        return snapshots

    def _unchanged(self, value, snapshot) -> bool:
        """Values and gradient exactly as before (compared by value: `p.data` writes bump no version),
        with the `torch.equal` taken before the student's code loaded (which may replace it)."""
        data, grad = snapshot
        now = value.grad if value.is_leaf else None

        def same(a, b):
            return a.dtype == b.dtype and a.shape == b.shape and self.equal(a.detach(), b)
        return same(value, data) and (grad is None and now is None or grad is not None and now is not None
                                      and same(now, grad))

    def _writeback(self, args, kwargs, snapshots: dict) -> list:
        changed = []
        for key, value in [*enumerate(args), *kwargs.items()]:
            if id(value) in self.resolved:
                continue  # an object of the probe's own, not a copy of the checker's
            if key in snapshots and self._unchanged(value, snapshots[key]):
                continue
            state = self._state_of(value)
            if state is not None:
                changed.append([key, state])
        return changed

    # ------------------------------------------------------------ calls
    def _call(self, fn, args, kwargs, options):
        import torch

        snapshots = self._tensor_snapshots(args, kwargs)
        self.ieee_float32()   # again: the student's own cells may have switched TF32 back on
        watch = self.watcher.watch(options)
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
        reply["value"] = self._encode(value)
        for key, given in [*enumerate(args), *kwargs.items()]:
            if value is given and id(given) not in self.resolved:
                reply["same_as_arg"] = key   # an in-place function returned what it was given
                break
        reply["writeback"] = self._writeback(args, kwargs, snapshots)
        return reply

    def _next_items(self, ref: int, count: int) -> dict:
        """Up to `count` items of an iterator in one answer (fewer when they are large), and whether it
        ended. What it raises after some items were taken is raised at the next request, in its place."""
        if ref in self.pending:
            raise self.pending.pop(ref)
        iterator, items, elements = self.table[ref], [], 0
        while len(items) < max(1, int(count)) and elements < READ_AHEAD_ELEMENTS:
            try:
                item = next(iterator)
            except StopIteration:
                return {"value": items, "stop": True}
            except BaseException as error:
                if not items:
                    raise
                self.pending[ref] = error
                break
            items.append(self._encode(item))
            elements += _elements(item)
        return {"value": items}

    def _ref_answer(self, obj, kind: str, is_callable: bool) -> dict:
        return {"value": {"__nnkit__": "ref", "id": self.keep(obj), "type": kind, "module": False,
                          "callable": is_callable}}

    def answer(self, message) -> dict:
        """The answer to one request (the student's exceptions pass through: the caller reports them)."""
        op, table = message[0], self.table
        if op == "getattr":
            _, ref, name = message
            if ref == MODULE_REF and name not in vars(self.module):
                return {"missing": missing_name_message(name, self.load_errors)}
            return {"value": self._encode(getattr(table[ref], name))}
        if op == "call":
            _, ref, args, kwargs, options = message
            return self._call(table[ref], args, kwargs, options)
        if op == "method":
            _, ref, name, args, kwargs, options = message
            return self._call(getattr(table[ref], name), args, kwargs, options)
        if op == "iter":
            return self._ref_answer(iter(table[message[1]]), "iterator", False)
        if op == "next":
            return self._next_items(message[1], message[2])
        if op == "len":
            return {"value": self._encode(len(table[message[1]]))}
        if op == "getitem":
            return {"value": self._encode(table[message[1]][message[2]])}
        if op == "keep":
            return self._ref_answer(message[1], type(message[1]).__qualname__, callable(message[1]))
        if op == "deepcopy":
            return {"value": self._encode(copy.deepcopy(table[message[1]]))}
        if op == "release":
            for ref in message[1]:
                obj = table.pop(ref, None)
                self.pending.pop(ref, None)
                if obj is not None:
                    self.refs.pop(id(obj), None)
            return {"value": None}
        raise ValueError(f"unknown request {op!r}")

    def serve(self, payload: bytes, loads_request, reapply_gpu_cap, over_gpu_cap) -> dict:
        """One request's reply, numbered as the request was: the answer, what the student's code
        raised, or why the request could not be read."""
        from nnkit.grading.wire import RequestUnreadable

        self.resolved.clear()
        number = None
        try:
            number, message = loads_request(payload, self.pickle_module)
            reapply_gpu_cap()
            reply = self.answer(message)
            too_much = over_gpu_cap()
            if too_much:
                reply = {"raised": f"GPUMemoryLimit: {too_much}", "type": "GPUMemoryLimit"}
        except RequestUnreadable as problem:
            number, reply = problem.number, {"unreadable": str(problem)[:500]}
        except BaseException as error:  # the student's code raised (SystemExit and KeyboardInterrupt too)
            reply = {"raised": describe_exception(error), "type": type(error).__name__}
        reply["id"] = number
        return reply


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


def _elements(value, depth: int = 0) -> int:
    import torch

    if isinstance(value, torch.Tensor):
        return value.numel()
    if type(value) in (list, tuple) and depth < 4:
        return sum(_elements(v, depth + 1) for v in value)
    if type(value) is dict and depth < 4:
        return sum(_elements(v, depth + 1) for v in value.values())
    return 0
