"""A grader's handle on the student's objects, which live in the probe (`nnkit.grading.probe`; the
checker's end of the channel is `nnkit.grading.remote`).

`RemoteRef` stands for one of the probe's objects and forwards what a grader does with it:

    submission.train(model, x, y, 0.1)       # a call in the probe; a plain answer back
    layer = submission.BatchNorm1d(20)       # a RemoteRef: the layer stays in the probe
    out = layer(x)                           # a plain tensor, on the CPU (nnkit.grading.devices)
    layer.running_mean                       # a plain tensor
    for xb, yb in submission.load_mnist(100) # batches, one request each

Tensors, models and optimizers the checker passes in travel as copies; after the call their new
values, gradients, buffers and optimizer state are copied back into the checker's objects
(`_apply_writeback`), so side effects look as they would in one process.

`watched(ref, *args, library=..., torch_functions=..., calls_from=..., backward=...)` calls and also
says which of PyTorch's own implementations ran, or back-propagates.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from nnkit.grading.failure import GraderFailure, ProbeCrashed, ProbeRefused, StudentRaised

if TYPE_CHECKING:
    import torch

    from nnkit.grading.remote import Probe

MAX_READ_AHEAD = 64          # items of an iterator per request


def _apply_writeback(args, kwargs, changes) -> None:
    """Copy a call's side effects back into the checker's own tensors, models and optimizers."""
    if type(changes) is not list:
        return
    for entry in changes:
        if type(entry) is not list or len(entry) != 2 or type(entry[1]) is not dict:
            raise ProbeRefused("The graders refused your code's answer: a malformed side effect.")
        key, state = entry
        target = args[key] if type(key) is int and 0 <= key < len(args) else kwargs.get(key) if type(key) is str else None
        if target is None or isinstance(target, RemoteRef):
            continue
        _restore(target, state)


def _copy_into(target: "torch.Tensor", value, what: str) -> None:
    import torch

    data = value
    if type(data) is not torch.Tensor or data.shape != target.shape:
        raise GraderFailure(f"your code replaced {what} with a value of another shape or type.")
    with torch.no_grad():
        target.copy_(data.to(target.device, target.dtype))
    grad = value.grad if value.requires_grad else None
    if target.is_leaf and (target.requires_grad or grad is not None):
        target.grad = None if grad is None else grad.to(target.device, target.dtype)
    elif target.is_leaf:
        target.grad = None


def _restore(target, state: dict) -> None:
    import torch

    if isinstance(target, torch.nn.Module) and type(state.get("params")) is dict:
        params, buffers = dict(target.named_parameters()), dict(target.named_buffers())
        new_params, new_buffers = state["params"], state.get("buffers") or {}
        if set(new_params) != set(params) or type(new_buffers) is not dict or set(new_buffers) != set(buffers):
            raise GraderFailure("your code added or removed parameters or buffers of a model the graders passed in.")
        for name, p in params.items():
            _copy_into(p, new_params[name], f"the model parameter `{name}`")
        for name, b in buffers.items():
            _copy_into(b, new_buffers[name], f"the model buffer `{name}`")
        modes = state.get("training") if type(state.get("training")) is dict else {}
        for name, module in target.named_modules():
            if type(modes.get(name)) is bool:
                module.training = modes[name]
    elif isinstance(target, torch.optim.Optimizer) and "optimizer" in state:
        try:
            target.load_state_dict(state["optimizer"])
        except Exception:
            raise GraderFailure("your code left an optimizer the graders passed in in a state they cannot read.") from None
    elif isinstance(target, torch.Tensor) and "tensor" in state:
        _copy_into(target, state["tensor"], "a tensor the graders passed in")


class Call:
    """What `watched` returns: the value, and what was seen during the call."""

    def __init__(self, value, library: list[str], torch_functions: set[str]):
        self.value, self.library, self.torch_functions = value, library, torch_functions


def _names(reply, key) -> list[str]:
    found = reply.get(key)
    return [n for n in found if type(n) is str][:1000] if type(found) is list else []


class RemoteRef:
    """An object that lives in the probe. Attribute access, calls, iteration, len and
    indexing are forwarded; the answers come back as plain data or as more refs."""

    __slots__ = ("_probe", "_generation", "_id", "_type", "_is_module", "_callable")

    def __init__(self, probe: Probe, generation, description: dict):
        object.__setattr__(self, "_probe", probe)
        object.__setattr__(self, "_generation", generation)
        object.__setattr__(self, "_id", description["id"])
        object.__setattr__(self, "_type", str(description.get("type", "object"))[:200])
        object.__setattr__(self, "_is_module", description.get("module") is True)
        object.__setattr__(self, "_callable", description.get("callable") is True)

    @property
    def is_module(self) -> bool:
        """The object is a `torch.nn.Module` in the probe."""
        return self._is_module

    @property
    def type_name(self) -> str:
        return self._type

    def _check(self):
        if self._generation is not None and self._generation != self._probe.generation:
            raise ProbeCrashed("this object was lost when your code's process was restarted "
                               "after an earlier crash or time-out.")

    def _request(self, *message):
        self._check()
        return self._probe.request(*message)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        if self._is_module and name in MODULE_METHODS:
            return RemoteMethod(self, name)   # looked up when called: one request, not two
        return self._request("getattr", self._id, name)[0]

    def __setattr__(self, name, value):
        raise TypeError("a grader cannot set attributes on the student's objects; call a method instead")

    def __call__(self, *args, **kwargs):
        return watched(self, *args, **kwargs).value

    def method(self, name: str, *args, **kwargs):
        return watched(self, *args, _method=name, **kwargs).value

    def __iter__(self):
        """The items, fetched ahead: 1, 2, 4 ... up to MAX_READ_AHEAD per request (fewer when they are
        large), so a grader that stops after the first batch pays for one, and a whole data loader
        crosses in a few requests, not one per batch."""
        iterator = self._request("iter", self._id)[0]
        ahead = 1
        while True:
            values, _, reply = iterator._request("next", iterator._id, ahead)
            yield from values if type(values) is list else ()
            if reply.get("stop") is True:
                return
            ahead = min(2 * ahead, MAX_READ_AHEAD)

    def __len__(self):
        value = self._request("len", self._id)[0]
        if type(value) is not int or value < 0:
            raise StudentRaised(f"Your code's len() returned {type(value).__name__}, not a count")
        return value

    def __getitem__(self, key):
        return self._request("getitem", self._id, key)[0]

    def __deepcopy__(self, memo):
        return self._request("deepcopy", self._id)[0]

    def __reduce__(self):
        # Only the probe unpickles this: its ProbeServer reads it as the object it keeps under this id.
        from nnkit.grading.probe_server import KeptObject
        return (KeptObject, (self._id,))

    def __repr__(self):
        return f"<student's {self._type}>"

    def __bool__(self):
        return True


# Methods every torch.nn.Module has: `layer.train()` on a RemoteRef sends one "method" request
# instead of fetching the bound method first (a grader calls these thousands of times).
MODULE_METHODS = frozenset({"train", "eval", "double", "float", "to", "cpu", "zero_grad", "parameters",
                            "named_parameters", "buffers", "named_buffers", "modules", "named_modules",
                            "children", "state_dict", "load_state_dict", "get_parameter", "get_buffer",
                            "requires_grad_", "apply", "forward"})


class RemoteMethod:
    """`ref.<name>` for a method of a module in the probe, called later as `ref.method(name, ...)`."""

    __slots__ = ("_ref", "_name")

    def __init__(self, ref: RemoteRef, name: str):
        self._ref, self._name = ref, name

    def __call__(self, *args, **kwargs):
        return self._ref.method(self._name, *args, **kwargs)

    def __repr__(self):
        return f"<method {self._name} of {self._ref!r}>"


def watched(ref: RemoteRef, *args, library: bool = False, torch_functions: bool = False,
            calls_from: dict[str, tuple[str, ...]] | None = None, backward=None, _method: str | None = None,
            **kwargs) -> Call:
    """Call `ref` in the probe and say what ran: `library` lists PyTorch's own initialisers and
    schedulers that ran ("torch.nn.init.kaiming_normal_", "torch.optim.lr_scheduler");
    `torch_functions` the torch functions called, plus each name of `calls_from` ({name: fragments
    of a file path}) whose library file one of them was called from (an assignment's library layer,
    e.g. torchvision's DropBlock: `nnkit.grading.probe_watch`). With `backward=g`, the result (a
    tensor) is back-propagated with gradient g: the `.grad` of the tensors and models passed in come back."""
    if isinstance(ref, RemoteMethod):
        ref, _method = ref._ref, ref._name
    if not isinstance(ref, RemoteRef):
        raise TypeError("watched() calls a function of the student's code")
    options = {"library": library, "torch_functions": torch_functions, "backward": backward,
               "calls_from": {name: tuple(fragments) for name, fragments in (calls_from or {}).items()}}
    if _method is None:
        value, changes, reply = ref._request("call", ref._id, args, kwargs, options)
    else:
        value, changes, reply = ref._request("method", ref._id, _method, args, kwargs, options)
    _apply_writeback(args, kwargs, changes)
    same = reply.get("same_as_arg")
    if type(same) is int and 0 <= same < len(args):
        value = args[same]
    elif type(same) is str and same in kwargs:
        value = kwargs[same]
    return Call(value, _names(reply, "library"), set(_names(reply, "torch_functions")))


def type_name(value) -> str:
    """The name of `value`'s type as the student wrote it (a RemoteRef's is the probe object's)."""
    return value.type_name if isinstance(value, RemoteRef) else type(value).__name__


def is_module(value) -> bool:
    """`value` is a torch.nn.Module, here or in the probe."""
    import torch

    return isinstance(value, torch.nn.Module) or (isinstance(value, RemoteRef) and value.is_module)
