"""The machine part of `make gpu-check`: Python, torch, CUDA, bubblewrap and the packages, asked in a
subprocess, never in the check's own process (a process that asked CUDA anything cannot be forked
from safely: `nnkit.grading.devices`)."""
from __future__ import annotations

import json
import subprocess
import sys

NO_GPU = "no CUDA GPU visible: checking on the CPU only"
MACHINE_TIMEOUT = 180      # python + torch + a CUDA query, on a machine that is starting

MACHINE_SCRIPT = r"""
import importlib.util, json, os, platform, sys, warnings
info = {"python": platform.python_version(), "executable": sys.executable, "cpus": os.cpu_count(),
        "platform": platform.platform()}
try:
    import torch
    info["torch"] = torch.__version__
    info["torch_cuda"] = torch.version.cuda
    info["cuda"] = bool(torch.cuda.is_available())
    if info["cuda"]:
        info["gpus"] = torch.cuda.device_count()
        info["gpu"] = torch.cuda.get_device_name(0)
        info["capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
except Exception as error:
    info["torch_error"] = f"{type(error).__name__}: {error}"
    info["cuda"] = False
from importlib import metadata
info["packages"] = {}
for name in ("numpy", "torchvision", "pytest", "pytest-timeout", "nbformat", "jsonschema", "tqdm", "nbgrader",
             "nbclient", "ipykernel", "jupyter_client", "dask", "distributed"):
    try:
        info["packages"][name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        info["packages"][name] = None
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nnkit.sandbox import BWRAP, bwrap_available
        info["bwrap"] = BWRAP if bwrap_available() else None
except Exception as error:
    info["bwrap_error"] = f"{type(error).__name__}: {error}"
info["mnist_root"] = os.environ.get("MNIST_ROOT")
print(json.dumps(info))
"""


def check_machine(env: dict) -> dict:
    try:
        done = subprocess.run([sys.executable, "-c", MACHINE_SCRIPT], capture_output=True, text=True,
                              timeout=MACHINE_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"cuda": False, "error": f"the machine check took over {MACHINE_TIMEOUT} s"}
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"cuda": False, "error": f"the machine check failed (exit {done.returncode}): {done.stderr[-1500:]}"}


def describe_machine(info: dict) -> str:
    parts = [f"Python {info.get('python', '?')}"]
    if info.get("torch"):
        parts.append(f"torch {info['torch']}" + (f" (CUDA {info['torch_cuda']})" if info.get("torch_cuda") else ""))
    if info.get("cuda"):
        parts.append(f"{info.get('gpu')} ({info.get('gpus')} GPU, compute capability {info.get('capability')})")
    parts.append(f"{info.get('cpus')} cores")
    parts.append("bubblewrap: " + ("usable" if info.get("bwrap") else "not usable (resource limits only)"))
    packages = info.get("packages") or {}
    parts.append("nbgrader " + (packages.get("nbgrader") or "not installed"))
    return ", ".join(parts)
