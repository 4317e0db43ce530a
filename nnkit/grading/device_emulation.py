"""A second device on the CPU: CUDA's placement rules, the CPU's arithmetic, for testing graders.

A grader that mixes a tensor on the GPU with one on the CPU raises "Expected all tensors to be
on the same device" on a GPU runner, and nothing at all on a CPU, where both are the same
device. `SecondDevice` makes that mistake show on the CPU: inside it, a tensor put on CUDA
(``.to("cuda")``, ``device="cuda"``, ``.cuda()``, ``model.to(device)``) stays on the CPU but is
*tagged* as on CUDA; it says ``x.device == cuda:0``; what is computed from it is tagged too; and
an operation that mixes tagged tensors with untagged ones of one element or more raises the
error CUDA raises. As on CUDA, a 0-dimensional CPU tensor may join a CUDA operation, copies
between devices are allowed (``copy_``, ``.data =``, assigning into a slice), a CPU tensor may
not be indexed with a CUDA index, and a CUDA tensor cannot become a NumPy array.

The checker enters it for ``--grader-device emulated-cuda`` (`nnkit.grading.devices.EMULATED`);
the probe runs the student's code on the CPU as usual (the tags do not travel: what crosses the
wire is rebuilt there). It is a test of the graders, not a way to grade: it costs a Python call per
torch operation in the checker.
"""
from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

TAG = "_nnkit_emulated_cuda"
CUDA = torch.device("cuda", 0)
CPU = torch.device("cpu")


class EmulatedDeviceError(RuntimeError):
    """What CUDA would have raised (the message says so, and names the emulation)."""


def on_cuda(t) -> bool:
    return isinstance(t, torch.Tensor) and getattr(t, TAG, False) is True


def _tag(t: torch.Tensor, cuda: bool) -> torch.Tensor:
    if cuda:
        setattr(t, TAG, True)
    elif on_cuda(t):
        delattr(t, TAG)
    return t


def _wants_cuda(device) -> bool | None:
    """True for a CUDA device, False for the CPU, None for no device given."""
    if device is None:
        return None
    if isinstance(device, int):
        return True   # .to(0): CUDA device 0
    if isinstance(device, str):
        device = torch.device(device)
    if isinstance(device, torch.device):
        if device.type == "cuda":
            return True
        if device.type == "cpu":
            return False
    return None


def _on_cpu(device):
    return "cpu" if _wants_cuda(device) else device


_T = torch.Tensor
_PROPERTY_GETS = {_T.data.__get__, _T.grad.__get__, _T.T.__get__, _T.mT.__get__, _T.H.__get__, _T.real.__get__,
                  _T.imag.__get__}
_COPIES = {_T.copy_, torch.Tensor.data.__set__, _T.grad.__set__, _T.set_}
_NUMPY = {_T.numpy, _T.__array__}
_WHOLE_COPIES = {_T.__deepcopy__, _T.__reduce_ex__, _T.__setstate__, _T.clone, _T.detach, _T.detach_,
                 _T.requires_grad_, _T.share_memory_}
_FACTORIES_LIKE = {torch.zeros_like, torch.ones_like, torch.empty_like, torch.full_like, torch.rand_like,
                   torch.randn_like, torch.randint_like}


class SecondDevice(TorchFunctionMode):
    """Tag tensors put on CUDA; raise where an operation mixes devices as CUDA would (see above)."""

    def __enter__(self):
        # `nn.Parameter(data)` builds its tensor without a torch function call: the tag is copied here.
        self._parameter_new = torch.nn.Parameter.__new__
        original = self._parameter_new

        def parameter_new(cls, data=None, requires_grad=True):
            made = original(cls, data, requires_grad)
            return _tag(made, on_cuda(data))
        torch.nn.Parameter.__new__ = parameter_new
        return super().__enter__()

    def __exit__(self, *exc):
        torch.nn.Parameter.__new__ = self._parameter_new
        return super().__exit__(*exc)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func == _T.device.__get__:      # method-wrappers: equal, never identical, from one access to the next
            return CUDA if on_cuda(args[0]) else func(*args)
        if func == _T.is_cuda.__get__:
            return on_cuda(args[0])
        if func is torch._has_compatible_shallow_copy_type:
            return func(*args, **kwargs)   # Module.to asks it before `param.data = moved`
        if func in _NUMPY and on_cuda(args[0]):
            raise EmulatedDeviceError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy "
                                      "the tensor to host memory first. (emulated CUDA: nnkit.grading.device_emulation)")
        if func is _T.to or func is _T.cuda or func is _T.cpu or func is _T.type:
            return self._move(func, args, kwargs)
        if func is _T.__getitem__:
            self._check_index(args[0], args[1])
            return _tag(func(*args, **kwargs), on_cuda(args[0]))
        if func is _T.__setitem__:
            self._check_index(args[0], args[1])
            return func(*args, **kwargs)
        if func in _WHOLE_COPIES:   # deepcopy, pickling: the copy is where the original is
            result = func(*args, **kwargs)
            return _tag(result, on_cuda(args[0])) if isinstance(result, torch.Tensor) else result
        if func in _COPIES:
            result = func(*args, **kwargs)
            if func == _T.data.__set__:
                _tag(args[0], on_cuda(args[1]))
            return result
        if func in _PROPERTY_GETS:
            result = func(*args, **kwargs)
            return _tag(result, on_cuda(args[0])) if isinstance(result, torch.Tensor) else result
        target = _wants_cuda(kwargs.get("device"))
        if target is not None:
            kwargs["device"] = "cpu"
        cuda = self._common_device(func, args, kwargs) if target is None else target
        if target is None and func in _FACTORIES_LIKE:
            cuda = on_cuda(args[0])
        result = func(*args, **kwargs)
        if cuda:
            for t in tree_flatten(result)[0]:
                if isinstance(t, torch.Tensor):
                    _tag(t, True)
        return result

    # ------------------------------------------------------------------ placement rules
    @staticmethod
    def _common_device(func, args, kwargs) -> bool:
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        cuda = [t for t in tensors if on_cuda(t)]
        cpu = [t for t in tensors if not on_cuda(t) and t.dim() > 0]   # CUDA takes 0-dim CPU tensors
        if cuda and cpu:
            name = getattr(func, "__name__", str(func))
            raise EmulatedDeviceError(
                f"Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu! "
                f"(in {name}; emulated CUDA: nnkit.grading.device_emulation)")
        return bool(cuda)

    @staticmethod
    def _check_index(tensor, index) -> None:
        if on_cuda(tensor):
            return   # CUDA moves a CPU index to the tensor's device
        if any(on_cuda(t) and t.dim() > 0 for t in tree_flatten(index)[0]):
            raise EmulatedDeviceError("indices should be either on cpu or on the same device as the indexed tensor "
                                      "(cpu) (emulated CUDA: nnkit.grading.device_emulation)")

    @staticmethod
    def _move(func, args, kwargs):
        tensor = args[0]
        if func is _T.cuda:
            func, target, args, kwargs = _T.to, True, (tensor, "cpu"), {}
        elif func is _T.cpu:
            target = False
        elif func is _T.type:
            name = args[1] if len(args) > 1 else kwargs.get("dtype")
            target = on_cuda(tensor) if not isinstance(name, str) else name.startswith("torch.cuda.")
            if isinstance(name, str):
                args = (tensor, name.replace("torch.cuda.", "torch.")) + tuple(args[2:])
                kwargs.pop("dtype", None)
        else:   # Tensor.to(device | dtype | tensor, ...)
            target = _wants_cuda(kwargs.get("device"))
            rest = []
            for a in args[1:]:
                wanted = _wants_cuda(a) if isinstance(a, (str, torch.device, int)) and not isinstance(a, bool) else None
                if isinstance(a, torch.Tensor):   # .to(other): its device and dtype
                    wanted = on_cuda(a)
                    rest += [a.dtype]
                    target = wanted
                    continue
                if wanted is not None:
                    target = wanted
                    rest.append("cpu")
                else:
                    rest.append(a)
            args = (tensor, *rest)
            if "device" in kwargs:
                kwargs["device"] = _on_cpu(kwargs["device"])
            if target is None:
                target = on_cuda(tensor)
        result = func(*args, **kwargs)
        if target != on_cuda(tensor) and result is tensor:
            result = tensor.view_as(tensor)   # another device is another tensor, as on CUDA
        return _tag(result, target)


def cuda_devices_to_cpu(value, depth: int = 0):
    """`value` with every CUDA `torch.device` (in tuples, lists and dicts) replaced by the CPU: a request
    to the probe, whose student code runs on the CPU while the checker emulates CUDA (`remote.Probe`)."""
    if isinstance(value, torch.device):
        return torch.device("cpu") if value.type == "cuda" else value
    if depth < 8 and type(value) in (tuple, list):
        return type(value)(cuda_devices_to_cpu(v, depth + 1) for v in value)
    if depth < 8 and type(value) is dict:
        return {k: cuda_devices_to_cpu(v, depth + 1) for k, v in value.items()}
    return value
